// Reduce kernels. Semantics follow the CPU reference (backend/cpu/reduction.cc): float inputs (and integer
// inputs for l2 / log_sum / log_sum_exp) accumulate in double and round once; other integer reductions wrap in
// int64 like numpy; empty reductions give the identity; a NaN makes max/min NaN.
// Three shapes of work: rows (reduced dims trailing: a warp or block per output), columns (reduced dims in the
// middle: a block tile of inner positions x reduced slices), and a general strided walk, one thread per output.
// Long reductions with few outputs are split over blocks into partials that a finalize kernel combines.
#include <cuda_fp16.h>
#include <math_constants.h>

#include <cstdint>
#include <type_traits>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/reduction_common.cuh"

namespace inferrt::cudakernels {

using namespace reduction_detail;

namespace {

template <typename T>
struct IntLimits;
template <>
struct IntLimits<int8_t> {
  static constexpr int64_t lo = -128, hi = 127;
};
template <>
struct IntLimits<uint8_t> {
  static constexpr int64_t lo = 0, hi = 255;
};
template <>
struct IntLimits<int32_t> {
  static constexpr int64_t lo = INT32_MIN, hi = INT32_MAX;
};
template <>
struct IntLimits<int64_t> {
  static constexpr int64_t lo = INT64_MIN, hi = INT64_MAX;
};

// Integer ops that stay in int64 (the rest go through double, as on the CPU).
inline bool usesIntAcc(ElemType t, ReduceOpCode op) {
  const bool isInt = t != ElemType::F32 && t != ElemType::F16;
  return isInt && op != ReduceOpCode::L2 && op != ReduceOpCode::LogSum && op != ReduceOpCode::LogSumExp;
}

template <typename T, typename Acc>
__device__ inline Acc reduceInit(ReduceOpCode op) {
  if constexpr (std::is_same_v<Acc, double>) {
    if (op == ReduceOpCode::Prod) return 1.0;
    if (op == ReduceOpCode::Max) return -CUDART_INF;
    if (op == ReduceOpCode::Min) return CUDART_INF;
    return 0.0;
  } else {
    if (op == ReduceOpCode::Prod) return 1;
    if (op == ReduceOpCode::Max) return IntLimits<T>::lo;
    if (op == ReduceOpCode::Min) return IntLimits<T>::hi;
    return 0;
  }
}

template <typename Acc, typename T>
__device__ inline Acc loadAcc(const T* p, int64_t i) {
  if constexpr (std::is_same_v<T, __half>) return static_cast<Acc>(__half2float(p[i]));
  else return static_cast<Acc>(p[i]);
}

// Wrapping int64 arithmetic (through uint64: no signed-overflow UB).
__device__ inline int64_t wrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
__device__ inline int64_t wrapMul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}

// max/min where a NaN operand wins (the CPU's accumulator keeps the first NaN it meets).
__device__ inline double nanMax(double a, double b) { return isnan(a) ? a : isnan(b) ? b : (b > a ? b : a); }
__device__ inline double nanMin(double a, double b) { return isnan(a) ? a : isnan(b) ? b : (b < a ? b : a); }

__device__ inline double reduceStep(ReduceOpCode op, double a, double v, double shift) {
  switch (op) {
    case ReduceOpCode::Max: return nanMax(a, v);
    case ReduceOpCode::Min: return nanMin(a, v);
    case ReduceOpCode::Prod: return a * v;
    case ReduceOpCode::L1: return a + fabs(v);
    case ReduceOpCode::L2: case ReduceOpCode::SumSquare: return a + v * v;
    case ReduceOpCode::LogSumExp: return a + (isinf(shift) ? exp(v) : exp(v - shift));
    default: return a + v;  // sum, mean, log_sum
  }
}
__device__ inline int64_t reduceStep(ReduceOpCode op, int64_t a, int64_t v, double) {
  switch (op) {
    case ReduceOpCode::Max: return v > a ? v : a;
    case ReduceOpCode::Min: return v < a ? v : a;
    case ReduceOpCode::Prod: return wrapMul(a, v);
    case ReduceOpCode::L1: return wrapAdd(a, v < 0 ? wrapMul(v, -1) : v);
    case ReduceOpCode::SumSquare: return wrapAdd(a, wrapMul(v, v));
    default: return wrapAdd(a, v);  // sum, mean
  }
}

// Merges two partial accumulators of the same op.
__device__ inline double reduceCombine(ReduceOpCode op, double a, double b) {
  if (op == ReduceOpCode::Max) return nanMax(a, b);
  if (op == ReduceOpCode::Min) return nanMin(a, b);
  return op == ReduceOpCode::Prod ? a * b : a + b;
}
__device__ inline int64_t reduceCombine(ReduceOpCode op, int64_t a, int64_t b) {
  if (op == ReduceOpCode::Max) return b > a ? b : a;
  if (op == ReduceOpCode::Min) return b < a ? b : a;
  return op == ReduceOpCode::Prod ? wrapMul(a, b) : wrapAdd(a, b);
}

// Truncates toward zero and saturates (NaN -> 0), as the CPU's saturateCast.
template <typename T>
__device__ inline T saturateToInt(double v) {
  if (isnan(v)) return 0;
  if (v <= static_cast<double>(IntLimits<T>::lo)) return static_cast<T>(IntLimits<T>::lo);
  if (v >= static_cast<double>(IntLimits<T>::hi)) return static_cast<T>(IntLimits<T>::hi);
  return static_cast<T>(v);
}

// Applies the op's last step (mean, sqrt, log) and stores into the output type.
template <typename T>
__device__ inline void reduceStore(T* y, int64_t o, ReduceOpCode op, double a, int64_t count, double shift) {
  if (op == ReduceOpCode::Mean) a /= static_cast<double>(count);
  else if (op == ReduceOpCode::L2) a = sqrt(a);
  else if (op == ReduceOpCode::LogSum) a = log(a);
  else if (op == ReduceOpCode::LogSumExp) a = log(a) + (isinf(shift) ? 0.0 : shift);
  if constexpr (kIsFloatElem<T>) storeFromFloat(y, o, static_cast<float>(a));  // double -> float -> half, as the CPU
  else y[o] = saturateToInt<T>(a);
}
template <typename T>
__device__ inline void reduceStore(T* y, int64_t o, ReduceOpCode op, int64_t a, int64_t count, double) {
  if (op == ReduceOpCode::Mean) a = count ? a / count : 0;
  y[o] = static_cast<T>(a);
}

// Where a kernel's accumulators go: finalized into y, or raw into `raw` ([output][split] partials, or the
// log_sum_exp shifts when splits == 1). `shift` (log_sum_exp's per-output max) is null for other ops.
template <typename T, typename Acc>
struct ReduceSink {
  ReduceOpCode op;
  const T* x;
  T* y;
  Acc* raw;
  const Acc* shift;
  int64_t count;  // reduced elements per output
  int splits;
  __device__ double shiftOf(int64_t o) const {
    if constexpr (std::is_same_v<Acc, double>) return shift ? shift[o] : 0.0;
    else return 0.0;
  }
  __device__ void put(int64_t o, int split, Acc a) const {
    if (raw) raw[o * splits + split] = a;
    else reduceStore(y, o, op, a, count, shiftOf(o));
  }
};

template <typename T, typename Acc, int kGroup>
__global__ void reduceRowsKernel(ReduceSink<T, Acc> s, int64_t rows, int64_t chunk) {
  __shared__ Acc smem[kWarpsPerBlock];
  constexpr int kRowsPerBlock = kGroup == kWarp ? kWarpsPerBlock : 1;
  const int lane = groupLane<kGroup>();
  const int64_t begin = static_cast<int64_t>(blockIdx.y) * chunk;
  const int64_t end = begin + chunk < s.count ? begin + chunk : s.count;
  const auto f = [op = s.op](Acc a, Acc b) { return reduceCombine(op, a, b); };
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + groupSlot<kGroup>(); row < rows;
       row += static_cast<int64_t>(gridDim.x) * kRowsPerBlock) {
    const double shift = s.shiftOf(row);
    Acc acc = reduceInit<T, Acc>(s.op);
    for (int64_t r = begin + lane; r < end; r += kGroup)
      acc = reduceStep(s.op, acc, loadAcc<Acc>(s.x, row * s.count + r), shift);
    acc = groupAllReduce<kGroup>(acc, f, smem);
    if (lane == 0) s.put(row, blockIdx.y, acc);
  }
}

