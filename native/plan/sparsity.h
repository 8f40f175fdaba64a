// What a sparseWeights build found and chose per layer, recorded in the plan (the optional 'SPRS' section,
// sections.h): which layers' constant weights follow the 2:4 pattern along the reduction dimension, and for
// those the CUDA builder made sparse, the cuSPARSELt algorithm and the compressed weights. Plain data: the plan
// code compiles without CUDA headers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace inferrt {

struct LayerSparsity {
  uint32_t layer = 0;     // index in the built network's layers
  bool eligible = false;  // its weights are 2:4 along the reduction dimension
  // It runs the sparse kernel (CUDA plans only; implies eligible) at the GEMM it was timed for (`gemmKey`); other
  // shapes run dense, since the build measured sparse faster only there.
  bool sparse = false;
  bool anyShape = false;  // 'force' builds: the sparse kernel at every shape it tiles (implies sparse)
  // Why the layer stays dense: not 2:4 (and how far from it), no sparse kernel for it, or slower than dense.
  std::string note;
  double denseMs = 0, sparseMs = 0;  // timed at the first profile's opt shapes (0: not timed)
  // Sparse layers only: the GEMM the algorithm was chosen for (cuSPARSELt's view of the layer), the library
  // version that compressed the weights, the algorithm settings and the compressed weights themselves.
  std::string gemmKey;
  uint64_t cusparseLtVersion = 0;
  int32_t algConfigId = 0, splitK = 1, splitKMode = 0, splitKBuffers = 1;
  std::vector<uint8_t> compressed;
};

}  // namespace inferrt
