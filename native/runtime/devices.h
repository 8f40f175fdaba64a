// Which backends this build of the addon can run here: the CPU always; CUDA when it was compiled in
// (INFERRT_WITH_CUDA) and the driver shows at least one device.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace inferrt {

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  int major = 0;  // compute capability
  int minor = 0;
  uint64_t totalMemory = 0;  // bytes
  int multiProcessors = 0;
};

bool cudaCompiled();
// Devices the CUDA runtime sees (queried once, then cached); empty without CUDA or a driver.
const std::vector<CudaDeviceInfo>& cudaDevices();
// The visible device with this CUDA index, or null.
const CudaDeviceInfo* findCudaDevice(int index);
// Why no device is visible ("" when one is, or when CUDA is not compiled in).
std::string cudaUnavailableReason();
// "sm_90" for compute capability 9.0.
std::string cudaArch(const CudaDeviceInfo& device);
// "cpu", plus "cuda" when compiled in and a device is visible.
std::vector<std::string> availableBackends();

}  // namespace inferrt
