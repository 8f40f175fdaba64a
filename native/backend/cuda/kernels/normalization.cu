// Normalization kernels. Statistics follow the CPU reference (backend/cpu/normalization.cc): two passes in
// double (mean, then the mean of squared deviations), invStdDev = 1 / sqrt(var + eps) in double; the output
// (x - mean) * invStdDev * scale + bias is formed in float from the double statistics, rounded once. The fast
// path below takes fp16 rows' statistics in float instead, so an fp16 row may round one ulp differently there.
//
// Rows of at most 4096 elements (layer and instance modes) take rowNormRegsKernel: a warp per row holding the
// row in registers, so x is read once and y written once; same two passes and output formula as rowNormKernel,
// with the statistics in double for float32 rows and in float for float16 rows. A float16 row's statistics in
// float differ from double's by a few 2^-24 relative, which moved an fp16 output by one ulp in 920 to 1,219 of
// 15.5 M (BERT-large rows, harness runs); double arithmetic there (dependent adds, 64-bit shuffles, a double sqrt
// and divide per row) made the kernel latency-bound at half the memory bandwidth (BERT-large's 15,172 x 1024 skip
// layernorm on an H200, in a standalone harness: 48 us with double statistics, 26 us for a bare kernel with float
// ones).
//
// Layer mode's optional skip (a fused residual Add) is read like x and added in fp32; the sum is rounded to the
// storage type (what the unfused Add would have stored) before the statistics. A null skip costs one uniform branch.
// The SkipLayerNorm plugin (skipSumFp32) instead keeps (x + skip) + skipBias in fp32, as its CPU reference does.
#include <cuda_fp16.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/int8_quantize.cuh"
#include "backend/cuda/kernels/normalization_launch.h"
#include "backend/cuda/kernels/reduction_common.cuh"
#include "backend/cuda/kernels/vector_access.cuh"

