// An owned CUDA stream on one device, non-blocking with respect to the legacy default stream (so work here
// never serializes behind someone's stream-0 call). Destroying it with work still queued is fine: the runtime
// releases the stream once that work has finished.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <functional>

namespace inferrt {

class CudaEvent;

class CudaStream {
 public:
  explicit CudaStream(int device);
  ~CudaStream();
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;

  int device() const { return device_; }
  cudaStream_t handle() const { return stream_; }

  // Later work on this stream waits until `event` (as last recorded, possibly on another device) completes.
  void waitEvent(const CudaEvent& event);
  // Enqueues a copy between any two addresses the runtime knows (device, pinned host; unified addressing picks
  // the direction). Truly asynchronous only when host memory is pinned.
  void copyAsync(void* dst, const void* src, size_t bytes);
  // Calls `fn` on a runtime thread once everything enqueued so far has finished (cudaLaunchHostFunc). `fn` must
  // not call CUDA or block on other GPU work. If the CUDA context hits a device error, `fn` is never called
  // (and what it owns is leaked): after such an error the context is unusable anyway.
  void launchHostFunc(std::function<void()> fn);
  // Blocks the calling thread until the stream is idle, ignoring errors. Only for failure paths, where memory
  // a copy may still be using is about to be released.
  void blockUntilIdle() noexcept;

 private:
  int device_;
  cudaStream_t stream_ = nullptr;
};

}  // namespace inferrt
