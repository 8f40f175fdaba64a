// Tactics the builder chose and recorded in the plan (the optional 'TCTC' section, sections.h): today the
// cuBLASLt algorithm of a MatMul layer's GEMM, timed at the first profile's opt shapes (TensorRT's tactic
// selection). Plain data: the algorithm is opaque words, so the plan code compiles without CUDA headers.
#pragma once
#include <array>
#include <cstdint>
#include <string>

namespace inferrt {

// A cublasLtMatmulAlgo_t as its 8 uint64 words (cuBLASLt documents the struct as serializable for reuse with
// the same library version).
using GemmAlgoWords = std::array<uint64_t, 8>;

struct LayerTactic {
  uint32_t layer = 0;            // index in the built network's layers
  std::string gemmKey;           // the GEMM it was timed for (cublaslt::gemmKey); a run with another GEMM ignores it
  GemmAlgoWords algo{};          // the chosen algorithm
  uint64_t cublasLtVersion = 0;  // cublasLtGetVersion() where it was chosen; another library version ignores it
  double timeMs = 0;             // its median time at the opt shapes (from the timing cache when it came from there)
  std::string description;       // "algo 21, tile 128x256, stages 64x3, ..." for the build log and inspect
};

}  // namespace inferrt
