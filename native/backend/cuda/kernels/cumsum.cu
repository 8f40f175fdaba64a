// CumSum kernels. As on the CPU, float inputs accumulate in double (rounded once per output) and integers in
// uint64, whose wraparound makes any summation order give the CPU's exact result.
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/reduction_common.cuh"

namespace inferrt::cudakernels {

using namespace reduction_detail;

namespace {

template <typename T>
using ScanAcc = std::conditional_t<kIsFloatElem<T>, double, uint64_t>;

template <typename T>
__device__ inline ScanAcc<T> loadScan(const T* p, int64_t i) {
  if constexpr (kIsFloatElem<T>) return loadAsFloat(p, i);
  else return static_cast<uint64_t>(p[i]);  // negative values wrap, as the CPU's static_cast<uint64_t>
}

template <typename T>
__device__ inline void storeScan(T* p, int64_t i, ScanAcc<T> acc) {
  if constexpr (kIsFloatElem<T>) storeFromFloat(p, i, static_cast<float>(acc));
  else p[i] = static_cast<T>(acc);
}

// One thread per (outer, inner) line of [outer, n, inner], in order (coalesced across inner).
template <typename T>
__global__ void cumsumLinesKernel(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool exclusive,
                                  bool reverse) {
  const int64_t total = outer * inner;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < total;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t base = (o / inner) * n * inner + o % inner;
    ScanAcc<T> acc = 0;
    for (int64_t j = 0; j < n; ++j) {
      const int64_t k = base + (reverse ? n - 1 - j : j) * inner;
      const ScanAcc<T> v = loadScan(x, k);
      if (exclusive) storeScan(y, k, acc);
      acc += v;
      if (!exclusive) storeScan(y, k, acc);
    }
  }
}

// A warp or block per row of [rows, n] (scan over the last axis), in tiles of kGroup elements: a shuffle scan
// per warp, warp totals through shared memory, and a carry between tiles.
template <typename T, int kGroup>
__global__ void cumsumRowsKernel(const T* x, T* y, int64_t rows, int64_t n, bool exclusive, bool reverse) {
  using Acc = ScanAcc<T>;
  __shared__ Acc warpTotals[kWarpsPerBlock];
  constexpr int kRowsPerBlock = kGroup == kWarp ? kWarpsPerBlock : 1;
  const int lane = groupLane<kGroup>();
  const int warpLane = static_cast<int>(threadIdx.x) % kWarp, warp = static_cast<int>(threadIdx.x) / kWarp;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + groupSlot<kGroup>(); row < rows;
       row += static_cast<int64_t>(gridDim.x) * kRowsPerBlock) {
    const T* xr = x + row * n;
    T* yr = y + row * n;
    Acc carry = 0;
    for (int64_t t0 = 0; t0 < n; t0 += kGroup) {  // uniform over the group: the syncs below are safe
      const int64_t j = t0 + lane;
      const int64_t k = reverse ? n - 1 - j : j;
      const Acc v = j < n ? loadScan(xr, k) : Acc(0);
      Acc incl = v;
      for (int o = 1; o < kWarp; o <<= 1) {
        const Acc t = __shfl_up_sync(0xffffffffu, incl, o);
        if (warpLane >= o) incl += t;
      }
      Acc excl = __shfl_up_sync(0xffffffffu, incl, 1);
      if (warpLane == 0) excl = 0;
      Acc before = 0, tileTotal;
      if constexpr (kGroup > kWarp) {
        if (warpLane == kWarp - 1) warpTotals[warp] = incl;
        __syncthreads();
        tileTotal = 0;
        for (int w = 0; w < kWarpsPerBlock; ++w) {
          if (w < warp) before += warpTotals[w];
          tileTotal += warpTotals[w];
        }
        __syncthreads();  // all totals read before the next tile rewrites them
      } else {
        tileTotal = __shfl_sync(0xffffffffu, incl, kWarp - 1);
      }
      if (j < n) storeScan(yr, k, carry + (before + (exclusive ? excl : incl)));
      carry += tileTotal;
    }
  }
}

}  // namespace

void launchCumSum(ElemType type, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool exclusive,
                  bool reverse, int multiProcessors, cudaStream_t stream) {
  dispatchElem(type, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = static_cast<const T*>(x);
    T* py = static_cast<T*>(y);
    if (inner == 1 && n > 8) {
      const int group = n <= 1024 ? kWarp : kBlock;
      const unsigned grid = rowBlocks(outer, group, multiProcessors);
      if (group == kWarp) cumsumRowsKernel<T, kWarp><<<grid, kBlock, 0, stream>>>(px, py, outer, n, exclusive, reverse);
      else cumsumRowsKernel<T, kBlock><<<grid, kBlock, 0, stream>>>(px, py, outer, n, exclusive, reverse);
    } else {
      cumsumLinesKernel<T><<<gridFor(outer * inner, multiProcessors), kBlock, 0, stream>>>(px, py, outer, n, inner,
                                                                                         exclusive, reverse);
    }
    INFERRT_CUDA_CHECK(cudaGetLastError());
  });
}

}  // namespace inferrt::cudakernels
