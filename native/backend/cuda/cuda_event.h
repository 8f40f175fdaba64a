// An owned CUDA event on one device, created with timing enabled so elapsedMs() works between any two.
#pragma once
#include <cuda_runtime_api.h>

namespace inferrt {

class CudaStream;

class CudaEvent {
 public:
  explicit CudaEvent(int device);
  ~CudaEvent();
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;

  int device() const { return device_; }
  cudaEvent_t handle() const { return event_; }

  // Captures the work enqueued on `stream` so far; the stream must be on this event's device (INVALID_ARGUMENT).
  void record(const CudaStream& stream);
  // Whether the work captured by the last record() has finished (true if never recorded).
  bool done() const;
  // Milliseconds between two completed events on one device (CUDA_ERROR naming which condition failed).
  static float elapsedMs(const CudaEvent& start, const CudaEvent& end);

 private:
  int device_;
  cudaEvent_t event_ = nullptr;
};

}  // namespace inferrt
