// Internal to the cuBLASLt wrapper (cublaslt_gemm.cc at run time, cublaslt_tuning.cc at build time): how a
// GemmShape becomes cuBLASLt descriptors and heuristic queries, written once so that the algorithm timed at
// build time was chosen for exactly the descriptors the kernel later runs it with.
#pragma once
#include <cublasLt.h>

#include <vector>

#include "backend/cuda/kernels/cublaslt_gemm.h"

namespace inferrt::cublaslt {

static_assert(sizeof(cublasLtMatmulAlgo_t) == sizeof(GemmAlgoWords), "cublasLtMatmulAlgo_t is 8 uint64 words");

// CUDA_ERROR (OUT_OF_MEMORY for allocation failures) naming the call and cuBLAS's status; never aborts.
void checkCublas(cublasStatus_t status, const char* call);
#define INFERRT_CUBLAS_CHECK(call) ::inferrt::cublaslt::checkCublas((call), #call)

// The operation and layout descriptors of one GEMM, owned.
class GemmDescriptors {
 public:
  explicit GemmDescriptors(const GemmShape& shape);
  ~GemmDescriptors();
  GemmDescriptors(const GemmDescriptors&) = delete;
  GemmDescriptors& operator=(const GemmDescriptors&) = delete;

  // The bias pointer lives in the operation descriptor: set per launch (not thread-safe on one descriptor).
  void setBias(const void* bias);

  cublasLtMatmulDesc_t desc = nullptr;
  // cuBLASLt's operands (column-major): layoutA describes our B, layoutB our A; see the constructor.
  cublasLtMatrixLayout_t layoutA = nullptr, layoutB = nullptr, layoutD = nullptr;
  bool hasBias = false;
  bool integer = false;  // an int8 GEMM: int32 alpha / beta

 private:
  void release() noexcept;
};

// Up to `count` algorithms cuBLASLt's heuristic offers for `shape` (described by `d`), in its order (best
// estimate first), each with workspace <= kGemmMaxWorkspace; empty when it has none.
std::vector<cublasLtMatmulHeuristicResult_t> gemmHeuristic(cublasLtHandle_t handle, const GemmDescriptors& d,
                                                           const GemmShape& shape, int count);

// Whether `algo` can run the GEMM of `d` on this device (cublasLtMatmulAlgoCheck), with its workspace.
bool gemmAlgoCheck(cublasLtHandle_t handle, const GemmDescriptors& d, const cublasLtMatmulAlgo_t& algo,
                   size_t* workspace);

// One cublasLtMatmul per pointer set, beta = 0 (C is not read; it is given as D so the layouts agree). alpha must
// be 1 for int8 GEMMs.
void enqueueGemm(cublasLtHandle_t handle, GemmDescriptors& d, const cublasLtMatmulAlgo_t& algo,
                 const std::vector<GemmPointers>& calls, void* workspace, size_t workspaceBytes, cudaStream_t stream,
                 float alpha);

GemmAlgoWords algoWords(const cublasLtMatmulAlgo_t& algo);
cublasLtMatmulAlgo_t algoFromWords(const GemmAlgoWords& words);

}  // namespace inferrt::cublaslt
