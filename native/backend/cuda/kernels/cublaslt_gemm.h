// The one place that runs GEMMs on cuBLASLt: a row-major GEMM description (gemm_shape.h: float, or int8 with int32
// output) in, a plan (descriptors and an algorithm: the plan's tactic when it applies, else the heuristic's choice)
// out, then enqueue. No cuBLASLt types here, so matmul.cc compiles without its headers.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/cuda/kernels/gemm_shape.h"
#include "plan/tactics.h"

namespace inferrt::cublaslt {

struct GemmPointers {
  const void* a = nullptr;
  const void* b = nullptr;
  void* d = nullptr;
  const void* bias = nullptr;  // required when the epilogue has a bias
};

// An algorithm to use instead of the heuristic's: a plan's tactic, with the cuBLASLt version that chose it.
struct GemmTactic {
  GemmAlgoWords algo{};
  uint64_t cublasLtVersion = 0;
};

class GemmPlan;

// Descriptors and algorithm for `shape` on `device`. The algorithm is `tactic`'s when it is given, comes from
// the loaded cuBLASLt version and passes cublasLtMatmulAlgoCheck; otherwise the heuristic's first choice (a
// failed check is remembered, not repeated). Algorithm choices are cached process-wide per (device, GEMM key,
// tactic), so a plan for a GEMM seen before costs only its descriptors; the cache is locked only here, never
// per launch. The plan belongs to the caller and is used by one thread at a time (runGemm writes the bias
// pointer into its descriptor): the executor keeps one per layer and input-shape signature of a context.
// Null when cuBLASLt has no algorithm for the shape, so the caller can try a plainer epilogue; CUDA_ERROR naming
// the call when cuBLASLt fails outright.
std::shared_ptr<GemmPlan> planGemm(const GemmShape& shape, void* blasLtHandle, int device,
                                   const GemmTactic* tactic = nullptr);

// Bytes of workspace the plan's algorithm needs (at most kGemmMaxWorkspace).
size_t gemmWorkspaceSize(const GemmPlan& plan);
// Whether the plan runs the tactic it was given (false: the heuristic's choice, also after a failed check).
bool gemmUsesTactic(const GemmPlan& plan);

// Enqueues one cublasLtMatmul per pointer set on `stream` (one per batch combo when operands broadcast in a way
// a single strided batch cannot express; usually one), computing D = epilogue(alpha * op(A) * op(B)). alpha is
// a host scalar read when the call is enqueued (so a captured CUDA graph keeps its value); it is not part of the
// plan (the algorithm choice does not depend on it). Takes no lock: `plan` must not be in use on another thread.
void runGemm(GemmPlan& plan, void* blasLtHandle, const std::vector<GemmPointers>& calls, void* workspace,
             cudaStream_t stream, float alpha = 1.0f);

constexpr size_t kGemmMaxWorkspace = size_t(32) << 20;  // cuBLAS's recommendation for Hopper

}  // namespace inferrt::cublaslt
