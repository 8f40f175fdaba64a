#include "backend/cuda/cuda_check.h"

#include "ir/error.h"

namespace inferrt {

void checkCuda(cudaError_t status, const std::string& call) {
  if (status == cudaSuccess) return;
  // A non-sticky failure is also recorded as the runtime's last error; clear it so the next check starts clean.
  cudaGetLastError();
  const ErrorCode code = status == cudaErrorMemoryAllocation ? ErrorCode::OutOfMemory : ErrorCode::CudaError;
  fail(code, call, " failed: ", cudaGetErrorString(status));
}

void ignoreCudaError(cudaError_t status) {
  if (status != cudaSuccess) cudaGetLastError();
}

}  // namespace inferrt
