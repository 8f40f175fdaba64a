// The channels-last QuantizedConvolution (channels_last = 1): x int8 [N, H, W, C], w int8 [M, kH, kW, C], y (float,
// or int8 with output_scale) and the residual [N, H', W', M], through cuDNN's graph API with the whole epilogue
// fused (cudnn_int8_convolution.h).
#pragma once
#include <string>
#include <vector>

#include "backend/cuda/kernels/cuda_kernel.h"
#include "backend/cuda/kernels/cudnn_int8_convolution.h"

namespace inferrt::cudakernels {

// Why the channels-last path cannot run `layer` (empty when it can): cuDNN missing, groups, asymmetric pads or an
// auto_pad other than VALID, C or M not multiples of 16.
std::string channelsLastQuantizedConvolutionLimit(const Layer& layer, const std::vector<TensorDesc>& inputs);

// A QuantizedConvolution's operands, as both layouts' kernels read them.
struct QuantizedConvolutionOperands {
  const DeviceTensor& x;
  const DeviceTensor& w;
  const DeviceTensor* scale;
  const DeviceTensor* bias;
  const DeviceTensor* residual;
};
QuantizedConvolutionOperands quantizedConvolutionOperands(const CudaKernelArgs& args);

void runQuantizedConvolutionNhwc(CudaKernelArgs& args);

// Enqueues `p` on cuDNN's graph with the plan this run-plan step kept when it still fits (else the shared cache's,
// kept for the next run) and workspace from scratch. Both channels-last INT8 convolutions and QuantizedMatMul's
// cuDNN route (quantized_matmul_cudnn.h) run this way. Where cuDNN has no engine for the graph: false, enqueueing
// nothing, when mayDecline (the caller has another path), else CUDA_ERROR naming the problem.
bool runCudnnInt8Graph(const cudnnint8::Int8ConvProblem& p, const CudaLaunchEnv& env, const void* x, const void* w,
                       const float* scale, const float* bias, const void* residual, void* y, void* yInt8,
                       bool mayDecline = false);

// Fails (SHAPE_MISMATCH) unless `t` is absent or float32 of `dims` (or its fp16 storage when halfStorage: the
// residual, read as stored); `what` names the operand (both layouts use it).
void requireFloat32Operand(const DeviceTensor* t, const char* what, const Dims& dims, bool halfStorage = false);

}  // namespace inferrt::cudakernels
