// The cuBLASLt and cuDNN handles of one context, created on its device and (for cuDNN) bound to its stream.
// Handles are per context so that contexts on different threads never share one.
#pragma once
#include <cuda_runtime_api.h>

namespace inferrt {

class LibraryHandles {
 public:
  LibraryHandles(int device, cudaStream_t stream);  // CUDA_ERROR naming the library call that failed
  ~LibraryHandles();
  LibraryHandles(const LibraryHandles&) = delete;
  LibraryHandles& operator=(const LibraryHandles&) = delete;

  void* blasLt() const { return blasLt_; }  // cublasLtHandle_t
  void* cudnn() const { return cudnn_; }    // cudnnHandle_t, null when built without cuDNN

 private:
  void* blasLt_ = nullptr;
  void* cudnn_ = nullptr;
};

}  // namespace inferrt
