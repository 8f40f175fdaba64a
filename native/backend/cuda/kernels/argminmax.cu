// ArgMinMax kernels. The CPU reference scans in order: a NaN wins (the first one, or the last with
// select_last_index), else the extreme value, ties going to the first (last) index. That preference is a total
// order on (value, index) pairs, so partial winners of any split of the axis merge to the same answer.
#include <cuda_fp16.h>

#include <cstdint>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/reduction_common.cuh"

namespace inferrt::cudakernels {

using namespace reduction_detail;

namespace {

// The running winner; index -1 marks an empty candidate (a thread that saw no element).
template <typename V>
struct ArgBest {
  V value;
  int64_t index;
};

template <typename V>
__device__ inline ArgBest<V> argPick(ArgBest<V> a, ArgBest<V> b, bool isMax, bool last) {
  if (a.index < 0) return b;
  if (b.index < 0) return a;
  const bool laterWins = last ? b.index > a.index : b.index < a.index;  // b's index is the preferred one
  const bool aNaN = isNaNValue(a.value), bNaN = isNaNValue(b.value);
  if (aNaN || bNaN) return aNaN && bNaN ? (laterWins ? b : a) : (bNaN ? b : a);
  if (a.value == b.value) return laterWins ? b : a;
  return (isMax ? b.value > a.value : b.value < a.value) ? b : a;
}

template <typename V>
__device__ inline ArgBest<V> shflDown(ArgBest<V> a, int offset) {
  return {__shfl_down_sync(0xffffffffu, a.value, offset), __shfl_down_sync(0xffffffffu, a.index, offset)};
}

// A warp or block per row of [rows, n] (the reduced axis is the last one).
template <typename T, int kGroup>
__global__ void argRowsKernel(const T* x, int64_t* y, int64_t rows, int64_t n, bool isMax, bool last) {
  using V = typename CompareType<T>::type;
  __shared__ ArgBest<V> smem[kWarpsPerBlock];
  constexpr int kRowsPerBlock = kGroup == kWarp ? kWarpsPerBlock : 1;
  const int lane = groupLane<kGroup>();
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + groupSlot<kGroup>(); row < rows;
       row += static_cast<int64_t>(gridDim.x) * kRowsPerBlock) {
    ArgBest<V> best{V(), -1};
    for (int64_t k = lane; k < n; k += kGroup) best = argPick(best, ArgBest<V>{loadCompare(x, row * n + k), k}, isMax, last);
    for (int o = kWarp / 2; o > 0; o >>= 1) best = argPick(best, shflDown(best, o), isMax, last);
    if constexpr (kGroup > kWarp) {
      __syncthreads();  // smem may still be read for the previous row
      if (threadIdx.x % kWarp == 0) smem[threadIdx.x / kWarp] = best;
      __syncthreads();
      if (threadIdx.x == 0)
        for (int w = 1; w < kWarpsPerBlock; ++w) best = argPick(best, smem[w], isMax, last);
    }
    if (lane == 0) y[row] = best.index;
  }
}

// One thread per (outer, inner) position, scanning the axis in order (coalesced across inner).
template <typename T>
__global__ void argColumnsKernel(const T* x, int64_t* y, int64_t outer, int64_t n, int64_t inner, bool isMax,
                                 bool last) {
  using V = typename CompareType<T>::type;
  const int64_t total = outer * inner;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < total;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const T* p = x + (o / inner) * n * inner + o % inner;
    ArgBest<V> best{V(), -1};
    for (int64_t k = 0; k < n; ++k) best = argPick(best, ArgBest<V>{loadCompare(p, k * inner), k}, isMax, last);
    y[o] = best.index;
  }
}

}  // namespace

void launchArgMinMax(ElemType type, const void* x, int64_t* y, int64_t outer, int64_t n, int64_t inner, bool isMax,
                     bool selectLast, int multiProcessors, cudaStream_t stream) {
  dispatchElem(type, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = static_cast<const T*>(x);
    if (inner == 1) {
      const int group = n < 512 ? kWarp : kBlock;
      const unsigned grid = rowBlocks(outer, group, multiProcessors);
      if (group == kWarp) argRowsKernel<T, kWarp><<<grid, kBlock, 0, stream>>>(px, y, outer, n, isMax, selectLast);
      else argRowsKernel<T, kBlock><<<grid, kBlock, 0, stream>>>(px, y, outer, n, isMax, selectLast);
    } else {
      argColumnsKernel<T><<<gridFor(outer * inner, multiProcessors), kBlock, 0, stream>>>(px, y, outer, n, inner,
                                                                                        isMax, selectLast);
    }
    INFERRT_CUDA_CHECK(cudaGetLastError());
  });
}

}  // namespace inferrt::cudakernels