// Tile of bx inner positions x by reduced slices (bx * by == kBlock, both powers of two).
template <typename T, typename Acc>
__global__ void reduceColumnsKernel(ReduceSink<T, Acc> s, int64_t outer, int64_t inner, int64_t chunk, int bx) {
  __shared__ Acc tile[kBlock];
  const int by = kBlock / bx;
  const int tx = static_cast<int>(threadIdx.x) % bx, ty = static_cast<int>(threadIdx.x) / bx;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * bx + tx;
  const int64_t begin = static_cast<int64_t>(blockIdx.z) * chunk;
  const int64_t end = begin + chunk < s.count ? begin + chunk : s.count;
  for (int64_t o = blockIdx.y; o < outer; o += gridDim.y) {
    const int64_t out = o * inner + i;
    Acc acc = reduceInit<T, Acc>(s.op);
    if (i < inner) {
      const double shift = s.shiftOf(out);
      for (int64_t r = begin + ty; r < end; r += by)
        acc = reduceStep(s.op, acc, loadAcc<Acc>(s.x, (o * s.count + r) * inner + i), shift);
    }
    tile[threadIdx.x] = acc;
    __syncthreads();
    for (int h = by / 2; h > 0; h >>= 1) {
      if (ty < h) tile[threadIdx.x] = reduceCombine(s.op, tile[threadIdx.x], tile[threadIdx.x + h * bx]);
      __syncthreads();
    }
    if (ty == 0 && i < inner) s.put(out, blockIdx.z, tile[tx]);
    __syncthreads();  // the tile is rewritten by the next output row
  }
}

