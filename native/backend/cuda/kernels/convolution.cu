// Convolution helpers around cuDNN: the bias broadcast (the convolution accumulates onto it with beta = 1, so
// conv + bias is rounded once, as the CPU kernel does) and the zero padding for asymmetric pads (cuDNN's
// legacy API takes one pad per dim). Both move raw elements, so one kernel serves fp16 and fp32. Also the
// residual + relu epilogue for fused Convolutions that cuDNN's fused call does not take.
#include "backend/cuda/kernels/convolution_launch.h"
#include "backend/cuda/kernels/kernel_support.cuh"

namespace inferrt::cudakernels {

namespace {

template <typename T>
__global__ void broadcastBiasKernel(const T* __restrict__ bias, T* __restrict__ y, int64_t numel, int64_t channels,
                                    int64_t spatial) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < numel;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = bias[(i / spatial) % channels];
}

template <typename T>
__global__ void zeroPadKernel(const T* __restrict__ x, T* __restrict__ y, int64_t numel, ZeroPadGeometry g) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < numel;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t rest = i;
    const int64_t o2 = rest % g.out[2];
    rest /= g.out[2];
    const int64_t o1 = rest % g.out[1];
    rest /= g.out[1];
    const int64_t o0 = rest % g.out[0];
    const int64_t plane = rest / g.out[0];
    const int64_t i0 = o0 - g.padBegin[0], i1 = o1 - g.padBegin[1], i2 = o2 - g.padBegin[2];
    const bool inside = i0 >= 0 && i0 < g.in[0] && i1 >= 0 && i1 < g.in[1] && i2 >= 0 && i2 < g.in[2];
    y[i] = inside ? x[((plane * g.in[0] + i0) * g.in[1] + i1) * g.in[2] + i2] : T(0);
  }
}

// Fallback epilogue of a fused Convolution: y = act(y + residual) in place, in fp32, rounded once into y.
template <typename T>
__global__ void residualReluKernel(T* __restrict__ y, const T* __restrict__ residual, int64_t numel, bool relu) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < numel;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float v = loadAsFloat(y, i);
    if (residual) v += loadAsFloat(residual, i);
    if (relu && v < 0.0f) v = 0.0f;  // NaN passes through, as the CPU's relu
    storeFromFloat(y, i, v);
  }
}

}  // namespace

bool launchResidualRelu(void* y, const void* residual, bool half, int64_t numel, bool relu, int multiProcessors,
                        cudaStream_t stream) {
  if (numel <= 0) return true;
  const unsigned grid = gridFor(numel, multiProcessors);
  if (half)
    residualReluKernel<<<grid, kBlock, 0, stream>>>(static_cast<__half*>(y), static_cast<const __half*>(residual),
                                                    numel, relu);
  else
    residualReluKernel<<<grid, kBlock, 0, stream>>>(static_cast<float*>(y), static_cast<const float*>(residual),
                                                    numel, relu);
  return true;
}

bool launchBroadcastBias(const void* bias, void* y, int elementBytes, int64_t batch, int64_t channels,
                         int64_t spatial, int multiProcessors, cudaStream_t stream) {
  const int64_t numel = batch * channels * spatial;
  if (numel <= 0) return true;
  const unsigned grid = gridFor(numel, multiProcessors);
  if (elementBytes == 2) {
    broadcastBiasKernel<<<grid, kBlock, 0, stream>>>(static_cast<const uint16_t*>(bias), static_cast<uint16_t*>(y),
                                                     numel, channels, spatial);
  } else if (elementBytes == 4) {
    broadcastBiasKernel<<<grid, kBlock, 0, stream>>>(static_cast<const uint32_t*>(bias), static_cast<uint32_t*>(y),
                                                     numel, channels, spatial);
  } else {
    return false;
  }
  return true;
}

bool launchZeroPad(const void* x, void* y, int elementBytes, const ZeroPadGeometry& g, int multiProcessors,
                   cudaStream_t stream) {
  const int64_t numel = g.planes * g.out[0] * g.out[1] * g.out[2];
  if (numel <= 0) return true;
  const unsigned grid = gridFor(numel, multiProcessors);
  if (elementBytes == 2) {
    zeroPadKernel<<<grid, kBlock, 0, stream>>>(static_cast<const uint16_t*>(x), static_cast<uint16_t*>(y), numel, g);
  } else if (elementBytes == 4) {
    zeroPadKernel<<<grid, kBlock, 0, stream>>>(static_cast<const uint32_t*>(x), static_cast<uint32_t*>(y), numel, g);
  } else {
    return false;
  }
  return true;
}

}  // namespace inferrt::cudakernels
