// Softmax / LogSoftmax kernels, the CPU reference's three passes: the row max (fmax: NaNs are skipped here but
// poison the sum below, so a row holding a NaN comes out all NaN), the sum of exp(x - max) accumulated in double,
// then the outputs. Log mode forms x - max - log(sum) in double: results near 0 keep their precision. A fused
// additive mask (SoftmaxMask) is added to every x in fp32 as it is read, as the unfused Add did: each row finds
// its mask offset once from its first element's flat index, then steps by the mask's stride along the axis.
#include <cuda_fp16.h>
#include <math_constants.h>

#include <cstdint>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/reduction_common.cuh"

namespace inferrt::cudakernels {

using namespace reduction_detail;

namespace {

__device__ inline float softmaxOut(float v, float mx, double logSum, float invSum, bool logMode) {
  if (logMode) return static_cast<float>(static_cast<double>(v) - mx - logSum);
  return expf(v - mx) * invSum;
}

// The mask's element offset for x's flat index f (see SoftmaxMask).
__device__ inline int64_t maskOffset(const SoftmaxMask& m, int64_t f) {
  int64_t off = 0;
  for (int d = m.rank - 1; d >= 0; --d) {
    off += (f % m.dims[d]) * m.strides[d];
    f /= m.dims[d];
  }
  return off;
}

// x[i] (+ mask[j]): the fp32 value the softmax works on. The mask test is uniform across the grid.
template <typename T>
__device__ inline float maskedValue(const T* x, int64_t i, const SoftmaxMask& m, int64_t j) {
  const float v = loadAsFloat(x, i);
  if (!m.data) return v;
  return v + (m.half ? __half2float(static_cast<const __half*>(m.data)[j]) : static_cast<const float*>(m.data)[j]);
}

// A warp or block per row of [rows, n] (softmax over the last axis). Rows are re-read per pass; a row the
// group just read is in L1/L2.
template <typename T, int kGroup>
__global__ void softmaxRowsKernel(const T* x, T* y, int64_t rows, int64_t n, bool logMode, const SoftmaxMask mask) {
  __shared__ float smax[kWarpsPerBlock];
  __shared__ double ssum[kWarpsPerBlock];
  constexpr int kRowsPerBlock = kGroup == kWarp ? kWarpsPerBlock : 1;
  const int lane = groupLane<kGroup>();
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + groupSlot<kGroup>(); row < rows;
       row += static_cast<int64_t>(gridDim.x) * kRowsPerBlock) {
    const T* xr = x + row * n;
    T* yr = y + row * n;
    const int64_t mb = mask.data ? maskOffset(mask, row * n) : 0, ms = mask.axisStride;
    float mx = -CUDART_INF_F;
    for (int64_t k = lane; k < n; k += kGroup) mx = fmaxf(mx, maskedValue(xr, k, mask, mb + k * ms));
    mx = groupAllReduce<kGroup>(mx, [](float a, float b) { return fmaxf(a, b); }, smax);
    double sum = 0;
    for (int64_t k = lane; k < n; k += kGroup) sum += expf(maskedValue(xr, k, mask, mb + k * ms) - mx);
    sum = groupAllReduce<kGroup>(sum, [](double a, double b) { return a + b; }, ssum);
    const double logSum = log(sum);
    const float invSum = static_cast<float>(1.0 / sum);
    for (int64_t k = lane; k < n; k += kGroup)
      storeFromFloat(yr, k, softmaxOut(maskedValue(xr, k, mask, mb + k * ms), mx, logSum, invSum, logMode));
  }
}

// One thread per (outer, inner) position of [outer, n, inner], walking the axis with stride inner (coalesced
// across inner).
template <typename T>
__global__ void softmaxColumnsKernel(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool logMode,
                                     const SoftmaxMask mask) {
  const int64_t total = outer * inner;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < total;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t base = (o / inner) * n * inner + o % inner;
    const T* xr = x + base;
    T* yr = y + base;
    const int64_t mb = mask.data ? maskOffset(mask, base) : 0, ms = mask.axisStride;
    float mx = -CUDART_INF_F;
    for (int64_t k = 0; k < n; ++k) mx = fmaxf(mx, maskedValue(xr, k * inner, mask, mb + k * ms));
    double sum = 0;
    for (int64_t k = 0; k < n; ++k) sum += expf(maskedValue(xr, k * inner, mask, mb + k * ms) - mx);
    const double logSum = log(sum);
    const float invSum = static_cast<float>(1.0 / sum);
    for (int64_t k = 0; k < n; ++k)
      storeFromFloat(yr, k * inner,
                     softmaxOut(maskedValue(xr, k * inner, mask, mb + k * ms), mx, logSum, invSum, logMode));
  }
}

}  // namespace

void launchSoftmax(ElemType type, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool logMode,
                   const SoftmaxMask& mask, int multiProcessors, cudaStream_t stream) {
  dispatchFloat(type, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = static_cast<const T*>(x);
    T* py = static_cast<T*>(y);
    if (inner == 1) {
      const int group = n <= 1024 ? kWarp : kBlock;
      const unsigned grid = rowBlocks(outer, group, multiProcessors);
      if (group == kWarp) softmaxRowsKernel<T, kWarp><<<grid, kBlock, 0, stream>>>(px, py, outer, n, logMode, mask);
      else softmaxRowsKernel<T, kBlock><<<grid, kBlock, 0, stream>>>(px, py, outer, n, logMode, mask);
    } else {
      softmaxColumnsKernel<T><<<gridFor(outer * inner, multiProcessors), kBlock, 0, stream>>>(px, py, outer, n, inner,
                                                                                            logMode, mask);
    }
    INFERRT_CUDA_CHECK(cudaGetLastError());
  });
}

}  // namespace inferrt::cudakernels