namespace inferrt::cudakernels {

using namespace reduction_detail;

namespace {

// A Mean / InvStdDev output element: float32, or float16 where an fp16 layer stores its float32 outputs.
__device__ inline void storeStatistic(void* p, bool half, int64_t row, float v) {
  if (!p) return;
  if (half) static_cast<__half*>(p)[row] = __float2half_rn(v);
  else static_cast<float*>(p)[row] = v;
}

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

// v rounded to T's precision, as storing it in a T and reading it back gives.
template <typename T>
__device__ inline float roundToStorage(float v) {
  return v;
}
template <>
__device__ inline float roundToStorage<__half>(float v) {
  return __half2float(__float2half_rn(v));
}

// x + skip as the layer normalizes it: rounded to T (the fused Add's stored sum), or for SkipLayerNorm
// (a.skipSumFp32) kept in fp32 with its bias added (`bias`: skipBias[k], 0 without one).
template <typename T>
__device__ inline float skipSum(const RowNormLaunch& a, float x, float skip, float bias) {
  const float s = __fadd_rn(x, skip);
  return a.skipSumFp32 ? __fadd_rn(s, bias) : roundToStorage<T>(s);
}

// Element k of the row being normalized: x[k], or with a skip x[k] + skip[k] (skipSum).
template <typename T>
__device__ inline float loadInput(const RowNormLaunch& a, const T* x, const T* skip, int64_t k) {
  const float v = loadAsFloat(x, k);
  if (!skip) return v;
  const T* bias = static_cast<const T*>(a.skipBias);
  return skipSum<T>(a, v, loadAsFloat(skip, k), bias ? loadAsFloat(bias, k) : 0.0f);
}

// A warp or block per row.
template <typename T, int kGroup>
__global__ void rowNormKernel(RowNormLaunch a) {
  __shared__ double ssum[kWarpsPerBlock];
  constexpr int kRowsPerBlock = kGroup == kWarp ? kWarpsPerBlock : 1;
  const auto plus = [](double u, double v) { return u + v; };
  const int lane = groupLane<kGroup>();
  const T* x = static_cast<const T*>(a.x);
  const T* skip = static_cast<const T*>(a.skip);
  T* y = static_cast<T*>(a.y);
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + groupSlot<kGroup>(); row < a.rows;
       row += static_cast<int64_t>(gridDim.x) * kRowsPerBlock) {
    const T* xr = x + row * a.n;
    const T* sr = skip ? skip + row * a.n : nullptr;
    double sum = 0;
    for (int64_t k = lane; k < a.n; k += kGroup) sum += loadInput(a, xr, sr, k);
    const double mean = groupAllReduce<kGroup>(sum, plus, ssum) / static_cast<double>(a.n);  // n == 0: NaN, as the CPU
    double sq = 0;
    for (int64_t k = lane; k < a.n; k += kGroup) {
      const double d = loadInput(a, xr, sr, k) - mean;
      sq += d * d;
    }
    const double var = groupAllReduce<kGroup>(sq, plus, ssum) / static_cast<double>(a.n);
    const double inv = 1.0 / sqrt(var + a.eps);
    if (lane == 0) {
      storeStatistic(a.mean, a.statsHalf, row, static_cast<float>(mean));
      storeStatistic(a.invStd, a.statsHalf, row, static_cast<float>(inv));
    }
    const float invF = static_cast<float>(inv);
    for (int64_t k = lane; k < a.n; k += kGroup) {
      const float d = static_cast<float>(loadInput(a, xr, sr, k) - mean);
      const float v = fmaf(d * invF, paramFor(a.scale, row, k, a.n), paramFor(a.bias, row, k, a.n));
      storeFromFloat(y, row * a.n + k, v);
      if (a.q) a.q[row * a.n + k] = quantizeDivided(roundToStorage<T>(v), a.qScale);
    }
  }
}

// ---- Fast path: a warp per row, the row in registers ----

// How the fast path writes int8 values (output_scale): not at all, multiplying by a.qReciprocal, or dividing by
// a.qScale (QuantizeLinear's arithmetic; the multiply gives the same values where the host allowed it).
enum class Int8Store { None, Multiply, Divide };

// The int8 values of V >= 4 outputs as T stores them, packed into 4-byte words as they are formed and stored in one
// access (p aligned to V bytes).
template <typename T, int V, Int8Store kStore>
__device__ inline void storeInt8Vec(const RowNormLaunch& a, int8_t* p, const float (&v)[V]) {
  static_assert(V == 4 || V == 8, "whole 4-byte words");
  uint32_t w[V / 4] = {};
#pragma unroll
  for (int j = 0; j < V; ++j) {
    const float x = roundToStorage<T>(v[j]);
    const int8_t q =
        kStore == Int8Store::Multiply ? quantizeMultiplied(x, a.qReciprocal) : quantizeDivided(x, a.qScale);
    w[j / 4] |= static_cast<uint32_t>(static_cast<uint8_t>(q)) << (8 * (j % 4));
  }
  if constexpr (V == 8) *reinterpret_cast<uint2*>(p) = make_uint2(w[0], w[1]);
  else *reinterpret_cast<uint32_t*>(p) = w[0];
}

// Elements per vector access of the fast path when the row allows (else 1): 8 for fp16 (16-byte accesses), 4 for
// fp32 (16 bytes).
template <typename T>
constexpr int kNormVec = sizeof(T) == 2 ? 8 : 4;
constexpr int64_t kNormRegsMaxN = 4096;


// The fast path's parameters: Absent, ByColumn or ByChannel (General takes rowNormKernel).
__device__ inline float paramRowValue(const NormParam& p, int64_t r) {
  return p.mode == NormParamMode::ByChannel ? paramValue(p, r % p.channels) : p.fallback;
}

// The parameter's values for elements k0 .. k0 + V - 1 of a row (k0 a multiple of V): data[k] for ByColumn,
// else the row's value rowValue (paramRowValue).
template <int V>
__device__ inline void paramVec(const NormParam& p, int64_t k0, float rowValue, float (&o)[V]) {
  if (p.mode != NormParamMode::ByColumn) {
#pragma unroll
    for (int j = 0; j < V; ++j) o[j] = rowValue;
    return;
  }
  const size_t es = p.half ? sizeof(__half) : sizeof(float);
  const bool vec = V > 1 && reinterpret_cast<uintptr_t>(p.data) % (V * es) == 0;
  if (p.half) {
    const __half* d = static_cast<const __half*>(p.data) + k0;
    if (vec) {
      loadVecF<V>(d, o);
    } else {
#pragma unroll
      for (int j = 0; j < V; ++j) o[j] = __half2float(d[j]);
    }
  } else {
    const float* d = static_cast<const float*>(p.data) + k0;
    if (vec) {
      loadVecF<V>(d, o);
    } else {
#pragma unroll
      for (int j = 0; j < V; ++j) o[j] = d[j];
    }
  }
}

// A warp per row of [rows, n]; lane l holds elements (c * 32 + l) * V + j for c < kChunks, j < V. V > 1 needs
// n % V == 0 and x, skip, skipBias, y aligned to V elements; 1 <= n <= kChunks * 32 * V; scale / bias not General.
// Several rows (warps) per block. Rows of up to 32 elements per lane have every load (x, then skip, then its bias)
// issued before the first sum, under uniform branches only, so a warp has all of its row in flight at once; longer
// rows load chunk by chunk (holding skip too would spill).
// The lane's chunks of one row of n elements (chunks past n left as they are).
template <typename T, int V, int kChunks>
__device__ inline void loadRowChunks(const T* row, int n, int lane, float (&o)[kChunks][V]) {
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int k0 = (c * kWarp + lane) * V;
    if (k0 < n) loadVecF<V>(row + k0, o[c]);
  }
}

