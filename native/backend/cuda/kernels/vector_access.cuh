// Vector loads and stores of V consecutive float32 / float16 elements as fp32 registers (V = 4: one 16-byte fp32 or
// 8-byte fp16 access; V = 8: two 16-byte fp32 or one 16-byte fp16 access), shared by the warp-per-row kernels
// (softmax.cu, normalization.cu).
#pragma once
#include <cuda_fp16.h>

#include <cstring>

namespace inferrt::cudakernels {

// V consecutive elements of p (aligned to V elements when V > 1) as floats.
template <int V>
__device__ inline void loadVecF(const float* p, float (&o)[V]) {
  if constexpr (V == 4 || V == 8) {
#pragma unroll
    for (int q = 0; q < V / 4; ++q) {
      const float4 u = reinterpret_cast<const float4*>(p)[q];
      o[4 * q] = u.x, o[4 * q + 1] = u.y, o[4 * q + 2] = u.z, o[4 * q + 3] = u.w;
    }
  } else {
#pragma unroll
    for (int j = 0; j < V; ++j) o[j] = p[j];
  }
}
template <int V>
__device__ inline void loadVecF(const __half* p, float (&o)[V]) {
  if constexpr (V == 4) {
    const uint2 u = *reinterpret_cast<const uint2*>(p);
    __half2 h0, h1;
    memcpy(&h0, &u.x, sizeof h0);
    memcpy(&h1, &u.y, sizeof h1);
    const float2 f0 = __half22float2(h0), f1 = __half22float2(h1);
    o[0] = f0.x, o[1] = f0.y, o[2] = f1.x, o[3] = f1.y;
  } else if constexpr (V == 8) {
    const uint4 u = *reinterpret_cast<const uint4*>(p);
    const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      __half2 h;
      memcpy(&h, &w[q], sizeof h);
      const float2 f = __half22float2(h);
      o[2 * q] = f.x, o[2 * q + 1] = f.y;
    }
  } else {
#pragma unroll
    for (int j = 0; j < V; ++j) o[j] = __half2float(p[j]);
  }
}
template <int V>
__device__ inline void storeVecF(float* p, const float (&v)[V]) {
  if constexpr (V == 4 || V == 8) {
#pragma unroll
    for (int q = 0; q < V / 4; ++q)
      reinterpret_cast<float4*>(p)[q] = make_float4(v[4 * q], v[4 * q + 1], v[4 * q + 2], v[4 * q + 3]);
  } else {
#pragma unroll
    for (int j = 0; j < V; ++j) p[j] = v[j];
  }
}
template <int V>
__device__ inline void storeVecF(__half* p, const float (&v)[V]) {
  if constexpr (V == 4) {
    const __half2 h0 = __floats2half2_rn(v[0], v[1]), h1 = __floats2half2_rn(v[2], v[3]);
    uint2 u;
    memcpy(&u.x, &h0, sizeof h0);
    memcpy(&u.y, &h1, sizeof h1);
    *reinterpret_cast<uint2*>(p) = u;
  } else if constexpr (V == 8) {
    uint32_t w[4];
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const __half2 h = __floats2half2_rn(v[2 * q], v[2 * q + 1]);
      memcpy(&w[q], &h, sizeof h);
    }
    *reinterpret_cast<uint4*>(p) = make_uint4(w[0], w[1], w[2], w[3]);
  } else {
#pragma unroll
    for (int j = 0; j < V; ++j) p[j] = __float2half_rn(v[j]);
  }
}

}  // namespace inferrt::cudakernels
