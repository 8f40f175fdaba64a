#include "backend/cuda/kernels/quantized_matmul_cudnn.h"

#include "backend/cuda/kernels/cudnn_int8_convolution.h"
#include "backend/cuda/kernels/quantized_convolution_nhwc.h"
#include "backend/cuda/kernels/quantized_gemm.h"

namespace inferrt::cudakernels {

bool cudnnTakesQuantizedMatMul(GemmActivation act, int64_t k, int64_t n) {
#ifndef INFERRT_WITH_CUDNN
  (void)act, (void)k, (void)n;
  return false;
#else
  constexpr int64_t kChannelMultiple = 16;
  return act != GemmActivation::GeluTanh && k % kChannelMultiple == 0 && n % kChannelMultiple == 0;
#endif
}

cudnnint8::Int8ConvProblem quantizedMatMulProblem(int64_t rows, int64_t n, int64_t k, bool bias, GemmActivation act,
                                                  float outputScale, bool int8Only) {
  cudnnint8::Int8ConvProblem p;  // [rows, 1, 1, K] * [N, 1, 1, K] -> [rows, 1, 1, N]
  p.batch = rows;
  p.channels = k;
  p.outChannels = n;
  p.bias = bias;
  p.halfOutput = !int8Only;
  p.outputScale = outputScale;
  p.keepFloat = outputScale > 0 && !int8Only;
  p.activation = act == GemmActivation::Relu   ? cudnnint8::Int8Activation::Relu
                 : act == GemmActivation::Gelu ? cudnnint8::Int8Activation::Gelu
                                               : cudnnint8::Int8Activation::None;
  return p;
}

bool runQuantizedMatMulOnCudnn(CudaKernelArgs& args, int64_t rows, int64_t n, int64_t k, GemmActivation act,
                               float outputScale) {
  const CudaLaunchEnv& env = args.env;
  const DeviceTensor& a = *args.inputs[0];
  const DeviceTensor& w = *args.inputs[1];
  const DeviceTensor* bias = args.inputs.size() > 3 ? args.inputs[3] : nullptr;
  // The outputs: y (fp16 here), y and its int8 values, or those alone (outputScale > 0).
  const bool int8Only = outputScale > 0 && args.outputs.size() == 1;
  DeviceTensor& first = args.outputs[0];
  DeviceTensor* second = args.outputs.size() == 2 ? &args.outputs[1] : nullptr;
  const bool aligned = pointerAlignment(a.data) >= 16 && pointerAlignment(w.data) >= 16 &&
                       pointerAlignment(first.data) >= 16 && (!second || pointerAlignment(second->data) >= 16);
  if (!env.cudnn || (!int8Only && first.dtype != DType::Float16) || !cudnnTakesQuantizedMatMul(act, k, n) ||
      rows <= 0 || !aligned)
    return false;
  // Declined (false) where cuDNN has no engine for the graph: the cuBLASLt path runs it.
  return runCudnnInt8Graph(quantizedMatMulProblem(rows, n, k, bias != nullptr, act, outputScale, int8Only), env,
                           a.data, w.data, args.inputs[2]->as<float>(), bias ? bias->as<float>() : nullptr, nullptr,
                           first.data, second ? second->data : nullptr, true);
}

}  // namespace inferrt::cudakernels