// V elements of T in registers as loaded (one 16-byte access for V * sizeof(T) == 16).
template <typename T, int V>
struct alignas(V * sizeof(T)) RawVec {
  T e[V];
};
template <typename T, int V, int kChunks>
__device__ inline void loadRawChunks(const T* row, int n, int lane, RawVec<T, V> (&o)[kChunks]) {
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int k0 = (c * kWarp + lane) * V;
    if (k0 < n) o[c] = *reinterpret_cast<const RawVec<T, V>*>(row + k0);
  }
}

// The lane's chunks of x + skip (+ skipBias with kBias), summed as skipSum does. skip and the bias are held as
// loaded (fp16: half the registers of floats: 3 blocks per SM instead of 2), and every load is issued before the
// first add: a bias loaded in a branch after the skip adds cost a second memory latency per row.
template <typename T, int V, int kChunks, bool kBias>
__device__ inline void loadSkipSum(const RowNormLaunch& a, const T* xr, const T* sr, int n, int lane,
                                   float (&v)[kChunks][V]) {
  RawVec<T, V> s[kChunks] = {}, b[kBias ? kChunks : 1] = {};
  loadRowChunks<T, V, kChunks>(xr, n, lane, v);
  loadRawChunks<T, V, kChunks>(sr, n, lane, s);
  if constexpr (kBias) loadRawChunks<T, V, kChunks>(static_cast<const T*>(a.skipBias), n, lane, b);
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
#pragma unroll
    for (int j = 0; j < V; ++j) {
      const float sum = __fadd_rn(v[c][j], loadAsFloat(s[c].e, j));
      // skipSum's two forms: SkipLayerNorm keeps (x + skip) + bias in fp32, the fused Add rounds x + skip to T.
      if constexpr (kBias) v[c][j] = __fadd_rn(sum, loadAsFloat(b[c].e, j));
      else v[c][j] = a.skipSumFp32 ? sum : roundToStorage<T>(sum);
    }
  }
}

