#include "backend/cuda/device_memory.h"

#include <cuda_runtime_api.h>

#include <string>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/deferred_release.h"
#include "backend/cuda/scoped_device.h"

namespace inferrt {

DeviceMemory::DeviceMemory(size_t bytes, int device) : size_(bytes), device_(device) {
  ScopedDevice on(device);
  if (bytes == 0) return;
  cudaError_t status = cudaMalloc(&data_, bytes);
  // Blocks freed a moment ago may still wait on the release thread: let them go, then try once more.
  if (status == cudaErrorMemoryAllocation) {
    ignoreCudaError(status);
    if (drainReleases()) status = cudaMalloc(&data_, bytes);
  }
  checkCuda(status, "cudaMalloc of " + std::to_string(bytes) + " bytes on device " + std::to_string(device));
}

// cudaFree waits for the whole device to go idle; the release thread does that, not the caller.
DeviceMemory::~DeviceMemory() { deferRelease(ReleaseKind::Device, data_, device_); }

DeviceMemoryInfo deviceMemoryInfo(int device) {
  ScopedDevice on(device);
  DeviceMemoryInfo info;
  checkCuda(cudaMemGetInfo(&info.free, &info.total), "cudaMemGetInfo on device " + std::to_string(device));
  return info;
}

}  // namespace inferrt
