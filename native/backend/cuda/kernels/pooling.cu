// Pooling kernels, with the CPU kernel's exact rules: max skips padding (and NaN never wins, as `v > best`);
// average sums in double and divides by the taps inside the input, or with count_include_pad by the taps inside
// the input plus its explicit pads (not the ceil_mode overhang); an fp16 result is rounded once from fp32.
// NCHW and NHWC (channels_last) layouts; the windowed kernel sums taps in the same order in both.
#include <cfloat>
#include <type_traits>

#include "backend/cuda/kernels/int8_quantize.cuh"
#include "backend/cuda/kernels/kernel_support.cuh"
#include "backend/cuda/kernels/pooling_launch.h"

namespace inferrt::cudakernels {

namespace {

// How max pooling compares: floats in fp32 (fp16 widens exactly), integers in their own type.
template <typename T>
struct MaxOf {
  using Value = T;
  __device__ static Value load(const T* p, int64_t i) { return p[i]; }
  __device__ static void store(T* p, int64_t i, Value v) { p[i] = v; }
};
template <>
struct MaxOf<__half> {
  using Value = float;
  __device__ static Value load(const __half* p, int64_t i) { return __half2float(p[i]); }
  __device__ static void store(__half* p, int64_t i, Value v) { p[i] = __float2half_rn(v); }
};

template <typename V>
__device__ V lowestOf();
template <>
__device__ float lowestOf<float>() { return -INFINITY; }
template <>
__device__ int8_t lowestOf<int8_t>() { return INT8_MIN; }
template <>
__device__ uint8_t lowestOf<uint8_t>() { return 0; }
template <>
__device__ int32_t lowestOf<int32_t>() { return INT32_MIN; }
template <>
__device__ int64_t lowestOf<int64_t>() { return INT64_MIN; }

// kNhwc: element i is (plane, position, channel) with the channel innermost; the input position `at` of a tap
// is then at xp[at * channels]. NCHW: (plane, position), channels unused. Index: int32_t when every index and
// offset fits (the launcher checks), as 64-bit divisions cost several times more than 32-bit ones.
template <typename T, bool kMax, bool kNhwc, typename Index>
__global__ void poolKernel(const T* __restrict__ x, T* __restrict__ y, PoolGeometry g, Index numel, bool countPad) {
  using M = MaxOf<T>;
  const Index in[3] = {static_cast<Index>(g.in[0]), static_cast<Index>(g.in[1]), static_cast<Index>(g.in[2])};
  const Index out[3] = {static_cast<Index>(g.out[0]), static_cast<Index>(g.out[1]), static_cast<Index>(g.out[2])};
  const Index outSize = out[0] * out[1] * out[2], inSize = in[0] * in[1] * in[2];
  const Index step = kNhwc ? static_cast<Index>(g.channels) : 1;
  for (Index i = blockIdx.x * static_cast<Index>(blockDim.x) + threadIdx.x; i < numel;
       i += static_cast<Index>(gridDim.x) * blockDim.x) {
    const Index c = kNhwc ? i % step : 0, rest = kNhwc ? i / step : i;
    const Index plane = rest / outSize, o = rest % outSize;
    const Index ow = o % out[2], oh = (o / out[2]) % out[1], od = o / (out[2] * out[1]);
    const Index start[3] = {od * static_cast<Index>(g.stride[0]) - static_cast<Index>(g.padBegin[0]),
                            oh * static_cast<Index>(g.stride[1]) - static_cast<Index>(g.padBegin[1]),
                            ow * static_cast<Index>(g.stride[2]) - static_cast<Index>(g.padBegin[2])};
    const T* xp = x + static_cast<int64_t>(plane) * inSize * step + c;
    typename M::Value best = lowestOf<typename M::Value>();
    double sum = 0;
    int64_t valid = 0;
    for (Index kd = 0; kd < g.kernel[0]; ++kd) {
      const Index id = start[0] + kd * static_cast<Index>(g.dilation[0]);
      if (id < 0 || id >= in[0]) continue;
      for (Index kh = 0; kh < g.kernel[1]; ++kh) {
        const Index ih = start[1] + kh * static_cast<Index>(g.dilation[1]);
        if (ih < 0 || ih >= in[1]) continue;
        for (Index kw = 0; kw < g.kernel[2]; ++kw) {
          const Index iw = start[2] + kw * static_cast<Index>(g.dilation[2]);
          if (iw < 0 || iw >= in[2]) continue;
          const Index at = ((id * in[1] + ih) * in[2] + iw) * step;
          if constexpr (kMax) {
            const typename M::Value v = M::load(xp, at);
            if (v > best) best = v;
          } else {
            sum += static_cast<double>(loadAsFloat(xp, at));
            ++valid;
          }
        }
      }
    }
    if constexpr (kMax) {
      M::store(y, i, best);
      continue;
    }
    int64_t count = valid;
    if (countPad) {  // taps inside the input or its explicit pads, per dim, multiplied
      count = 1;
      for (int d = 0; d < 3; ++d) {
        int64_t inPad = 0;
        for (int64_t k = 0; k < g.kernel[d]; ++k) {
          const int64_t p = start[d] + k * g.dilation[d];
          inPad += p >= -g.padBegin[d] && p < g.in[d] + g.padEnd[d];
        }
        count *= inPad;
      }
    }
    storeFromFloat(y, i, static_cast<float>(sum / static_cast<double>(count)));
  }
}

// Where the vector kernel puts each 16-byte vector of maxima: as they are, or (fp16) as their 8 int8 values, as a
// one-scale QuantizeLinear of the maxima would write them (multiplying by r > 0, else dividing by s).
struct StoreVector {
  uint4* y;
  __device__ void operator()(int32_t i, uint4 maxima) const { y[i] = maxima; }
};
struct StoreQuantizedHalf8 {
  uint2* y;
  float r, s;
  __device__ void operator()(int32_t i, uint4 maxima) const { y[i] = quantizeHalf8(maxima, r, s); }
};

// NHWC max pooling with kVec = 16 / sizeof(T) consecutive channels per thread, one 16-byte load per tap: the
// generic kernel's comparisons (fp16 widened to fp32, `v > best`: NaN never wins, the first of equal values stays)
// over the taps in its order, so both give the same bits. The generic kernel loads one 2-byte value per tap and
// spends its time on index arithmetic (ResNet-50's 3x3 max pool at batch 256 took 0.93 ms, 5x off bandwidth).
// `vectors` = output positions x channels / kVec; every index below 2^31 (the launcher checks).
template <typename T, typename Store>
__global__ void maxPoolNhwcVectorKernel(const uint4* __restrict__ x, Store store, PoolGeometry g, int32_t vectors) {
  constexpr int kVec = 16 / sizeof(T);
  using M = MaxOf<T>;
  const int32_t in[3] = {static_cast<int32_t>(g.in[0]), static_cast<int32_t>(g.in[1]), static_cast<int32_t>(g.in[2])};
  const int32_t out[3] = {static_cast<int32_t>(g.out[0]), static_cast<int32_t>(g.out[1]),
                          static_cast<int32_t>(g.out[2])};
  const int32_t outSize = out[0] * out[1] * out[2], inSize = in[0] * in[1] * in[2];
  const int32_t perPosition = static_cast<int32_t>(g.channels / kVec);
  for (int32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < vectors; i += gridDim.x * blockDim.x) {
    const int32_t c = i % perPosition, rest = i / perPosition;
    const int32_t image = rest / outSize, o = rest % outSize;
    const int32_t ow = o % out[2], oh = (o / out[2]) % out[1], od = o / (out[2] * out[1]);
    const int32_t start[3] = {od * static_cast<int32_t>(g.stride[0]) - static_cast<int32_t>(g.padBegin[0]),
                              oh * static_cast<int32_t>(g.stride[1]) - static_cast<int32_t>(g.padBegin[1]),
                              ow * static_cast<int32_t>(g.stride[2]) - static_cast<int32_t>(g.padBegin[2])};
    const uint4* xp = x + static_cast<int64_t>(image) * inSize * perPosition + c;
    typename M::Value best[kVec];
#pragma unroll
    for (int j = 0; j < kVec; ++j) best[j] = lowestOf<typename M::Value>();
    for (int32_t kd = 0; kd < g.kernel[0]; ++kd) {
      const int32_t id = start[0] + kd * static_cast<int32_t>(g.dilation[0]);
      if (id < 0 || id >= in[0]) continue;
      for (int32_t kh = 0; kh < g.kernel[1]; ++kh) {
        const int32_t ih = start[1] + kh * static_cast<int32_t>(g.dilation[1]);
        if (ih < 0 || ih >= in[1]) continue;
        for (int32_t kw = 0; kw < g.kernel[2]; ++kw) {
          const int32_t iw = start[2] + kw * static_cast<int32_t>(g.dilation[2]);
          if (iw < 0 || iw >= in[2]) continue;
          const uint4 word = xp[((id * in[1] + ih) * in[2] + iw) * perPosition];
          const T* values = reinterpret_cast<const T*>(&word);
#pragma unroll
          for (int j = 0; j < kVec; ++j) {
            const typename M::Value v = M::load(values, j);
            if (v > best[j]) best[j] = v;
          }
        }
      }
    }
    uint4 word;
    T* values = reinterpret_cast<T*>(&word);
#pragma unroll
    for (int j = 0; j < kVec; ++j) M::store(values, j, best[j]);
    store(i, word);
  }
}

// One block reduces one plane (grid-stride over planes); partial results meet in shared memory.
template <typename T, bool kMax>
__global__ void globalPoolKernel(const T* __restrict__ x, T* __restrict__ y, int64_t planes, int64_t size) {
  using M = MaxOf<T>;
  using Acc = typename std::conditional<kMax, typename M::Value, double>::type;
  __shared__ Acc partial[kBlock];
  for (int64_t plane = blockIdx.x; plane < planes; plane += gridDim.x) {
    const T* xp = x + plane * size;
    Acc acc;
    if constexpr (kMax) {
      acc = lowestOf<Acc>();
    } else {
      acc = 0;
    }
    for (int64_t i = threadIdx.x; i < size; i += blockDim.x) {
      if constexpr (kMax) {
        const typename M::Value v = M::load(xp, i);
        if (v > acc) acc = v;
      } else {
        acc += static_cast<double>(loadAsFloat(xp, i));
      }
    }
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (unsigned width = blockDim.x / 2; width > 0; width /= 2) {
      if (threadIdx.x < width) {
        const Acc other = partial[threadIdx.x + width];
        if constexpr (kMax) {
          if (other > partial[threadIdx.x]) partial[threadIdx.x] = other;
        } else {
          partial[threadIdx.x] += other;
        }
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      if constexpr (kMax) {
        M::store(y, plane, partial[0]);
      } else {  // an empty plane gives 0 / 0 = NaN, as on the CPU
        storeFromFloat(y, plane, static_cast<float>(static_cast<double>(partial[0]) / static_cast<double>(size)));
      }
    }
    __syncthreads();  // partial[] is reused by the next plane
  }
}

// NHWC global pooling: a block of kLanes x kRows threads reduces kLanes consecutive channels of one image (grid-
// stride over (image, channel chunk) jobs); lane = channel, so each row of loads is contiguous. Row r walks
// positions r, r + kRows, ...; row 0 then combines the kRows partials in order.
constexpr int kLanes = 32, kRows = 8;

template <typename T, bool kMax>
__global__ void globalPoolNhwcKernel(const T* __restrict__ x, T* __restrict__ y, int64_t batch, int64_t size,
                                     int64_t channels) {
  using M = MaxOf<T>;
  using Acc = typename std::conditional<kMax, typename M::Value, double>::type;
  __shared__ Acc partial[kRows][kLanes];
  const int64_t chunks = (channels + kLanes - 1) / kLanes;
  for (int64_t job = blockIdx.x; job < batch * chunks; job += gridDim.x) {
    const int64_t n = job / chunks, c = (job % chunks) * kLanes + threadIdx.x;
    Acc acc;
    if constexpr (kMax) {
      acc = lowestOf<Acc>();
    } else {
      acc = 0;
    }
    if (c < channels) {
      const T* xp = x + n * size * channels + c;
      for (int64_t p = threadIdx.y; p < size; p += kRows) {
        if constexpr (kMax) {
          const typename M::Value v = M::load(xp, p * channels);
          if (v > acc) acc = v;
        } else {
          acc += static_cast<double>(loadAsFloat(xp, p * channels));
        }
      }
    }
    partial[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && c < channels) {
      Acc total = partial[0][threadIdx.x];
      for (int r = 1; r < kRows; ++r) {
        const Acc other = partial[r][threadIdx.x];
        if constexpr (kMax) {
          if (other > total) total = other;
        } else {
          total += other;
        }
      }
      if constexpr (kMax) {
        M::store(y, n * channels + c, total);
      } else {  // an empty plane gives 0 / 0 = NaN, as on the CPU
        storeFromFloat(y, n * channels + c, static_cast<float>(total / static_cast<double>(size)));
      }
    }
    __syncthreads();  // partial[] is reused by the next job
  }
}

// Whether int32 indices do: the output, one plane of input (with a grid of `grid` blocks striding past the end)
// and every window coordinate stay below 2^30 (plane offsets are computed in 64 bits either way).
bool int32Indices(const PoolGeometry& g, int64_t numel, unsigned grid) {
  const int64_t limit = int64_t{1} << 30;
  bool small = numel + int64_t{grid} * kBlock < limit && g.in[0] * g.in[1] * g.in[2] * g.channels + g.channels < limit;
  for (int d = 0; d < 3; ++d)
    small = small && g.out[d] * g.stride[d] + g.kernel[d] * g.dilation[d] + g.padBegin[d] < limit;
  return small;
}

template <typename T>
bool poolAs(const void* x, void* y, const PoolGeometry& g, bool isMax, bool countPad, int sms, cudaStream_t s) {
  const int64_t numel = g.planes * g.channels * g.out[0] * g.out[1] * g.out[2];
  if (numel <= 0) return true;
  const auto* in = static_cast<const T*>(x);
  auto* out = static_cast<T*>(y);
  const unsigned grid = gridFor(numel, sms);
  const bool small = int32Indices(g, numel, grid);
  // NHWC max pooling over whole 16-byte vectors of channels, where the channels and both pointers allow it.
  constexpr int64_t kVec = 16 / sizeof(T);
  const bool vectorized = isMax && g.channelsLast && g.channels % kVec == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 &&
                          reinterpret_cast<uintptr_t>(y) % 16 == 0;
  if (vectorized && small) {
    const int64_t vectors = numel / kVec;
    maxPoolNhwcVectorKernel<T><<<gridFor(vectors, sms), kBlock, 0, s>>>(
        static_cast<const uint4*>(x), StoreVector{static_cast<uint4*>(y)}, g, static_cast<int32_t>(vectors));
    return true;
  }
  auto launch = [&](auto index) {
    using Index = decltype(index);
    const auto n = static_cast<Index>(numel);
    if (g.channelsLast) {
      if (isMax) poolKernel<T, true, true, Index><<<grid, kBlock, 0, s>>>(in, out, g, n, countPad);
      else poolKernel<T, false, true, Index><<<grid, kBlock, 0, s>>>(in, out, g, n, countPad);
    } else {
      if (isMax) poolKernel<T, true, false, Index><<<grid, kBlock, 0, s>>>(in, out, g, n, countPad);
      else poolKernel<T, false, false, Index><<<grid, kBlock, 0, s>>>(in, out, g, n, countPad);
    }
  };
  if (small) {
    launch(int32_t{0});
  } else {
    launch(int64_t{0});
  }
  return true;
}

template <typename T>
bool globalPoolNhwcAs(const void* x, void* y, int64_t batch, int64_t size, int64_t channels, bool isMax, int sms,
                      cudaStream_t s) {
  const int64_t jobs = batch * ((channels + kLanes - 1) / kLanes);
  if (jobs <= 0) return true;
  const int64_t cap = static_cast<int64_t>(sms > 0 ? sms : 80) * 16;
  const unsigned grid = static_cast<unsigned>(jobs < cap ? jobs : cap);
  const dim3 block(kLanes, kRows);
  const auto* in = static_cast<const T*>(x);
  auto* out = static_cast<T*>(y);
  if (isMax) {
    globalPoolNhwcKernel<T, true><<<grid, block, 0, s>>>(in, out, batch, size, channels);
  } else {
    globalPoolNhwcKernel<T, false><<<grid, block, 0, s>>>(in, out, batch, size, channels);
  }
  return true;
}

template <typename T>
bool globalPoolAs(const void* x, void* y, int64_t planes, int64_t size, bool isMax, int sms, cudaStream_t s) {
  if (planes <= 0) return true;
  const int64_t cap = static_cast<int64_t>(sms > 0 ? sms : 80) * 16;
  const unsigned grid = static_cast<unsigned>(planes < cap ? planes : cap);
  const auto* in = static_cast<const T*>(x);
  auto* out = static_cast<T*>(y);
  if (isMax) {
    globalPoolKernel<T, true><<<grid, kBlock, 0, s>>>(in, out, planes, size);
  } else {
    globalPoolKernel<T, false><<<grid, kBlock, 0, s>>>(in, out, planes, size);
  }
  return true;
}

}  // namespace

bool launchGlobalPoolingNhwc(PoolType type, const void* x, void* y, int64_t batch, int64_t planeSize, int64_t channels,
                             bool isMax, int multiProcessors, cudaStream_t stream) {
  auto as = [&](auto tag, bool max) {
    using T = decltype(tag);
    return globalPoolNhwcAs<T>(x, y, batch, planeSize, channels, max, multiProcessors, stream);
  };
  switch (type) {
    case PoolType::F32: return as(float{}, isMax);
    case PoolType::F16: return as(__half{}, isMax);
    default: break;
  }
  if (!isMax) return false;  // average pooling is float-only
  switch (type) {
    case PoolType::I8: return as(int8_t{}, true);
    case PoolType::U8: return as(uint8_t{}, true);
    case PoolType::I32: return as(int32_t{}, true);
    case PoolType::I64: return as(int64_t{}, true);
    default: return false;
  }
}

bool launchPooling(PoolType type, const void* x, void* y, const PoolGeometry& g, bool isMax, bool countIncludePad,
                   int multiProcessors, cudaStream_t stream) {
  switch (type) {
    case PoolType::F32: return poolAs<float>(x, y, g, isMax, countIncludePad, multiProcessors, stream);
    case PoolType::F16: return poolAs<__half>(x, y, g, isMax, countIncludePad, multiProcessors, stream);
    default: break;
  }
  if (!isMax) return false;  // average pooling is float-only
  switch (type) {
    case PoolType::I8: return poolAs<int8_t>(x, y, g, true, false, multiProcessors, stream);
    case PoolType::U8: return poolAs<uint8_t>(x, y, g, true, false, multiProcessors, stream);
    case PoolType::I32: return poolAs<int32_t>(x, y, g, true, false, multiProcessors, stream);
    case PoolType::I64: return poolAs<int64_t>(x, y, g, true, false, multiProcessors, stream);
    default: return false;
  }
}

bool launchMaxPoolNhwcHalfToInt8(const void* x, int8_t* y, const PoolGeometry& g, float reciprocal, float scale,
                                 int multiProcessors, cudaStream_t stream) {
  constexpr int64_t kVec = 8;
  const int64_t numel = g.planes * g.channels * g.out[0] * g.out[1] * g.out[2], vectors = numel / kVec;
  const unsigned grid = gridFor(vectors, multiProcessors);
  if (!g.channelsLast || g.channels % kVec != 0 || reinterpret_cast<uintptr_t>(x) % 16 != 0 ||
      reinterpret_cast<uintptr_t>(y) % 8 != 0 || !int32Indices(g, numel, grid))
    return false;
  if (numel == 0) return true;
  maxPoolNhwcVectorKernel<__half><<<grid, kBlock, 0, stream>>>(
      static_cast<const uint4*>(x), StoreQuantizedHalf8{reinterpret_cast<uint2*>(y), reciprocal, scale}, g,
      static_cast<int32_t>(vectors));
  return true;
}

bool launchGlobalPooling(PoolType type, const void* x, void* y, int64_t planes, int64_t planeSize, bool isMax,
                         int multiProcessors, cudaStream_t stream) {
  switch (type) {
    case PoolType::F32: return globalPoolAs<float>(x, y, planes, planeSize, isMax, multiProcessors, stream);
    case PoolType::F16: return globalPoolAs<__half>(x, y, planes, planeSize, isMax, multiProcessors, stream);
    default: break;
  }
  if (!isMax) return false;
  switch (type) {
    case PoolType::I8: return globalPoolAs<int8_t>(x, y, planes, planeSize, true, multiProcessors, stream);
    case PoolType::U8: return globalPoolAs<uint8_t>(x, y, planes, planeSize, true, multiProcessors, stream);
    case PoolType::I32: return globalPoolAs<int32_t>(x, y, planes, planeSize, true, multiProcessors, stream);
    case PoolType::I64: return globalPoolAs<int64_t>(x, y, planes, planeSize, true, multiProcessors, stream);
    default: return false;
  }
}

}  // namespace inferrt::cudakernels
