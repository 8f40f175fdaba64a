// The CUDA implementations of the BERT plugins (one file each), registered into the CUDA plugin table by
// register_cuda.cc. Each supports() declines, with a reason, what its kernel cannot run: the layer then runs on the
// plugin's CPU implementation. Each run() reads sizes off the DeviceTensors and attributes off the layer
// (the readers in plugins/bert/*.h, shared with the CPU implementations), checks them, and only enqueues work on env.stream.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "backend/cuda/kernels/cuda_kernel.h"

namespace inferrt::bert_cuda {

std::string supportsPackedEmbLayerNorm(const Layer& layer, const std::vector<TensorDesc>& inputs);
void runPackedEmbLayerNorm(CudaKernelArgs& args);

std::string supportsPackedAttention(const Layer& layer, const std::vector<TensorDesc>& inputs);
void runPackedAttention(CudaKernelArgs& args);

std::string supportsSkipLayerNorm(const Layer& layer, const std::vector<TensorDesc>& inputs);
void runSkipLayerNorm(CudaKernelArgs& args);

std::string supportsFullyConnected(const Layer& layer, const std::vector<TensorDesc>& inputs);
void runFullyConnected(CudaKernelArgs& args);

// Input i of a plugin layer, or null when absent (an optional input left out, or past the layer's inputs).
inline const DeviceTensor* inputAt(const CudaKernelArgs& args, size_t i) {
  return i < args.inputs.size() ? args.inputs[i] : nullptr;
}
inline const TensorDesc* descAt(const std::vector<TensorDesc>& inputs, size_t i) {
  return i < inputs.size() && inputs[i].present ? &inputs[i] : nullptr;
}
inline bool isFloatType(DType t) { return t == DType::Float32 || t == DType::Float16; }

}  // namespace inferrt::bert_cuda