// Vectorized fp16 rows of up to 1024 elements (BERT's hidden sizes) are capped at 85 registers for 3 blocks per SM
// (no spills; also when multiplying for int8 values). Dividing for them spilled under that cap: 2 blocks. The others
// keep the compiler's choice (the cap spills fp32 and wide rows).
template <typename T, int V, int kChunks, Int8Store kStore>
constexpr int kRowNormMinBlocks =
    sizeof(T) == 2 && V > 1 && kChunks * V <= 32 ? (kStore == Int8Store::Divide ? 2 : 3) : 1;

// kStore: also writes a.q (vectorized rows only: V >= 4); separate instantiations keep the plain kernel's registers.
template <typename T, int V, int kChunks, Int8Store kStore>
__global__ void __launch_bounds__(kBlock, (kRowNormMinBlocks<T, V, kChunks, kStore>))
    rowNormRegsKernel(RowNormLaunch a) {
  using Acc = std::conditional_t<sizeof(T) == 2, float, double>;  // the statistics' type (see the file comment)
  const auto plus = [](Acc u, Acc v) { return u + v; };
  const int lane = static_cast<int>(threadIdx.x) % kWarp;
  const int64_t rowsPerBlock = blockDim.x / kWarp;
  const int n = static_cast<int>(a.n);
  const T* x = static_cast<const T*>(a.x);
  const T* skip = static_cast<const T*>(a.skip);
  T* y = static_cast<T*>(a.y);
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * rowsPerBlock + threadIdx.x / kWarp; row < a.rows;
       row += static_cast<int64_t>(gridDim.x) * rowsPerBlock) {
    const T* xr = x + row * n;
    T* yr = y + row * n;
    float v[kChunks][V] = {};
    if constexpr (kChunks * V <= 32) {
      // One branch per input set, each issuing all of its loads before the first use.
      const T* sr = skip ? skip + row * n : nullptr;
      if (sr && a.skipSumFp32 && a.skipBias) loadSkipSum<T, V, kChunks, true>(a, xr, sr, n, lane, v);
      else if (sr) loadSkipSum<T, V, kChunks, false>(a, xr, sr, n, lane, v);
      else loadRowChunks<T, V, kChunks>(xr, n, lane, v);
    } else {
#pragma unroll
      for (int c = 0; c < kChunks; ++c) {
        const int k0 = (c * kWarp + lane) * V;
        if (k0 < n) {
          loadVecF<V>(xr + k0, v[c]);
          if (skip) {
            float s[V], b[V] = {};
            loadVecF<V>(skip + row * n + k0, s);
            if (a.skipBias) loadVecF<V>(static_cast<const T*>(a.skipBias) + k0, b);
#pragma unroll
            for (int j = 0; j < V; ++j) v[c][j] = skipSum<T>(a, v[c][j], s[j], b[j]);
          }
        }
      }
    }
    Acc sum = 0;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      if ((c * kWarp + lane) * V < n) {
#pragma unroll
        for (int j = 0; j < V; ++j) sum += v[c][j];
      }
    }
    const Acc mean = groupAllReduce<kWarp>(sum, plus, static_cast<Acc*>(nullptr)) / static_cast<Acc>(n);
    Acc sq = 0;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      if ((c * kWarp + lane) * V < n) {
#pragma unroll
        for (int j = 0; j < V; ++j) {
          const Acc d = v[c][j] - mean;
          sq += d * d;
        }
      }
    }
    const Acc var = groupAllReduce<kWarp>(sq, plus, static_cast<Acc*>(nullptr)) / static_cast<Acc>(n);
    const Acc inv = Acc(1) / sqrt(var + static_cast<Acc>(a.eps));
    if (lane == 0) {
      storeStatistic(a.mean, a.statsHalf, row, static_cast<float>(mean));
      storeStatistic(a.invStd, a.statsHalf, row, static_cast<float>(inv));
    }
    const float invF = static_cast<float>(inv);
    const float sRow = paramRowValue(a.scale, row), bRow = paramRowValue(a.bias, row);
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int k0 = (c * kWarp + lane) * V;
      if (k0 < n) {
        float s[V], b[V];
        paramVec<V>(a.scale, k0, sRow, s);
        paramVec<V>(a.bias, k0, bRow, b);
#pragma unroll
        for (int j = 0; j < V; ++j) {
          const float d = static_cast<float>(v[c][j] - mean);
          v[c][j] = fmaf(d * invF, s[j], b[j]);
        }
        storeVecF<V>(yr + k0, v[c]);
        if constexpr (kStore != Int8Store::None) storeInt8Vec<T, V, kStore>(a, a.q + row * n + k0, v[c]);
      }
    }
  }
}

