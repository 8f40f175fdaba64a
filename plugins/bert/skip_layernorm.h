// SkipLayerNorm v1 (BERT): y = LayerNorm(x + skip [+ bias]) over the last dim, scaled by gamma and shifted by
// beta — the residual add and normalization that close each BERT encoder sub-layer, fused into one layer.
// Inputs: x [..., hidden], skip (x's shape), gamma [hidden], beta? [hidden], bias? [hidden], all one float dtype.
// Attribute: epsilon (default 1e-12, BERT's). One output, x's dtype and shape.
#pragma once
#include <vector>

#include "ir/op_registry.h"

namespace inferrt {

std::vector<TensorDesc> inferSkipLayerNorm(const Layer& layer, const std::vector<TensorDesc>& inputs);
void runSkipLayerNormCpu(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs);
// The validated epsilon attribute.
double skipLayerNormEpsilon(const Layer& layer);

}  // namespace inferrt
