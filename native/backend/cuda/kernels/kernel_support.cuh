// Device-side helpers shared by the CUDA kernels: grid sizing, index-error reporting, fp16 loads and stores.
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace inferrt::cudakernels {

constexpr int kBlock = 256;

// Blocks for a grid-stride loop over n elements (capped: the loop covers the rest).
inline unsigned gridFor(int64_t n, int multiProcessors) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  const int64_t cap = static_cast<int64_t>(multiProcessors > 0 ? multiProcessors : 80) * 32;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > cap ? cap : blocks));
}

// Records the first device-side error of a run; the executor reports it after the run, naming the layer.
__device__ inline void reportDeviceError(int32_t* flag, int32_t code) {
  if (flag) atomicCAS(flag, 0, code);
}

template <typename T>
__device__ inline float loadAsFloat(const T* p, int64_t i) {
  return static_cast<float>(p[i]);
}
template <>
__device__ inline float loadAsFloat<__half>(const __half* p, int64_t i) {
  return __half2float(p[i]);
}
template <typename T>
__device__ inline void storeFromFloat(T* p, int64_t i, float v) {
  p[i] = static_cast<T>(v);
}
template <>
__device__ inline void storeFromFloat<__half>(__half* p, int64_t i, float v) {
  p[i] = __float2half_rn(v);
}

}  // namespace inferrt::cudakernels
