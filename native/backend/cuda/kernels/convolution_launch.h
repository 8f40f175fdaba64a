// Host launchers of the Convolution helpers in convolution.cu: the bias broadcast that cuDNN then accumulates
// onto, and the zero padding that turns asymmetric pads into symmetric ones. Plain C++ parameters only; a
// launcher returns false, launching nothing, for an element size it has no kernel for, and the caller then
// checks cudaGetLastError().
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace inferrt::cudakernels {

// y [batch, channels, spatial] = bias[channel], copied bit for bit (elementBytes 2: fp16, 4: fp32).
bool launchBroadcastBias(const void* bias, void* y, int elementBytes, int64_t batch, int64_t channels,
                         int64_t spatial, int multiProcessors, cudaStream_t stream);

// y = relu?(y + residual?) in place over numel elements (fp16 when `half`, else fp32), computed in fp32: the
// epilogue of a fused Convolution when cuDNN's fused call does not run it. residual may be null.
bool launchResidualRelu(void* y, const void* residual, bool half, int64_t numel, bool relu, int multiProcessors,
                        cudaStream_t stream);

// y [planes, out0, out1, out2] = x [planes, in0, in1, in2] placed at padBegin, zeros around it (1-D and 2-D
// problems pass leading 1s).
struct ZeroPadGeometry {
  int64_t planes = 0;
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, padBegin[3] = {0, 0, 0};
};
bool launchZeroPad(const void* x, void* y, int elementBytes, const ZeroPadGeometry& g, int multiProcessors,
                   cudaStream_t stream);

}  // namespace inferrt::cudakernels
