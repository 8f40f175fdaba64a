// FullyConnected v1 (BERT): y = act(x · W + bias), the GEMM of an encoder's projections and feed-forward layers
// with its bias and activation in one layer. Inputs: 0 x float [..., K], 1 weight [K, N] (ONNX MatMul's B layout),
// 2 bias? [N], one float dtype. Attribute: activation "none" (default) | "relu" | "gelu" (exact erf GELU) |
// "gelu_tanh" (its tanh approximation, ir/gemm_layers.h).
// Output [..., N], x's dtype; fp32 accumulation, rounded once.
#pragma once
#include <string>
#include <vector>

#include "ir/op_registry.h"

namespace inferrt {

// The validated activation attribute (InvalidArgument naming the layer otherwise).
std::string fullyConnectedActivation(const Layer& layer);

std::vector<TensorDesc> inferFullyConnected(const Layer& layer, const std::vector<TensorDesc>& inputs);
void runFullyConnectedCpu(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs);

}  // namespace inferrt