template <typename T, int V, int kChunks>
void launchRowNormRegs(const RowNormLaunch& a) {
  // 8 rows (warps) per block, fewer when that would leave SMs idle (a batch-1 transformer has few rows).
  const int64_t sms = a.multiProcessors > 0 ? a.multiProcessors : 80;
  int w = kWarpsPerBlock;
  while (w > 1 && (a.rows + w - 1) / w < sms) w /= 2;
  const int64_t blocks = (a.rows + w - 1) / w, cap = sms * 32;
  const unsigned grid = static_cast<unsigned>(blocks > cap ? cap : blocks);
  if constexpr (V >= 4) {
    if (a.q && a.qReciprocal > 0 && sizeof(T) == 2)
      return rowNormRegsKernel<T, V, kChunks, Int8Store::Multiply><<<grid, w * kWarp, 0, a.stream>>>(a);
    if (a.q) return rowNormRegsKernel<T, V, kChunks, Int8Store::Divide><<<grid, w * kWarp, 0, a.stream>>>(a);
  }
  rowNormRegsKernel<T, V, kChunks, Int8Store::None><<<grid, w * kWarp, 0, a.stream>>>(a);
}

// Launches the fast path when it applies (1 <= n <= 4096; n % kNormVec != 0 or unaligned x / skip / skipBias / y /
// q: n <= 1024; no General scale / bias).
template <typename T>
bool rowNormRegs(const RowNormLaunch& a) {
  if (a.n < 1 || a.n > kNormRegsMaxN) return false;
  if (a.scale.mode == NormParamMode::General || a.bias.mode == NormParamMode::General) return false;
  constexpr int kVec = kNormVec<T>;
  constexpr uintptr_t align = kVec * sizeof(T);
  const bool vec = a.n % kVec == 0 && reinterpret_cast<uintptr_t>(a.x) % align == 0 &&
                   reinterpret_cast<uintptr_t>(a.skip) % align == 0 && reinterpret_cast<uintptr_t>(a.y) % align == 0 &&
                   reinterpret_cast<uintptr_t>(a.skipBias) % align == 0 && reinterpret_cast<uintptr_t>(a.q) % kVec == 0;
  if (a.q && !vec) return false;  // rowNormKernel writes unvectorized int8 values
  const int64_t per = vec ? kWarp * kVec : kWarp;  // elements per chunk
  const int64_t chunks = (a.n + per - 1) / per;
#define INFERRT_ROWNORM_REGS(C)                                 \
  if (chunks <= (C)) {                                          \
    if (vec) launchRowNormRegs<T, kVec, (C)>(a);                \
    else launchRowNormRegs<T, 1, (C)>(a);                       \
    return true;                                                \
  }
  INFERRT_ROWNORM_REGS(1)
  INFERRT_ROWNORM_REGS(2)
  INFERRT_ROWNORM_REGS(3)
  INFERRT_ROWNORM_REGS(4)
  INFERRT_ROWNORM_REGS(6)
  INFERRT_ROWNORM_REGS(8)
  INFERRT_ROWNORM_REGS(12)
  INFERRT_ROWNORM_REGS(16)
  INFERRT_ROWNORM_REGS(24)
  INFERRT_ROWNORM_REGS(32)
#undef INFERRT_ROWNORM_REGS
  return false;  // unvectorized rows above 1024
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
    if (rowNormRegs<T>(a)) {
      INFERRT_CUDA_CHECK(cudaGetLastError());
      return;
    }
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
