// Makes a device current for one scope and restores the previous one after, so a call on device 1 does not
// leave the calling thread (the JS main thread, usually) switched away from the device its other work uses.
#pragma once

namespace inferrt {

class ScopedDevice {
 public:
  explicit ScopedDevice(int device);  // CUDA_ERROR for an invalid ordinal
  ~ScopedDevice();
  ScopedDevice(const ScopedDevice&) = delete;
  ScopedDevice& operator=(const ScopedDevice&) = delete;

 private:
  int previous_ = -1;  // -1: nothing to restore
};

}  // namespace inferrt
