#include "backend/cuda/cuda_stream.h"

#include <memory>
#include <string>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_event.h"
#include "backend/cuda/scoped_device.h"

namespace inferrt {

namespace {

void CUDART_CB runHostFunc(void* data) {
  std::unique_ptr<std::function<void()>> fn(static_cast<std::function<void()>*>(data));
  (*fn)();
}

}  // namespace

CudaStream::CudaStream(int device) : device_(device) {
  ScopedDevice on(device);
  checkCuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate on device " + std::to_string(device));
}

CudaStream::~CudaStream() {
  if (stream_) ignoreCudaError(cudaStreamDestroy(stream_));
}

void CudaStream::waitEvent(const CudaEvent& event) {
  ScopedDevice on(device_);
  INFERRT_CUDA_CHECK(cudaStreamWaitEvent(stream_, event.handle(), 0));
}

void CudaStream::copyAsync(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  ScopedDevice on(device_);
  checkCuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream_),
            "cudaMemcpyAsync of " + std::to_string(bytes) + " bytes on device " + std::to_string(device_));
}

void CudaStream::launchHostFunc(std::function<void()> fn) {
  auto owned = std::make_unique<std::function<void()>>(std::move(fn));
  ScopedDevice on(device_);
  INFERRT_CUDA_CHECK(cudaLaunchHostFunc(stream_, runHostFunc, owned.get()));
  owned.release();  // runHostFunc owns it now
}

void CudaStream::blockUntilIdle() noexcept { ignoreCudaError(cudaStreamSynchronize(stream_)); }

}  // namespace inferrt
