// Device helpers shared by the reduction-family kernels (reduction.cu, argminmax.cu, softmax.cu, cumsum.cu,
// normalization.cu): element-type dispatch on the host, group-wide reductions on the device.
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "backend/cuda/kernels/kernel_support.cuh"
#include "backend/cuda/kernels/reduction_launch.h"

namespace inferrt::cudakernels {
// Nested so these generic names cannot collide with other families' helpers in cudakernels.
namespace reduction_detail {

template <typename T>
struct ElemTag {
  using type = T;
};

// Calls fn(ElemTag<T>{}) with the C++ type of `t`.
template <typename Fn>
void dispatchElem(ElemType t, Fn&& fn) {
  switch (t) {
    case ElemType::F32: fn(ElemTag<float>{}); return;
    case ElemType::F16: fn(ElemTag<__half>{}); return;
    case ElemType::I8: fn(ElemTag<int8_t>{}); return;
    case ElemType::U8: fn(ElemTag<uint8_t>{}); return;
    case ElemType::I32: fn(ElemTag<int32_t>{}); return;
    case ElemType::I64: fn(ElemTag<int64_t>{}); return;
  }
}

// Calls fn for the two float types only (Softmax, Normalization); other types are rejected by the .cc first.
template <typename Fn>
void dispatchFloat(ElemType t, Fn&& fn) {
  if (t == ElemType::F16) fn(ElemTag<__half>{});
  else fn(ElemTag<float>{});
}

template <typename T>
constexpr bool kIsFloatElem = false;
template <>
constexpr bool kIsFloatElem<float> = true;
template <>
constexpr bool kIsFloatElem<__half> = true;

// The comparable value of an element: float for float32/float16 (as the CPU compares them), else the integer.
template <typename T>
struct CompareType {
  using type = T;
};
template <>
struct CompareType<__half> {
  using type = float;
};
template <>
struct CompareType<int8_t> {  // widened so warp shuffles take it; comparisons are unchanged
  using type = int32_t;
};
template <>
struct CompareType<uint8_t> {
  using type = int32_t;
};

template <typename T>
__device__ inline typename CompareType<T>::type loadCompare(const T* p, int64_t i) {
  return p[i];
}
template <>
__device__ inline float loadCompare<__half>(const __half* p, int64_t i) {
  return __half2float(p[i]);
}

template <typename V>
__device__ inline bool isNaNValue(V) {
  return false;
}
__device__ inline bool isNaNValue(float v) { return isnan(v); }
__device__ inline bool isNaNValue(double v) { return isnan(v); }

// Row groups: a warp per row for short rows, the whole block (kBlock threads) for long ones.
constexpr int kWarp = 32;
constexpr int kWarpsPerBlock = kBlock / kWarp;

// Index of this thread's row slot within the block and its lane within the group.
template <int kGroup>
__device__ inline int groupSlot() {
  return kGroup == kWarp ? static_cast<int>(threadIdx.x) / kWarp : 0;
}
template <int kGroup>
__device__ inline int groupLane() {
  return kGroup == kWarp ? static_cast<int>(threadIdx.x) % kWarp : static_cast<int>(threadIdx.x);
}

// Combines v over the group (a warp, or the whole kBlock-thread block) with f and gives the result to every
// thread of the group, all in one order (so every thread sees bit-identical values). Block groups use
// smem[kWarpsPerBlock] and must be reached by all threads of the block.
template <int kGroup, typename V, typename F>
__device__ inline V groupAllReduce(V v, F f, V* smem) {
  for (int o = kWarp / 2; o > 0; o >>= 1) v = f(v, __shfl_down_sync(0xffffffffu, v, o));
  v = __shfl_sync(0xffffffffu, v, 0);
  if constexpr (kGroup > kWarp) {
    __syncthreads();  // smem may still be read from the previous call
    if (threadIdx.x % kWarp == 0) smem[threadIdx.x / kWarp] = v;
    __syncthreads();
    v = smem[0];
    for (int w = 1; w < kGroup / kWarp; ++w) v = f(v, smem[w]);
  }
  return v;
}

// Grid size for `groups` row groups of kGroup threads (grid-stride loops cover the rest).
inline unsigned rowBlocks(int64_t rows, int group, int multiProcessors) {
  const int64_t perBlock = group == kWarp ? kWarpsPerBlock : 1;
  const int64_t blocks = (rows + perBlock - 1) / perBlock;
  const int64_t cap = static_cast<int64_t>(multiProcessors > 0 ? multiProcessors : 80) * 32;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > cap ? cap : blocks));
}

}  // namespace reduction_detail
}  // namespace inferrt::cudakernels
