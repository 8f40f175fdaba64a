#include "backend/cuda/scoped_device.h"

#include <cuda_runtime_api.h>

#include <string>

#include "backend/cuda/cuda_check.h"

namespace inferrt {

ScopedDevice::ScopedDevice(int device) {
  int current = 0;
  checkCuda(cudaGetDevice(&current), "cudaGetDevice");
  if (current == device) return;
  checkCuda(cudaSetDevice(device), "cudaSetDevice(" + std::to_string(device) + ")");
  previous_ = current;
}

ScopedDevice::~ScopedDevice() {
  if (previous_ >= 0) ignoreCudaError(cudaSetDevice(previous_));
}

}  // namespace inferrt