// One thread per output; walks the reduced dims as an odometer (innermost dim as a tight loop).
template <typename T, typename Acc>
__global__ void reduceGeneralKernel(ReduceSink<T, Acc> s, ReduceViewGeneral v, int64_t outN) {
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < outN;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t base = 0, rest = o;
    for (int d = v.keptRank - 1; d >= 0; --d) {
      base += (rest % v.keptDims[d]) * v.keptStrides[d];
      rest /= v.keptDims[d];
    }
    const double shift = s.shiftOf(o);
    Acc acc = reduceInit<T, Acc>(s.op);
    const int last = v.redRank - 1;
    const int64_t lastDim = v.redDims[last], lastStride = v.redStrides[last];
    int64_t coord[kMaxReduceDims] = {};
    const int64_t lines = v.reduced == 0 ? 0 : v.reduced / lastDim;
    for (int64_t line = 0; line < lines; ++line) {
      for (int64_t k = 0; k < lastDim; ++k) acc = reduceStep(s.op, acc, loadAcc<Acc>(s.x, base + k * lastStride), shift);
      for (int d = last - 1; d >= 0; --d) {
        base += v.redStrides[d];
        if (++coord[d] < v.redDims[d]) break;
        base -= v.redStrides[d] * v.redDims[d];
        coord[d] = 0;
      }
    }
    s.put(o, 0, acc);
  }
}

// Combines [output][split] partials: finalized into y, or raw into `out` (the log_sum_exp shifts).
template <typename T, typename Acc>
__global__ void reduceFinalizeKernel(ReduceSink<T, Acc> s, const Acc* partials, int splits, int64_t outN) {
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < outN;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    Acc a = partials[o * splits];
    for (int k = 1; k < splits; ++k) a = reduceCombine(s.op, a, partials[o * splits + k]);
    s.put(o, 0, a);
  }
}

// How one pass over a [outer, reduced, inner] view is laid out on the grid.
struct Plan3 {
  int group = kBlock;  // rows: threads per output row
  int bx = 32;         // columns: inner positions per block
  int splits = 1;
  int64_t chunk = 0;   // reduced elements per split
  unsigned gridX = 1, gridY = 1;
};

constexpr int64_t kMinChunk = 4096;  // reduced elements a split should at least cover
constexpr unsigned kMaxGridYZ = 65535;

Plan3 planView3(const ReduceView3& v, int multiProcessors) {
  Plan3 p;
  const int64_t target = static_cast<int64_t>(multiProcessors > 0 ? multiProcessors : 80) * 4;
  int64_t blocks = 0;
  if (v.inner == 1) {
    p.group = v.reduced < 512 ? kWarp : kBlock;
    p.gridX = rowBlocks(v.outer, p.group, multiProcessors);
    blocks = p.group == kWarp ? 0 : v.outer;  // warp rows are short: never split
  } else {
    while (p.bx > 1 && p.bx / 2 >= v.inner) p.bx /= 2;
    const int64_t tilesX = (v.inner + p.bx - 1) / p.bx;
    p.gridX = static_cast<unsigned>(tilesX < 0x7fffffff ? tilesX : 0x7fffffff);
    p.gridY = static_cast<unsigned>(v.outer < kMaxGridYZ ? v.outer : kMaxGridYZ);
    blocks = tilesX * v.outer;
  }
  if (blocks > 0 && blocks < target && v.reduced >= 2 * kMinChunk) {
    int64_t splits = (target + blocks - 1) / blocks;
    const int64_t most = v.reduced / kMinChunk;
    if (splits > most) splits = most;
    if (splits > kMaxGridYZ) splits = kMaxGridYZ;
    p.chunk = (v.reduced + splits - 1) / splits;
    p.splits = static_cast<int>((v.reduced + p.chunk - 1) / p.chunk);
  }
  if (p.splits == 1) p.chunk = v.reduced;
  return p;
}

