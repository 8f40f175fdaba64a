// Shape rules shared by two op families: the integer layers (ir/ops/quantization.cc) compute the output dims of
// MatMul and Convolution exactly as those layers do, so the rules live once, in matmul.cc and convolution.cc.
#pragma once
#include "ir/network.h"
#include "ir/op_registry.h"

namespace inferrt {

// Numpy matmul output dims of a (input 0) by b (input 1), with transA/transB swapping an operand's last two dims
// first (no-op on 1-D operands): 1-D operands are promoted and squeezed again, batch dims broadcast. Throws
// ShapeMismatch naming the inner dims that differ.
Dims matmulOutputDims(const TensorDesc& a, const TensorDesc& b, bool transA, bool transB);

// Output dims of a convolution of x (input 0) by w (input 1) under the layer's group, kernel_shape, strides,
// pads, dilations, auto_pad and channels_last attributes (LAYERS.md, Convolution). Checks ranks, channels and
// group and throws naming what does not fit; dtypes are the caller's to check.
Dims convolutionOutputDims(const Layer& layer, const TensorDesc& x, const TensorDesc& w);

}  // namespace inferrt
