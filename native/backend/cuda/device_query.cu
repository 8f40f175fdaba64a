// Enumerates CUDA devices with the runtime API. A missing driver or no device is not an error for the
// addon: the CPU backend still works, and the reason is kept for backends() to explain.
#include <cuda_runtime_api.h>

#include "backend/cuda/device_query.h"

namespace inferrt {

std::vector<CudaDeviceInfo> queryCudaDevices(std::string* error) {
  std::vector<CudaDeviceInfo> devices;
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    *error = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorString(status);
    cudaGetLastError();  // reset the runtime error state so later calls start clean
    return devices;
  }
  if (count == 0) *error = "the CUDA runtime sees no device";
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop;
    status = cudaGetDeviceProperties(&prop, i);
    if (status != cudaSuccess) {
      *error = "cudaGetDeviceProperties(" + std::to_string(i) + ") failed: " + cudaGetErrorString(status);
      continue;
    }
    CudaDeviceInfo info;
    info.index = i;
    info.name = prop.name;
    info.major = prop.major;
    info.minor = prop.minor;
    info.totalMemory = static_cast<uint64_t>(prop.totalGlobalMem);
    info.multiProcessors = prop.multiProcessorCount;
    devices.push_back(info);
  }
  return devices;
}

}  // namespace inferrt
