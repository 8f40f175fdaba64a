// cuDNN status -> inferrt error, shared by the legacy-API convolutions (cudnn_convolution.cc) and the graph-API INT8
// ones (cudnn_int8_convolution.cc). Only built with cuDNN.
#pragma once
#ifdef INFERRT_WITH_CUDNN
#include <cudnn.h>

#include <string>

namespace inferrt::cudnnconv {

// Throws CUDA_ERROR (OUT_OF_MEMORY for allocation failures) naming `call` and cuDNN's reason; returns on success.
void checkCudnn(cudnnStatus_t status, const std::string& call);

}  // namespace inferrt::cudnnconv

#define INFERRT_CUDNN_CHECK(call) ::inferrt::cudnnconv::checkCudnn((call), #call)

#endif
