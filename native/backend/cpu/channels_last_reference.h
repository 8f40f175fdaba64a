// The CPU reference of channels_last = 1 Convolution / QuantizedConvolution / Pooling layers (NHWC, see
// native/ir/LAYERS.md): the NCHW kernel on permuted copies. Correct, not fast: the CPU backend is the oracle, the
// CUDA backend runs NHWC natively.
#pragma once
#include <vector>

#include "backend/cpu/kernel_registry.h"

namespace inferrt {

// Runs `nchw` (the layer kind's NCHW kernel) for a channels_last = 1 layer: x [N, H, W, C] and the residual
// (Convolution input 3, QuantizedConvolution input 4) go to NCHW, weights [M, kH, kW, C/group] to
// [M, C/group, kH, kW], the layer runs without the attribute, and its NCHW outputs are permuted into `outputs`
// ([N, H', W', C'] each).
void runChannelsLastReference(const Layer& layer, const std::vector<const Tensor*>& inputs,
                              std::vector<Tensor>& outputs, CpuKernel nchw);

}  // namespace inferrt
