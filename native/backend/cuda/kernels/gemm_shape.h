// What one cuBLASLt GEMM call is, as plain data (no CUDA or cuBLASLt headers): the MatMul kernel and the
// build-time tuner derive it (matmul_gemm.h), cublaslt_gemm.cc plans and runs it, and its canonical key names
// it in plans and the timing cache.
#pragma once
#include <cstdint>
#include <string>

namespace inferrt::cublaslt {

// Gelu / GeluBias: cuBLASLt's GELU, the tanh approximation (a layer's "gelu_tanh"; exact GELU is never given to it).
enum class GemmEpilogue : int32_t { None = 0, Bias = 1, Relu = 2, ReluBias = 3, Gelu = 4, GeluBias = 5 };

// Row-major D[b] (M x N, leading dim ldd) = op(A[b]) (M x K) * op(B[b]) (K x N), b < batch, where A is stored
// [M, K] (lda = K-ish) or, with transA, [K, M]; likewise B [K, N] or, with transB, [N, K]. Strides are in
// elements between consecutive batch matrices; 0 broadcasts one matrix to every batch.
struct GemmShape {
  bool half = false;        // A, B (and bias) fp16, else fp32
  bool allowTf32 = true;    // fp32 only: CUBLAS_COMPUTE_32F_FAST_TF32
  // A, B int8 and D int32, summed exactly in int32 (the INT8 layers' GEMMs; `half` and `allowTf32` are ignored).
  // cuBLASLt runs these only as "TN" (transB, not transA; the descriptors' operand swap makes that cuBLASLt's
  // TN), without epilogue, with k, n, lda, ldb, ldd multiples of 4 and 4-byte aligned pointers.
  bool int8 = false;
  bool transA = false, transB = false;
  int64_t m = 0, n = 0, k = 0;  // all > 0
  int64_t lda = 0, ldb = 0, ldd = 0;
  int64_t batch = 1;
  int64_t strideA = 0, strideB = 0, strideD = 0;
  GemmEpilogue epilogue = GemmEpilogue::None;  // bias: [N] of A's type, added along each output row
  // Alignment in bytes (power of two, <= 256) of every pointer and batch stride passed for A, B, D and the bias:
  // the heuristic must not pick a kernel that needs more.
  uint32_t alignA = 256, alignB = 256, alignD = 256, alignBias = 256;

  bool hasBias() const {
    return epilogue == GemmEpilogue::Bias || epilogue == GemmEpilogue::ReluBias || epilogue == GemmEpilogue::GeluBias;
  }
};

bool operator==(const GemmShape& a, const GemmShape& b);
inline bool operator!=(const GemmShape& a, const GemmShape& b) { return !(a == b); }

// The canonical key of a GEMM: every field the descriptors and the algorithm choice depend on, with the fields
// that do not matter for it normalized (TF32 for fp16, the bias alignment without a bias), e.g.
// "a=f16,d=f16,tf32=0,tA=0,tB=1,m=128,n=768,k=768,lda=768,ldb=768,ldd=768,batch=1,sA=0,sB=0,sD=0,epi=bias,al=256.256.256.256".
// No spaces. Tactics recorded for one key are used only for a GEMM with the same key.
std::string gemmKey(const GemmShape& shape);

// "fp16 GEMM M=128 N=768 K=768 batch=1 transB" for messages.
std::string describeGemm(const GemmShape& shape);

// Largest power of two (<= 256) dividing `bytes` (an address or a stride in bytes; 0 counts as 256).
inline uint32_t alignmentOf(uint64_t bytes) {
  uint32_t a = 256;
  while (a > 1 && bytes % a != 0) a >>= 1;
  return a;
}

}  // namespace inferrt::cublaslt
