// The one place that talks to cuBLASLt: a row-major float GEMM description in, a cached plan (descriptors and
// the heuristic's algorithm) out, then enqueue. No cuBLASLt types here, so matmul.cc compiles without its headers.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace inferrt::cublaslt {

enum class GemmEpilogue : int32_t { None = 0, Bias = 1, Relu = 2, ReluBias = 3 };

// Row-major D[b] (M x N, leading dim ldd) = op(A[b]) (M x K) * op(B[b]) (K x N), b < batch, where A is stored
// [M, K] (lda = K-ish) or, with transA, [K, M]; likewise B [K, N] or, with transB, [N, K]. Strides are in
// elements between consecutive batch matrices; 0 broadcasts one matrix to every batch.
struct GemmShape {
  bool half = false;        // A, B (and bias) fp16, else fp32
  bool outFloat32 = false;  // D fp32 even when A/B are fp16 (our own epilogue kernel rounds it later)
  bool allowTf32 = true;    // fp32 only: CUBLAS_COMPUTE_32F_FAST_TF32
  bool transA = false, transB = false;
  int64_t m = 0, n = 0, k = 0;  // all > 0
  int64_t lda = 0, ldb = 0, ldd = 0;
  int64_t batch = 1;
  int64_t strideA = 0, strideB = 0, strideD = 0;
  GemmEpilogue epilogue = GemmEpilogue::None;  // bias: [N] of A's type, added along each output row
  // Alignment in bytes (power of two, <= 256) of every pointer and batch stride passed for A, B, D and the bias:
  // the heuristic must not pick a kernel that needs more.
  uint32_t alignA = 256, alignB = 256, alignD = 256, alignBias = 256;
};

struct GemmPointers {
  const void* a = nullptr;
  const void* b = nullptr;
  void* d = nullptr;
  const void* bias = nullptr;  // required when the epilogue has a bias
};

class GemmPlan;

// Descriptors and algorithm for `shape` on `device`, cached (mutex-protected) so repeated runs skip the setup.
// Null when cuBLASLt's heuristic has no algorithm for it (also cached), so the caller can try a plainer
// epilogue; CUDA_ERROR naming the call when cuBLASLt fails outright.
std::shared_ptr<GemmPlan> planGemm(const GemmShape& shape, void* blasLtHandle, int device);

// Bytes of workspace the plan's algorithm needs (at most kGemmMaxWorkspace).
size_t gemmWorkspaceSize(const GemmPlan& plan);

// Enqueues one cublasLtMatmul per pointer set on `stream` (one per batch combo when operands broadcast in a way
// a single strided batch cannot express; usually one), computing D = epilogue(alpha * op(A) * op(B)). alpha is
// a host scalar read when the call is enqueued (so a captured CUDA graph keeps its value); it is not part of the
// plan (the heuristic's choice does not depend on it), so plans are shared across alphas.
void runGemm(GemmPlan& plan, void* blasLtHandle, const std::vector<GemmPointers>& calls, void* workspace,
             cudaStream_t stream, float alpha = 1.0f);

constexpr size_t kGemmMaxWorkspace = size_t(32) << 20;  // cuBLAS's recommendation for Hopper

// Largest power of two (<= 256) dividing `bytes` (an address or a stride in bytes; 0 counts as 256).
inline uint32_t alignmentOf(uint64_t bytes) {
  uint32_t a = 256;
  while (a > 1 && bytes % a != 0) a >>= 1;
  return a;
}

}  // namespace inferrt::cublaslt
