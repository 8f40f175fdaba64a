#include "runtime/devices.h"

#include <mutex>

#ifdef INFERRT_WITH_CUDA
#include "backend/cuda/device_query.h"
#endif

namespace inferrt {

namespace {

struct DeviceScan {
  std::vector<CudaDeviceInfo> devices;
  std::string reason;
};

const DeviceScan& scan() {
  static DeviceScan result;
  static std::once_flag once;
  std::call_once(once, [] {
#ifdef INFERRT_WITH_CUDA
    result.devices = queryCudaDevices(&result.reason);
#endif
  });
  return result;
}

}  // namespace

bool cudaCompiled() {
#ifdef INFERRT_WITH_CUDA
  return true;
#else
  return false;
#endif
}

const std::vector<CudaDeviceInfo>& cudaDevices() { return scan().devices; }

const CudaDeviceInfo* findCudaDevice(int index) {
  for (const CudaDeviceInfo& d : cudaDevices())
    if (d.index == index) return &d;
  return nullptr;
}

std::string cudaUnavailableReason() {
  if (!cudaCompiled()) return "";
  return scan().devices.empty() ? scan().reason : "";
}

std::string cudaArch(const CudaDeviceInfo& device) {
  return "sm_" + std::to_string(device.major) + std::to_string(device.minor);
}

std::vector<std::string> availableBackends() {
  std::vector<std::string> backends{"cpu"};
  if (!cudaDevices().empty()) backends.push_back("cuda");
  return backends;
}

}  // namespace inferrt
