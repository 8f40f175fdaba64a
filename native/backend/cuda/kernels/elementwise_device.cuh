// Device helpers of the elementwise family (elementwise.cu, activation.cu, cast.cu): fp16 conversions that give
// the CPU reference's exact bits (NaN included), wrapping and saturating integer math (never UB, never a trap),
// broadcast offsets from an EwGeometry, and host-side dtype dispatch.
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "backend/cuda/kernels/elementwise_launch.h"
#include "backend/cuda/kernels/kernel_support.cuh"

namespace inferrt::cudakernels::ew {

// --- fp16 as the CPU's halfToFloat / floatToHalf: same values; NaN keeps its payload on the way in and becomes
// sign | 0x7e00 on the way out (the hardware conversions would canonicalize it).
__device__ __forceinline__ float halfToFloat(__half h) {
  const unsigned b = __half_as_ushort(h);
  if ((b & 0x7c00u) == 0x7c00u && (b & 0x3ffu) != 0)
    return __uint_as_float(((b & 0x8000u) << 16) | 0x7f800000u | ((b & 0x3ffu) << 13));
  return __half2float(h);
}
__device__ __forceinline__ __half floatToHalf(float v) {
  if (v != v) return __ushort_as_half(static_cast<unsigned short>(((__float_as_uint(v) >> 16) & 0x8000u) | 0x7e00u));
  return __float2half_rn(v);  // round to nearest even, overflow to inf: as the CPU
}

// Float types load as float; everything else loads as itself.
__device__ __forceinline__ float load(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float load(const __half* p, int64_t i) { return halfToFloat(p[i]); }
template <typename T>
__device__ __forceinline__ T load(const T* p, int64_t i) {
  return p[i];
}
__device__ __forceinline__ void store(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void store(__half* p, int64_t i, float v) { p[i] = floatToHalf(v); }

template <typename T>
constexpr bool kIsFloat = std::is_same_v<T, float> || std::is_same_v<T, __half>;

// --- Integer math as math_common.h: wraps like the hardware, without signed-overflow UB.
template <typename T>
__device__ __forceinline__ T wrapAdd(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
}
template <typename T>
__device__ __forceinline__ T wrapSub(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
}
template <typename T>
__device__ __forceinline__ T wrapMul(T a, T b) {
  using U = std::make_unsigned_t<T>;
  using W = std::conditional_t<(sizeof(U) < sizeof(unsigned)), unsigned, U>;  // avoid int promotion
  return static_cast<T>(static_cast<U>(static_cast<W>(static_cast<U>(a)) * static_cast<W>(static_cast<U>(b))));
}
template <typename T>
__device__ __forceinline__ T wrapNeg(T a) {
  return wrapSub(T(0), a);
}
// x < 0 without a pointless-comparison warning for unsigned types.
template <typename T>
__device__ __forceinline__ bool isNegative(T x) {
  if constexpr (std::is_signed_v<T>) return x < 0;
  else return false;
}
template <typename T>
__device__ __forceinline__ bool isMinusOne(T x) {
  if constexpr (std::is_signed_v<T>) return x == static_cast<T>(-1);
  else return false;
}

// numeric_limits is host-only without --expt-relaxed-constexpr: the four integer types' ranges.
template <typename T>
struct IntRange;
template <>
struct IntRange<int8_t> {
  static constexpr int8_t lo = -128, hi = 127;
};
template <>
struct IntRange<uint8_t> {
  static constexpr uint8_t lo = 0, hi = 255;
};
template <>
struct IntRange<int32_t> {
  static constexpr int32_t lo = INT32_MIN, hi = INT32_MAX;
};
template <>
struct IntRange<int64_t> {
  static constexpr int64_t lo = INT64_MIN, hi = INT64_MAX;
};

// saturateCast<T>(double) of math_common.h: truncates toward zero, saturates, NaN -> 0.
template <typename T>
__device__ __forceinline__ T saturateToInt(double v) {
  if (v != v) return 0;
  if (v <= static_cast<double>(IntRange<T>::lo)) return IntRange<T>::lo;
  if (v >= static_cast<double>(IntRange<T>::hi)) return IntRange<T>::hi;
  return static_cast<T>(v);
}

// --- Grid-stride loop bounds (int64: tensors may pass 2^31 elements).
__device__ __forceinline__ int64_t firstIndex() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t gridStep() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

// Offsets of output element i in each of the first N operands, for an EwGeometry or a layout like it (rank,
// narrow, dims and strides[operand][dim], innermost first, at most kEwMaxRank dims: PwGeometry). Loops are
// unrolled so that every geometry field is read at a constant index (no local-memory copy of the parameter struct).
template <int N, typename Geometry>
__device__ __forceinline__ void broadcastOffsets(const Geometry& g, int64_t i, int64_t (&off)[N]) {
#pragma unroll
  for (int k = 0; k < N; ++k) off[k] = 0;
  if (g.narrow) {
    uint32_t idx = static_cast<uint32_t>(i);
#pragma unroll
    for (int d = 0; d < kEwMaxRank; ++d) {
      if (d >= g.rank) break;
      uint32_t c = idx;  // the outermost dim takes what is left
      if (d + 1 < g.rank) {
        const uint32_t dim = static_cast<uint32_t>(g.dims[d]);
        const uint32_t q = idx / dim;
        c = idx - q * dim;
        idx = q;
      }
#pragma unroll
      for (int k = 0; k < N; ++k) off[k] += static_cast<int64_t>(c) * g.strides[k][d];
    }
  } else {
    int64_t idx = i;
#pragma unroll
    for (int d = 0; d < kEwMaxRank; ++d) {
      if (d >= g.rank) break;
      int64_t c = idx;
      if (d + 1 < g.rank) {
        const int64_t q = idx / g.dims[d];
        c = idx - q * g.dims[d];
        idx = q;
      }
#pragma unroll
      for (int k = 0; k < N; ++k) off[k] += c * g.strides[k][d];
    }
  }
}

// --- Host-side dispatch: fn(Tag<T>{}) for the storage type of an EwType (bool as uint8_t). False if unknown.
template <typename T>
struct Tag {
  using type = T;
};
template <typename Fn>
bool dispatchType(EwType t, Fn&& fn) {
  switch (t) {
    case EwType::F32: fn(Tag<float>{}); return true;
    case EwType::F16: fn(Tag<__half>{}); return true;
    case EwType::I8: fn(Tag<int8_t>{}); return true;
    case EwType::U8: fn(Tag<uint8_t>{}); return true;
    case EwType::I32: fn(Tag<int32_t>{}); return true;
    case EwType::I64: fn(Tag<int64_t>{}); return true;
    case EwType::Bool: fn(Tag<uint8_t>{}); return true;
  }
  return false;
}

}  // namespace inferrt::cudakernels::ew
