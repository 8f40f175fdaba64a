// Softmax / LogSoftmax kernels, the CPU reference's three passes: the row max (fmax: NaNs are skipped here but
// poison the sum below, so a row holding a NaN comes out all NaN), the sum of exp(x - max) accumulated in double,
// then the outputs. Log mode forms x - max - log(sum) in double: results near 0 keep their precision. A fused
// additive mask (SoftmaxMask) is added to every x in fp32 as it is read, as the unfused Add did: each row finds
// its mask offset once from its first element's flat index, then steps by the mask's stride along the axis.
//
// Fast path (softmaxWarpRegsKernel: last axis, n <= 4096): a warp per row holding the row in registers, so x and
// the mask are read once and y written once. Same special cases as above (fmaxf skips NaN; a NaN, a +inf or an
// all -inf row makes the sum NaN, so the whole row comes out NaN); the sum of exp is accumulated in fp32.
#include <cuda_fp16.h>
#include <math_constants.h>

#include <cstdint>
#include <cstring>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/reduction_common.cuh"
#include "backend/cuda/kernels/vector_access.cuh"

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

// ---- Fast path: a warp per row, the row in registers ----

// Elements per vector access of the fast path: 4 (8-byte fp16 / 16-byte fp32 loads) when the row allows, else 1.
constexpr int kSoftmaxVec = 4;
// Longest row of the fast path.
constexpr int64_t kSoftmaxRegsMaxN = 4096;


// v[j] += mask[j0 + j * ms]; `vec`: ms == 1 and mask + j0 aligned to V elements (uniform across the warp).
template <int V>
__device__ inline void addMaskVec(float (&v)[V], const SoftmaxMask& m, int64_t j0, int64_t ms, bool vec) {
  float mv[V];
  if (m.half) {
    const __half* p = static_cast<const __half*>(m.data);
    if (vec) {
      loadVecF<V>(p + j0, mv);
    } else {
#pragma unroll
      for (int j = 0; j < V; ++j) mv[j] = __half2float(p[j0 + j * ms]);
    }
  } else {
    const float* p = static_cast<const float*>(m.data);
    if (vec) {
      loadVecF<V>(p + j0, mv);
    } else {
#pragma unroll
      for (int j = 0; j < V; ++j) mv[j] = p[j0 + j * ms];
    }
  }
#pragma unroll
  for (int j = 0; j < V; ++j) v[j] += mv[j];
}

// A warp per row of [rows, n]; lane l holds elements (c * 32 + l) * V + j for c < kChunks, j < V (coalesced
// vectors). V > 1 needs n % V == 0 and x, y aligned to V elements. n <= kChunks * 32 * V. Several rows (warps)
// per block, grid-stride over rows.
template <typename T, int V, int kChunks>
__global__ void __launch_bounds__(kBlock) softmaxWarpRegsKernel(const T* x, T* y, int64_t rows, int n, bool logMode,
                                                                const SoftmaxMask mask) {
  const int lane = static_cast<int>(threadIdx.x) % kWarp;
  const int64_t rowsPerBlock = blockDim.x / kWarp;
  const auto maxOp = [](float a, float b) { return fmaxf(a, b); };
  const auto plus = [](float a, float b) { return a + b; };
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * rowsPerBlock + threadIdx.x / kWarp; row < rows;
       row += static_cast<int64_t>(gridDim.x) * rowsPerBlock) {
    const T* xr = x + row * n;
    T* yr = y + row * n;
    int64_t mb = 0;
    const int64_t ms = mask.axisStride;
    bool mvec = false;
    if (mask.data) {
      mb = maskOffset(mask, row * n);
      const size_t es = mask.half ? sizeof(__half) : sizeof(float);
      mvec = V > 1 && ms == 1 &&
             (reinterpret_cast<uintptr_t>(mask.data) + static_cast<uintptr_t>(mb) * es) % (V * es) == 0;
    }
    float v[kChunks][V] = {};
    float mx = -CUDART_INF_F;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int k0 = (c * kWarp + lane) * V;
      if (k0 < n) {
        loadVecF<V>(xr + k0, v[c]);
        if (mask.data) addMaskVec<V>(v[c], mask, mb + k0 * ms, ms, mvec);
#pragma unroll
        for (int j = 0; j < V; ++j) mx = fmaxf(mx, v[c][j]);
      }
    }
    mx = groupAllReduce<kWarp>(mx, maxOp, static_cast<float*>(nullptr));
    float sum = 0;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      if ((c * kWarp + lane) * V < n) {
#pragma unroll
        for (int j = 0; j < V; ++j) {
          const float e = expf(v[c][j] - mx);
          sum += e;
          if (!logMode) v[c][j] = e;
        }
      }
    }
    sum = groupAllReduce<kWarp>(sum, plus, static_cast<float*>(nullptr));
    if (logMode) {
      const double shift = static_cast<double>(mx) + log(static_cast<double>(sum));
#pragma unroll
      for (int c = 0; c < kChunks; ++c)
#pragma unroll
        for (int j = 0; j < V; ++j) v[c][j] = static_cast<float>(static_cast<double>(v[c][j]) - shift);
    } else {
      const float invSum = 1.0f / sum;
#pragma unroll
      for (int c = 0; c < kChunks; ++c)
#pragma unroll
        for (int j = 0; j < V; ++j) v[c][j] *= invSum;
    }
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int k0 = (c * kWarp + lane) * V;
      if (k0 < n) storeVecF<V>(yr + k0, v[c]);
    }
  }
}

