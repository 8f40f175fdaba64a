// An owned block of device memory (cudaMalloc / cudaFree). Drop the last reference only once no GPU work uses
// the block (the addon drops it from the completion of the last copy, not from dispose()). cudaFree waits for
// the whole device, so the destructor hands the block to the release thread (deferred_release.h) and returns.
#pragma once
#include <cstddef>

namespace inferrt {

class DeviceMemory {
 public:
  // OUT_OF_MEMORY ("cudaMalloc of N bytes on device D failed: out of memory") when the device cannot hold it,
  // even after waiting for the frees still queued on the release thread. Zero bytes allocates nothing.
  DeviceMemory(size_t bytes, int device);
  ~DeviceMemory();
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;

  void* data() const { return data_; }
  size_t size() const { return size_; }
  int device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t size_;
  int device_;
};

// Free and total bytes of a device as the driver reports them (cudaMemGetInfo).
struct DeviceMemoryInfo {
  size_t free = 0;
  size_t total = 0;
};
DeviceMemoryInfo deviceMemoryInfo(int device);

}  // namespace inferrt
