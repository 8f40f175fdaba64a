// Normalization kernels. Statistics follow the CPU reference (backend/cpu/normalization.cc): two passes in
// double (mean, then the mean of squared deviations), invStdDev = 1 / sqrt(var + eps) in double; the output
// (x - mean) * invStdDev * scale + bias is formed in float from the double statistics, rounded once.
#include <cuda_fp16.h>

#include <cstdint>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/normalization_launch.h"
#include "backend/cuda/kernels/reduction_common.cuh"

namespace inferrt::cudakernels {

using namespace reduction_detail;

namespace {

__device__ inline float paramValue(const NormParam& p, int64_t off) {
  return p.half ? __half2float(static_cast<const __half*>(p.data)[off]) : static_cast<const float*>(p.data)[off];
}

// The parameter's value for element k of row r (x seen as [rows, n]).
__device__ inline float paramFor(const NormParam& p, int64_t r, int64_t k, int64_t n) {
  switch (p.mode) {
    case NormParamMode::ByColumn: return paramValue(p, k);
    case NormParamMode::ByChannel: return paramValue(p, r % p.channels);
    case NormParamMode::General: {
      int64_t rest = r * n + k, off = 0;
      for (int d = p.rank - 1; d >= 0; --d) {
        off += (rest % p.dims[d]) * p.strides[d];
        rest /= p.dims[d];
      }
      return paramValue(p, off);
    }
    default: return p.fallback;
  }
}

// A warp or block per row.
template <typename T, int kGroup>
__global__ void rowNormKernel(RowNormLaunch a) {
  __shared__ double ssum[kWarpsPerBlock];
  constexpr int kRowsPerBlock = kGroup == kWarp ? kWarpsPerBlock : 1;
  const auto plus = [](double u, double v) { return u + v; };
  const int lane = groupLane<kGroup>();
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + groupSlot<kGroup>(); row < a.rows;
       row += static_cast<int64_t>(gridDim.x) * kRowsPerBlock) {
    const T* xr = x + row * a.n;
    double sum = 0;
    for (int64_t k = lane; k < a.n; k += kGroup) sum += loadAsFloat(xr, k);
    const double mean = groupAllReduce<kGroup>(sum, plus, ssum) / static_cast<double>(a.n);  // n == 0: NaN, as the CPU
    double sq = 0;
    for (int64_t k = lane; k < a.n; k += kGroup) {
      const double d = loadAsFloat(xr, k) - mean;
      sq += d * d;
    }
    const double var = groupAllReduce<kGroup>(sq, plus, ssum) / static_cast<double>(a.n);
    const double inv = 1.0 / sqrt(var + a.eps);
    if (lane == 0) {
      if (a.mean) a.mean[row] = static_cast<float>(mean);
      if (a.invStd) a.invStd[row] = static_cast<float>(inv);
    }
    const float invF = static_cast<float>(inv);
    for (int64_t k = lane; k < a.n; k += kGroup) {
      const float d = static_cast<float>(loadAsFloat(xr, k) - mean);
      const float v = fmaf(d * invF, paramFor(a.scale, row, k, a.n), paramFor(a.bias, row, k, a.n));
      storeFromFloat(y, row * a.n + k, v);
    }
  }
}

struct ChannelCoef {
  float mean, mul, add;  // y = (x - mean) * mul + add
};

__global__ void batchCoefKernel(BatchNormLaunch a, ChannelCoef* coef) {
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < a.channels;
       c += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const double inv = 1.0 / sqrt(static_cast<double>(paramFor(a.var, 0, c, 0)) + a.eps);
    coef[c] = {paramFor(a.mean, 0, c, 0), static_cast<float>(inv * paramFor(a.scale, 0, c, 0)),
               paramFor(a.bias, 0, c, 0)};
  }
}

// Elementwise; I is uint32_t when the tensor allows it (cheaper channel arithmetic).
template <typename T, typename I>
__global__ void batchNormKernel(const T* x, T* y, const ChannelCoef* coef, I total, I channels, I spatial) {
  for (I i = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += static_cast<I>(gridDim.x) * blockDim.x) {
    const ChannelCoef c = coef[(i / spatial) % channels];
    storeFromFloat(y, i, fmaf(loadAsFloat(x, i) - c.mean, c.mul, c.add));
  }
}

}  // namespace

void launchRowNorm(const RowNormLaunch& a) {
  if (a.rows <= 0) return;
  dispatchFloat(a.half ? ElemType::F16 : ElemType::F32, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int group = a.n <= 1024 ? kWarp : kBlock;
    const unsigned grid = rowBlocks(a.rows, group, a.multiProcessors);
    if (group == kWarp) rowNormKernel<T, kWarp><<<grid, kBlock, 0, a.stream>>>(a);
    else rowNormKernel<T, kBlock><<<grid, kBlock, 0, a.stream>>>(a);
    INFERRT_CUDA_CHECK(cudaGetLastError());
  });
}

size_t batchNormScratchBytes(int64_t channels) { return static_cast<size_t>(channels) * sizeof(ChannelCoef); }

void launchBatchNorm(const BatchNormLaunch& a) {
  const int64_t total = a.batch * a.channels * a.spatial;
  if (total <= 0) return;
  ChannelCoef* coef = static_cast<ChannelCoef*>(a.scratch);
  batchCoefKernel<<<gridFor(a.channels, a.multiProcessors), kBlock, 0, a.stream>>>(a, coef);
  INFERRT_CUDA_CHECK(cudaGetLastError());
  dispatchFloat(a.half ? ElemType::F16 : ElemType::F32, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = static_cast<const T*>(a.x);
    T* y = static_cast<T*>(a.y);
    const unsigned grid = gridFor(total, a.multiProcessors);
    if (total <= 0x7fffffff)  // i + stride stays below 2^32
      batchNormKernel<T, uint32_t><<<grid, kBlock, 0, a.stream>>>(
          x, y, coef, static_cast<uint32_t>(total), static_cast<uint32_t>(a.channels), static_cast<uint32_t>(a.spatial));
    else
      batchNormKernel<T, int64_t><<<grid, kBlock, 0, a.stream>>>(x, y, coef, total, a.channels, a.spatial);
    INFERRT_CUDA_CHECK(cudaGetLastError());
  });
}

}  // namespace inferrt::cudakernels
