// Turns a failed CUDA runtime call into an inferrt::Error: CUDA_ERROR naming the call and the runtime's reason,
// or OUT_OF_MEMORY for an allocation the device (or pinned host memory) cannot satisfy. Never aborts: in an
// addon a CUDA failure must reach JS as a typed error, not kill the user's process.
#pragma once
#include <cuda_runtime_api.h>

#include <string>

namespace inferrt {

// Throws when `status` is not cudaSuccess: "<call> failed: <cudaGetErrorString>", e.g.
// "cudaMalloc of 1125899906842624 bytes on device 0 failed: out of memory" (OUT_OF_MEMORY).
void checkCuda(cudaError_t status, const std::string& call);

// For destructors, which must not throw: drops a failure (clearing the runtime's last-error state so it does
// not surface at an unrelated later call).
void ignoreCudaError(cudaError_t status);

}  // namespace inferrt

// Checks a runtime call, naming it by its source text: INFERRT_CUDA_CHECK(cudaStreamSynchronize(s)).
#define INFERRT_CUDA_CHECK(call) ::inferrt::checkCuda((call), #call)