// Warps (rows) per block for `rows` rows: 8, unless fewer blocks would leave SMs idle (small batches).
inline int warpRowsPerBlock(int64_t rows, int multiProcessors) {
  const int64_t sms = multiProcessors > 0 ? multiProcessors : 80;
  int w = kWarpsPerBlock;
  while (w > 1 && (rows + w - 1) / w < sms) w /= 2;
  return w;
}

template <typename T, int V, int kChunks>
void launchSoftmaxRegs(const T* x, T* y, int64_t rows, int64_t n, bool logMode, const SoftmaxMask& mask,
                       int multiProcessors, cudaStream_t stream) {
  const int w = warpRowsPerBlock(rows, multiProcessors);
  const int64_t cap = static_cast<int64_t>(multiProcessors > 0 ? multiProcessors : 80) * 32;
  const int64_t blocks = (rows + w - 1) / w;
  const unsigned grid = static_cast<unsigned>(blocks > cap ? cap : blocks);
  softmaxWarpRegsKernel<T, V, kChunks>
      <<<grid, w * kWarp, 0, stream>>>(x, y, rows, static_cast<int>(n), logMode, mask);
}

// Runs the fast path for [rows, n] rows when it applies (n <= 4096; n % 4 != 0 or unaligned x / y: n <= 1024).
template <typename T>
bool softmaxRegs(const T* x, T* y, int64_t rows, int64_t n, bool logMode, const SoftmaxMask& mask,
                 int multiProcessors, cudaStream_t stream) {
  if (n < 1 || n > kSoftmaxRegsMaxN) return false;
  constexpr uintptr_t align = kSoftmaxVec * sizeof(T);
  const bool vec = n % kSoftmaxVec == 0 && reinterpret_cast<uintptr_t>(x) % align == 0 &&
                   reinterpret_cast<uintptr_t>(y) % align == 0;
  const int64_t per = vec ? kWarp * kSoftmaxVec : kWarp;  // elements per chunk (one per lane-vector)
  const int64_t chunks = (n + per - 1) / per;
#define INFERRT_SOFTMAX_REGS(C)                                                                              \
  if (chunks <= (C)) {                                                                                       \
    if (vec) launchSoftmaxRegs<T, kSoftmaxVec, (C)>(x, y, rows, n, logMode, mask, multiProcessors, stream); \
    else launchSoftmaxRegs<T, 1, (C)>(x, y, rows, n, logMode, mask, multiProcessors, stream);              \
    return true;                                                                                             \
  }
  INFERRT_SOFTMAX_REGS(1)
  INFERRT_SOFTMAX_REGS(2)
  INFERRT_SOFTMAX_REGS(3)
  INFERRT_SOFTMAX_REGS(4)
  INFERRT_SOFTMAX_REGS(6)
  INFERRT_SOFTMAX_REGS(8)
  INFERRT_SOFTMAX_REGS(12)
  INFERRT_SOFTMAX_REGS(16)
  INFERRT_SOFTMAX_REGS(24)
  INFERRT_SOFTMAX_REGS(32)
#undef INFERRT_SOFTMAX_REGS
  return false;  // unvectorized rows above 1024
}

}  // namespace

void launchSoftmax(ElemType type, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool logMode,
                   const SoftmaxMask& mask, int multiProcessors, cudaStream_t stream) {
  dispatchFloat(type, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = static_cast<const T*>(x);
    T* py = static_cast<T*>(y);
    if (inner == 1 && softmaxRegs<T>(px, py, outer, n, logMode, mask, multiProcessors, stream)) {
      // launched the register fast path (last axis, n <= 4096)
    } else if (inner == 1) {
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
