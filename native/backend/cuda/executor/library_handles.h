// The cuBLASLt, cuDNN and (for engines with sparse-weight layers) cuSPARSELt handles of one context, created on
// its device and (for cuDNN) bound to its stream. Handles are per context so that contexts on different threads
// never share one.
#pragma once
#include <cuda_runtime_api.h>

#include <memory>

#include "backend/cuda/sparse/sparse_gemm.h"

namespace inferrt {

class LibraryHandles {
 public:
  // CUDA_ERROR naming the library call that failed.
  LibraryHandles(int device, cudaStream_t stream, bool withSparseLt);
  ~LibraryHandles();
  LibraryHandles(const LibraryHandles&) = delete;
  LibraryHandles& operator=(const LibraryHandles&) = delete;

  void* blasLt() const { return blasLt_; }  // cublasLtHandle_t
  void* cudnn() const { return cudnn_; }    // cudnnHandle_t, null when built without cuDNN
  const sparselt::Handle* sparseLt() const { return sparseLt_.get(); }  // null unless asked for

 private:
  void* blasLt_ = nullptr;
  void* cudnn_ = nullptr;
  std::unique_ptr<sparselt::Handle> sparseLt_;
};

}  // namespace inferrt
