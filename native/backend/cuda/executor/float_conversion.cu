#include <cuda_fp16.h>

#include "backend/cuda/executor/float_conversion.h"

namespace inferrt {

namespace {

constexpr int kThreads = 256;

unsigned blocksFor(int64_t n) {
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks > 65535 * 8 ? 65535 * 8 : blocks);
}

__global__ void floatToHalf(const float* in, __half* out, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = __float2half_rn(in[i]);
}

__global__ void halfToFloat(const __half* in, float* out, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = __half2float(in[i]);
}

}  // namespace

void launchFloatToHalf(const float* in, uint16_t* out, int64_t n, cudaStream_t stream) {
  if (n > 0) floatToHalf<<<blocksFor(n), kThreads, 0, stream>>>(in, reinterpret_cast<__half*>(out), n);
}

void launchHalfToFloat(const uint16_t* in, float* out, int64_t n, cudaStream_t stream) {
  if (n > 0) halfToFloat<<<blocksFor(n), kThreads, 0, stream>>>(reinterpret_cast<const __half*>(in), out, n);
}

}  // namespace inferrt
