#include "backend/cuda/cuda_event.h"

#include <string>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_stream.h"
#include "backend/cuda/scoped_device.h"
#include "ir/error.h"

namespace inferrt {

CudaEvent::CudaEvent(int device) : device_(device) {
  ScopedDevice on(device);
  checkCuda(cudaEventCreateWithFlags(&event_, cudaEventDefault), "cudaEventCreate on device " + std::to_string(device));
}

CudaEvent::~CudaEvent() {
  if (event_) ignoreCudaError(cudaEventDestroy(event_));
}

void CudaEvent::record(const CudaStream& stream) {
  if (stream.device() != device_)
    fail(ErrorCode::InvalidArgument, "record: the event is on device ", device_, " but the stream on device ", stream.device());
  ScopedDevice on(device_);
  INFERRT_CUDA_CHECK(cudaEventRecord(event_, stream.handle()));
}

bool CudaEvent::done() const {
  const cudaError_t status = cudaEventQuery(event_);
  if (status == cudaErrorNotReady) {
    cudaGetLastError();  // "not ready" is an answer, not a failure
    return false;
  }
  INFERRT_CUDA_CHECK(status);
  return true;
}

float CudaEvent::elapsedMs(const CudaEvent& start, const CudaEvent& end) {
  if (start.device_ != end.device_)
    fail(ErrorCode::InvalidArgument, "elapsedMs: the events are on devices ", start.device_, " and ", end.device_, "; they must share one");
  float ms = 0;
  const cudaError_t status = cudaEventElapsedTime(&ms, start.event_, end.event_);
  if (status == cudaErrorNotReady) {
    cudaGetLastError();
    fail(ErrorCode::CudaError, "elapsedMs: an event has not completed yet; await event.synchronize() on both first");
  }
  checkCuda(status, "cudaEventElapsedTime");
  return ms;
}

}  // namespace inferrt
