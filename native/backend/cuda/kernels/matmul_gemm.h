// How a float MatMul layer becomes cuBLASLt GEMM calls for concrete operand dims: the one derivation shared by
// the CUDA MatMul kernel (matmul.cc, at run time) and the tactic tuner (tactics/, at build time), so a tactic
// timed for a layer's GEMM is found again by its key when the layer runs. No CUDA headers.
//
// Batches run as one GEMM where possible: weights shared by every batch fold the batch into M; operands whose
// batch dims are either full or all broadcast become one strided-batched GEMM; anything else (partial
// broadcasts, rare) issues one GEMM per output batch index.
#pragma once
#include <cstdint>
#include <vector>

#include "backend/cuda/kernels/gemm_shape.h"
#include "ir/network.h"

namespace inferrt::cudakernels {

// One operand seen as a stack of stored row-major matrices; rows/cols are the logical ones (after transA /
// transB): A is M x K, B is K x N. A 1-D A is [1, K], a 1-D B is [K, 1]; transposition is a no-op on them.
struct MatMulOperand {
  Dims batch;
  int64_t rows = 1, cols = 1;
  int64_t ld = 1;  // stored row length
  bool trans = false;
  int64_t size = 1;  // elements per stored matrix
};

MatMulOperand viewMatMulOperand(const Dims& dims, bool transpose, bool isA);
// Per output batch dim, the operand's stride in elements (0 where it broadcasts).
std::vector<int64_t> matMulBatchStrides(const MatMulOperand& v, const Dims& outBatch);

// Alignment in bytes (power of two <= 256) of the base addresses of A, B, the output and the bias: at run time
// those of the actual pointers, at build time 256 (device allocations and arena offsets are 256-aligned).
struct GemmBaseAlignment {
  uint32_t a = 256, b = 256, out = 256, bias = 256;
};

struct MatMulGemm {
  // The GEMM with cuBLASLt's epilogue where it can do the layer's (bias, relu, tanh GELU); alignments included.
  cublaslt::GemmShape shape;
  // Element offsets into A and B per GEMM call (usually one call, {0}); call z writes D + z * m * n.
  std::vector<int64_t> aOffsets{0}, bOffsets{0};
  // GELU: cuBLASLt's GELU epilogue is the tanh approximation (off by up to 5e-4, 5% of the output near x = -2.7),
  // so the GEMM stores alpha·AB + bias in the output's type and our epilogue kernel applies exact-erf GELU in
  // place. For fp16 that is GELU of the fp16-rounded pre-activation, as an unfused fp16 MatMul -> Gelu computes
  // it; an fp32 intermediate instead would double the GEMM's output traffic (~5 ms of BERT-large at batch 64).
  bool gelu = false;
};

// The GEMM(s) of `layer` (transA, transB, activation attributes) for operand dims `a` and `b` (validated by the
// caller: matching inner dims, rank >= 1), fp16 or fp32 operands, an optional bias, TF32 allowed or not.
MatMulGemm deriveMatMulGemm(const Layer& layer, const Dims& a, const Dims& b, bool hasBias, bool half, bool allowTf32,
                            const GemmBaseAlignment& align);

// The GEMMs cuBLASLt is asked for, in this order: `g.shape`, then, when it has a fused epilogue, the same GEMM
// without it (bias / relu / tanh GELU then done by our epilogue kernel) for shapes cuBLASLt has no fused algorithm
// for. The kernel runs the first one cuBLASLt has an algorithm for; the tuner times that same one.
std::vector<cublaslt::GemmShape> gemmShapesToTry(const MatMulGemm& g);

// Whether our epilogue kernel must run after the GEMM `used` (one of gemmShapesToTry(g)): for exact GELU, or when
// cuBLASLt could not take the layer's bias / relu / tanh GELU.
inline bool needsOwnEpilogue(const MatMulGemm& g, const cublaslt::GemmShape& used) {
  return g.gelu || used.epilogue != g.shape.epilogue;
}
// Whether that kernel must also add the bias: cuBLASLt had no algorithm with the fused bias.
inline bool epilogueAddsBias(const MatMulGemm& g, const cublaslt::GemmShape& used) {
  return used.epilogue != g.shape.epilogue && g.shape.hasBias();
}

}  // namespace inferrt::cudakernels
