// The INT8 family's elementwise kernels: QuantizeLinear into int8 (per-tensor scale, no zero point) and the
// dequantizing epilogue of QuantizedMatMul / QuantizedConvolution. Both repeat the CPU kernels' fp32 steps
// (backend/cpu/quantization.cc, quantized_layers.cc) with explicit _rn intrinsics, so nvcc can neither contract a
// multiply and an add into an FMA nor replace the division by a reciprocal: bit-exact results.
#include "backend/cuda/kernels/elementwise_math.cuh"
#include "backend/cuda/kernels/kernel_support.cuh"
#include "backend/cuda/kernels/quantized_launch.h"

namespace inferrt::cudakernels {

namespace {

__device__ __forceinline__ float loadFloat(const void* p, bool half, int64_t i) {
  return half ? __half2float(static_cast<const __half*>(p)[i]) : static_cast<const float*>(p)[i];
}

// saturate(roundHalfEven(q)) into [-128, 127]; NaN gives 0 (the CPU's saturateCast). Clamping first is exact:
// the bounds are integers, so rounding a clamped value equals clamping the rounded one.
__device__ __forceinline__ int8_t quantizeValue(float q) {
  if (q != q) return 0;
  q = q < -128.0f ? -128.0f : (q > 127.0f ? 127.0f : q);
  return static_cast<int8_t>(__float2int_rn(q));  // round half to even, as std::nearbyint
}

__global__ void quantizeInt8Kernel(const void* x, bool xHalf, const void* scale, bool scaleHalf, int8_t* y, int64_t n) {
  const float s = loadFloat(scale, scaleHalf, 0);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = quantizeValue(__fdiv_rn(loadFloat(x, xHalf, i), s));
}

// acc may be y itself (QuantizedMatMul's sums stored in its output): each element is read, then written, by one
// thread, so acc and y carry no __restrict__.
__global__ void int8EpilogueKernel(const int32_t* acc, const float* __restrict__ scale, const float* __restrict__ bias,
                                   const float* __restrict__ residual, float* y, Int8EpilogueGeometry g,
                                   Int8Activation act) {
  const int64_t perImage = g.channels * g.plane;
  const int64_t n = g.images * perImage;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t b = i / perImage, c = (i / g.plane) % g.channels, p = i % g.plane;
    const int32_t sum = acc ? acc[c * g.accChannelStride + b * g.accImageStride + p] : 0;
    float v = __fmul_rn(__int2float_rn(sum), scale[c]);
    if (bias) v = __fadd_rn(v, bias[c]);
    if (residual) v = __fadd_rn(v, residual[i]);
    if (act == Int8Activation::Relu) v = v < 0.0f ? 0.0f : v;  // NaN passes through, as the CPU's relu
    if (act == Int8Activation::Gelu)
      v = static_cast<float>(ew::activationDouble(EwActivation::Gelu, 0.0, 0.0, static_cast<double>(v)));
    y[i] = v;
  }
}

}  // namespace

bool launchQuantizeInt8(const void* x, bool xHalf, const void* scale, bool scaleHalf, int8_t* y, int64_t n,
                        int multiProcessors, cudaStream_t stream) {
  if (n <= 0) return true;
  if (!x || !scale || !y) return false;
  quantizeInt8Kernel<<<gridFor(n, multiProcessors), kBlock, 0, stream>>>(x, xHalf, scale, scaleHalf, y, n);
  return true;
}

bool launchInt8Epilogue(const int32_t* acc, const float* scale, const float* bias, const float* residual, float* y,
                        const Int8EpilogueGeometry& g, Int8Activation act, int multiProcessors, cudaStream_t stream) {
  const int64_t n = g.images * g.channels * g.plane;
  if (n <= 0) return true;
  if (!scale || !y || g.plane < 1 || g.channels < 1) return false;
  int8EpilogueKernel<<<gridFor(n, multiProcessors), kBlock, 0, stream>>>(acc, scale, bias, residual, y, g, act);
  return true;
}

}  // namespace inferrt::cudakernels