constexpr size_t kAlign = 256;
size_t alignUp(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// Scratch layout: [shift: outN][partials: outN * splits], each 8-byte accumulators.
size_t scratchFor(const ReduceLaunch& a, int splits) {
  const size_t outN = static_cast<size_t>(a.outN);
  const size_t shift = a.op == ReduceOpCode::LogSumExp ? alignUp(outN * 8) : 0;
  return shift + (splits > 1 ? outN * static_cast<size_t>(splits) * 8 : 0);
}

template <typename T, typename Acc>
void runPass3(ReduceSink<T, Acc> s, const ReduceView3& v, const Plan3& p, Acc* partials, Acc* rawFinal,
              const ReduceLaunch& a) {
  s.splits = p.splits;
  s.raw = p.splits > 1 ? partials : rawFinal;
  if (v.inner == 1) {
    const dim3 grid(p.gridX, static_cast<unsigned>(p.splits));
    if (p.group == kWarp) reduceRowsKernel<T, Acc, kWarp><<<grid, kBlock, 0, a.stream>>>(s, v.outer, p.chunk);
    else reduceRowsKernel<T, Acc, kBlock><<<grid, kBlock, 0, a.stream>>>(s, v.outer, p.chunk);
  } else {
    const dim3 grid(p.gridX, p.gridY, static_cast<unsigned>(p.splits));
    reduceColumnsKernel<T, Acc><<<grid, kBlock, 0, a.stream>>>(s, v.outer, v.inner, p.chunk, p.bx);
  }
  INFERRT_CUDA_CHECK(cudaGetLastError());
  if (p.splits > 1) {
    s.raw = rawFinal;
    s.splits = 1;
    reduceFinalizeKernel<T, Acc><<<gridFor(a.outN, a.multiProcessors), kBlock, 0, a.stream>>>(s, partials, p.splits,
                                                                                             a.outN);
    INFERRT_CUDA_CHECK(cudaGetLastError());
  }
}

template <typename T, typename Acc>
void runGeneral(ReduceSink<T, Acc> s, const ReduceViewGeneral& v, Acc* rawFinal, const ReduceLaunch& a) {
  s.raw = rawFinal;
  s.splits = 1;
  reduceGeneralKernel<T, Acc><<<gridFor(a.outN, a.multiProcessors), kBlock, 0, a.stream>>>(s, v, a.outN);
  INFERRT_CUDA_CHECK(cudaGetLastError());
}

// Runs the reduction (log_sum_exp: a max pass into the shift buffer first, as the CPU does).
template <typename Pass>
void runReduce(const ReduceLaunch& a, int64_t count, void* scratch, Pass pass) {
  dispatchElem(a.type, [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto go = [&](auto accTag) {
      using Acc = typename decltype(accTag)::type;
      char* base = static_cast<char*>(scratch);
      Acc* shift = a.op == ReduceOpCode::LogSumExp ? reinterpret_cast<Acc*>(base) : nullptr;
      Acc* partials = reinterpret_cast<Acc*>(base + (shift ? alignUp(static_cast<size_t>(a.outN) * 8) : 0));
      ReduceSink<T, Acc> s{a.op, static_cast<const T*>(a.x), static_cast<T*>(a.y), nullptr, nullptr, count, 1};
      if (shift) {
        ReduceSink<T, Acc> m = s;
        m.op = ReduceOpCode::Max;
        pass(m, partials, shift);
        s.shift = shift;
      }
      pass(s, partials, static_cast<Acc*>(nullptr));
    };
    if constexpr (std::is_integral_v<T>) {
      if (usesIntAcc(a.type, a.op)) return go(ElemTag<int64_t>{});
    }
    go(ElemTag<double>{});
  });
}

}  // namespace

size_t reduceScratchBytes(const ReduceLaunch& a, const ReduceView3& v) {
  return scratchFor(a, planView3(v, a.multiProcessors).splits);
}

size_t reduceScratchBytes(const ReduceLaunch& a, const ReduceViewGeneral&) { return scratchFor(a, 1); }

void launchReduce(const ReduceLaunch& a, const ReduceView3& v, void* scratch) {
  const Plan3 p = planView3(v, a.multiProcessors);
  runReduce(a, v.reduced, scratch, [&](auto s, auto* partials, auto* rawFinal) {
    runPass3(s, v, p, partials, rawFinal, a);
  });
}

void launchReduce(const ReduceLaunch& a, const ReduceViewGeneral& v, void* scratch) {
  runReduce(a, v.reduced, scratch, [&](auto s, auto*, auto* rawFinal) {
    runGeneral(s, v, rawFinal, a);
  });
}

}  // namespace inferrt::cudakernels
