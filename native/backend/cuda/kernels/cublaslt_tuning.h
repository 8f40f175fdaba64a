// Build-time timing of cuBLASLt algorithms for the tactic tuner (native/backend/cuda/tactics/): the heuristic's
// candidates for a GEMM, each run and timed with CUDA events on operands the caller allocated, and readable
// descriptions of algorithms. The descriptors are the run-time ones (cublaslt_descriptors.h). No cuBLASLt types.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/cuda/kernels/cublaslt_gemm.h"

namespace inferrt {
class CudaStream;
}

namespace inferrt::cublaslt {

// cublasLtGetVersion() of the loaded library: tactics and timing cache entries are valid for this version only.
uint64_t loadedCublasLtVersion();

struct TimedAlgo {
  GemmAlgoWords algo{};
  double ms = -1;  // median of the timed runs; < 0 when cuBLASLt refused to run it
};

// A cuBLASLt handle, a stream and timing events on one device (the caller makes it current).
class GemmTimer {
 public:
  explicit GemmTimer(int device);  // CUDA_ERROR / OUT_OF_MEMORY naming the failing call
  ~GemmTimer();
  GemmTimer(const GemmTimer&) = delete;
  GemmTimer& operator=(const GemmTimer&) = delete;

  // The heuristic's first choice for `shape`, i.e. what runs without a tactic; false when it has none.
  bool firstChoice(const GemmShape& shape, GemmAlgoWords* algo);
  // Whether `algo` can run `shape` on this device (cublasLtMatmulAlgoCheck), as run time will check it.
  bool check(const GemmShape& shape, const GemmAlgoWords& algo);
  // Up to `count` algorithms the heuristic offers for `shape` (its first choice first), each run `warmup` times
  // and then timed `runs` times, one event pair per run, on `calls` with `workspace` (kGemmMaxWorkspace bytes).
  // Synchronizes before it returns, so the operands may be freed after.
  std::vector<TimedAlgo> timeCandidates(const GemmShape& shape, const std::vector<GemmPointers>& calls,
                                        void* workspace, int count, int warmup, int runs);

 private:
  void* handle_ = nullptr;  // cublasLtHandle_t
  std::unique_ptr<CudaStream> stream_;
  std::vector<cudaEvent_t> events_;
};

// "algo 21, tile 128x256, stages 64x3, split-K 1, reduction 0, swizzle 1, custom 0" (what
// cublasLtMatmulAlgoConfigGetAttribute reports; unknown tile or stage ids as numbers).
std::string describeAlgo(const GemmAlgoWords& algo);

}  // namespace inferrt::cublaslt
