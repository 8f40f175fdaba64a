// QuantizeLinear's rounding into int8 on the device, shared by the quantize pass (quantized.cu) and the kernels that
// write a layer's int8 values themselves (normalization.cu, attention_flash.cu): the CPU's quantizeToInt8.
#pragma once
#include <cuda_fp16.h>

#include <cstdint>
#include <cstring>

namespace inferrt::cudakernels {

// saturate(roundHalfEven(q)) into [-128, 127]; NaN gives 0 (the CPU's saturateCast of std::nearbyint). The
// rounding and saturation are one instruction, cvt.rni.sat.s8.f32 (saturating after rounding equals rounding after
// saturating: the bounds are integers); NaN is tested first rather than left to the conversion.
__device__ __forceinline__ int8_t quantizeValue(float q) {
  if (q != q) return 0;
  short r;
  asm("cvt.rni.sat.s8.f32 %0, %1;" : "=h"(r) : "f"(q));
  return static_cast<int8_t>(r);
}

// x / s divided in fp32 (QuantizeLinear divides), then quantizeValue.
__device__ __forceinline__ int8_t quantizeDivided(float x, float s) { return quantizeValue(__fdiv_rn(x, s)); }

// x * r instead, where r = RN(1 / s) gives every fp16 x the division's value (int8/half_quantize_reciprocal.h).
__device__ __forceinline__ int8_t quantizeMultiplied(float x, float r) { return quantizeValue(__fmul_rn(x, r)); }

// Eight fp16 values (one 16-byte access) quantized by multiplying by r (r > 0) or else dividing by s, packed into
// 8 bytes in order.
__device__ __forceinline__ uint2 quantizeHalf8(uint4 h, float r, float s) {
  const uint32_t in[4] = {h.x, h.y, h.z, h.w};
  uint32_t out[2] = {};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    __half2 pair;
    memcpy(&pair, &in[i], sizeof pair);
    const float2 f = __half22float2(pair);
    const int8_t a = r > 0.0f ? quantizeMultiplied(f.x, r) : quantizeDivided(f.x, s);
    const int8_t b = r > 0.0f ? quantizeMultiplied(f.y, r) : quantizeDivided(f.y, s);
    const uint32_t bytes =
        static_cast<uint32_t>(static_cast<uint8_t>(a)) | static_cast<uint32_t>(static_cast<uint8_t>(b)) << 8;
    out[i / 2] |= bytes << (16 * (i % 2));
  }
  return make_uint2(out[0], out[1]);
}

}  // namespace inferrt::cudakernels
