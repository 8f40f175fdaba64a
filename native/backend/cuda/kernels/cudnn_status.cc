#include "backend/cuda/kernels/cudnn_status.h"

#ifdef INFERRT_WITH_CUDNN
#include "ir/error.h"

namespace inferrt::cudnnconv {

void checkCudnn(cudnnStatus_t status, const std::string& call) {
  if (status == CUDNN_STATUS_SUCCESS) return;
#if CUDNN_MAJOR >= 9
  const bool oom = status == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED ||
                   status == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED;
  char detail[512] = "";
  cudnnGetLastErrorString(detail, sizeof(detail));
  const std::string more = detail[0] ? std::string(" (") + detail + ")" : std::string();
#else
  const bool oom = status == CUDNN_STATUS_ALLOC_FAILED;
  const std::string more;
#endif
  fail(oom ? ErrorCode::OutOfMemory : ErrorCode::CudaError, call, " failed: ", cudnnGetErrorString(status), more);
}

}  // namespace inferrt::cudnnconv

#endif
