#include "backend/cuda/executor/library_handles.h"

#include <cublasLt.h>
#ifdef INFERRT_WITH_CUDNN
#include <cudnn.h>
#endif

#include "backend/cuda/kernels/cudnn_int8_convolution.h"
#include "backend/cuda/scoped_device.h"
#include "ir/error.h"

namespace inferrt {

LibraryHandles::LibraryHandles(int device, cudaStream_t stream, bool withSparseLt) {
  ScopedDevice on(device);
  cublasLtHandle_t lt = nullptr;
  const cublasStatus_t ltStatus = cublasLtCreate(&lt);
  if (ltStatus != CUBLAS_STATUS_SUCCESS)
    fail(ltStatus == CUBLAS_STATUS_ALLOC_FAILED ? ErrorCode::OutOfMemory : ErrorCode::CudaError,
         "cublasLtCreate failed: ", cublasLtGetStatusString(ltStatus));
  blasLt_ = lt;
#ifdef INFERRT_WITH_CUDNN
  cudnnHandle_t dnn = nullptr;
  cudnnStatus_t dnnStatus = cudnnCreate(&dnn);
  if (dnnStatus == CUDNN_STATUS_SUCCESS) {
    dnnStatus = cudnnSetStream(dnn, stream);
    if (dnnStatus != CUDNN_STATUS_SUCCESS) cudnnDestroy(dnn);
  }
  if (dnnStatus != CUDNN_STATUS_SUCCESS) {
    cublasLtDestroy(lt);
    fail(ErrorCode::CudaError, "cudnnCreate/cudnnSetStream failed: ", cudnnGetErrorString(dnnStatus));
  }
  cudnn_ = dnn;
#else
  (void)stream;
#endif
  if (withSparseLt) {
    try {
      sparseLt_ = std::make_unique<sparselt::Handle>(device);
    } catch (...) {
      cublasLtDestroy(lt);
#ifdef INFERRT_WITH_CUDNN
      cudnnDestroy(static_cast<cudnnHandle_t>(cudnn_));
#endif
      throw;
    }
  }
}

LibraryHandles::~LibraryHandles() {
  if (blasLt_) cublasLtDestroy(static_cast<cublasLtHandle_t>(blasLt_));
#ifdef INFERRT_WITH_CUDNN
  if (cudnn_) {
    cudnnint8::forgetHandle(cudnn_);  // its INT8 plans go: a later handle may get its address
    cudnnDestroy(static_cast<cudnnHandle_t>(cudnn_));
  }
#endif
}

}  // namespace inferrt
