// Index-reading and generator kernels: Gather (a block per row for wide rows, a thread per unit otherwise),
// GatherElements, Trilu, fills and Range. Data moves as raw units; every index is range-checked before it
// is used, and a bad one is reported (IndexOutOfRange) with zeros written in its place.
#include <cuda_fp16.h>

#include <cstdint>

#include "backend/cuda/kernels/indexing_launch.h"
#include "backend/cuda/kernels/kernel_support.cuh"

namespace inferrt::cudakernels {

namespace {

// Index v of an axis of size n, normalized; false when out of range.
template <typename IdxT>
__device__ __forceinline__ bool normalizedIndex(IdxT raw, int64_t n, int64_t& v) {
  v = static_cast<int64_t>(raw);
  if (v < -n || v >= n) return false;
  if (v < 0) v += n;
  return true;
}

template <typename U, typename IdxT>
__global__ void gatherRowsKernel(const U* __restrict__ data, const IdxT* __restrict__ idx, U* __restrict__ out,
                                 GatherParams p, int32_t* err) {
  const int64_t rows = p.outer * p.count;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t o = r / p.count, j = r - o * p.count;
    U* dst = out + r * p.inner;
    int64_t v;
    if (!normalizedIndex(idx[j], p.axisDim, v)) {
      if (threadIdx.x == 0) reportDeviceError(err, kIndexOutOfRange);
      for (int64_t k = threadIdx.x; k < p.inner; k += blockDim.x) dst[k] = U{};
      continue;
    }
    const U* src = data + (o * p.axisDim + v) * p.inner;
    for (int64_t k = threadIdx.x; k < p.inner; k += blockDim.x) dst[k] = src[k];
  }
}

template <typename U, typename IdxT>
__global__ void gatherKernel(const U* __restrict__ data, const IdxT* __restrict__ idx, U* __restrict__ out,
                             GatherParams p, int32_t* err) {
  const int64_t total = p.outer * p.count * p.inner;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const int64_t r = i / p.inner, k = i - r * p.inner;
    const int64_t o = r / p.count, j = r - o * p.count;
    int64_t v;
    if (!normalizedIndex(idx[j], p.axisDim, v)) {
      reportDeviceError(err, kIndexOutOfRange);
      out[i] = U{};
      continue;
    }
    out[i] = data[(o * p.axisDim + v) * p.inner + k];
  }
}

// Validates indices without gathering: the output is empty, but the CPU kernel still rejects a bad index.
template <typename IdxT>
__global__ void gatherCheckKernel(const IdxT* __restrict__ idx, GatherParams p, int32_t* err) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.count; i += step) {
    int64_t v;
    if (!normalizedIndex(idx[i], p.axisDim, v)) reportDeviceError(err, kIndexOutOfRange);
  }
}

template <typename T, typename IdxT>
__global__ void gatherElementsKernel(const T* __restrict__ data, const IdxT* __restrict__ idx, T* __restrict__ out,
                                     GatherElementsParams p, int32_t* err) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.numel; i += step) {
    int64_t rem = i, base = 0;
#pragma unroll
    for (int k = kMaxGatherElementsRank - 1; k >= 0; --k) {
      if (k < p.rank) {
        int64_t c = rem;
        if (k > 0) {
          rem = c / p.idxDims[k];
          c -= rem * p.idxDims[k];
        }
        base += c * p.dataStrides[k];
      }
    }
    int64_t v;
    if (!normalizedIndex(idx[i], p.axisDim, v)) {
      reportDeviceError(err, kIndexOutOfRange);
      out[i] = T{};
      continue;
    }
    out[i] = data[base + v * p.axisStride];
  }
}

template <typename T>
__global__ void triluKernel(const T* __restrict__ in, T* __restrict__ out, TriluParams p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.numel; i += step) {
    const int64_t r = i / p.cols;
    const int64_t j = i - r * p.cols, row = r % p.rows;
    const bool keep = p.upper ? j >= row + p.k : j <= row + p.k;
    out[i] = keep ? in[i] : T{};  // zero bits are zero in every dtype
  }
}

template <typename T>
__global__ void fillKernel(T* __restrict__ out, int64_t numel, T value) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < numel; i += step) out[i] = value;
}

// The CPU's floatToHalf: round to nearest even; NaN becomes the quiet NaN 0x7e00 with the sign kept.
__device__ __forceinline__ uint16_t halfBits(float v) {
  if (isnan(v)) return static_cast<uint16_t>((__float_as_uint(v) >> 16) & 0x8000u) | 0x7e00u;
  return __half_as_ushort(__float2half_rn(v));
}

// Float32 or float16 output (p.type picks the store).
__global__ void rangeFloatKernel(void* __restrict__ out, RangeParams p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n; i += step) {
    // Explicit roundings, no fused multiply-add: each step matches the CPU's double arithmetic.
    const double d = __dadd_rn(static_cast<double>(p.fstart),
                               __dmul_rn(static_cast<double>(i), static_cast<double>(p.fdelta)));
    const float v = __double2float_rn(d);
    if (p.type == RangeType::Float32) static_cast<float*>(out)[i] = v;
    else static_cast<uint16_t*>(out)[i] = halfBits(v);
  }
}

template <typename T>
__global__ void rangeIntKernel(T* __restrict__ out, RangeParams p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n; i += step) {
    const uint64_t v = static_cast<uint64_t>(p.istart) + static_cast<uint64_t>(i) * static_cast<uint64_t>(p.idelta);
    out[i] = static_cast<T>(v);  // int32: the low 32 bits, as the CPU's int64 -> int32 conversion keeps
  }
}

inline unsigned rowBlocks(int64_t rows, int sms) {
  const int64_t cap = static_cast<int64_t>(sms > 0 ? sms : 80) * 32;
  return static_cast<unsigned>(rows < cap ? rows : cap);
}

template <typename U, typename IdxT>
void gatherAs(const void* data, const void* indices, void* out, GatherParams p, int32_t* err, cudaStream_t stream,
              int sms) {
  const U* d = static_cast<const U*>(data);
  const IdxT* idx = static_cast<const IdxT*>(indices);
  U* o = static_cast<U*>(out);
  if (p.inner >= 32) {
    const int threads = p.inner >= 256 ? 256 : static_cast<int>((p.inner + 31) / 32 * 32);
    gatherRowsKernel<U, IdxT><<<rowBlocks(p.outer * p.count, sms), threads, 0, stream>>>(d, idx, o, p, err);
  } else {
    gatherKernel<U, IdxT><<<gridFor(p.outer * p.count * p.inner, sms), kBlock, 0, stream>>>(d, idx, o, p, err);
  }
}

template <typename U>
void gatherUnit(const void* data, const void* indices, bool indices64, void* out, const GatherParams& p,
                int32_t* err, cudaStream_t stream, int sms) {
  if (indices64) gatherAs<U, int64_t>(data, indices, out, p, err, stream, sms);
  else gatherAs<U, int32_t>(data, indices, out, p, err, stream, sms);
}

template <typename T>
void gatherElementsAs(const void* data, const void* indices, bool indices64, void* out, const GatherElementsParams& p,
                      int32_t* err, cudaStream_t stream, int sms) {
  const T* d = static_cast<const T*>(data);
  T* o = static_cast<T*>(out);
  if (indices64)
    gatherElementsKernel<T, int64_t><<<gridFor(p.numel, sms), kBlock, 0, stream>>>(
        d, static_cast<const int64_t*>(indices), o, p, err);
  else
    gatherElementsKernel<T, int32_t><<<gridFor(p.numel, sms), kBlock, 0, stream>>>(
        d, static_cast<const int32_t*>(indices), o, p, err);
}

bool aligned(const void* p, int64_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % static_cast<uint64_t>(bytes) == 0;
}

template <typename T>
void fillAs(void* out, int64_t numel, uint64_t bits, cudaStream_t stream, int sms) {
  fillKernel<<<gridFor(numel, sms), kBlock, 0, stream>>>(static_cast<T*>(out), numel, static_cast<T>(bits));
}

template <typename T>
void triluAs(const void* in, void* out, const TriluParams& p, cudaStream_t stream, int sms) {
  triluKernel<<<gridFor(p.numel, sms), kBlock, 0, stream>>>(static_cast<const T*>(in), static_cast<T*>(out), p);
}

}  // namespace

void launchGather(const void* data, const void* indices, bool indices64, void* out, const GatherParams& p,
                  int elemBytes, int32_t* deviceError, cudaStream_t stream, int multiProcessors) {
  if (p.outer == 0 || p.inner == 0) {
    const unsigned blocks = gridFor(p.count, multiProcessors);
    if (indices64)
      gatherCheckKernel<<<blocks, kBlock, 0, stream>>>(static_cast<const int64_t*>(indices), p, deviceError);
    else
      gatherCheckKernel<<<blocks, kBlock, 0, stream>>>(static_cast<const int32_t*>(indices), p, deviceError);
    return;
  }
  // Rows are whole: move them in the widest unit (<= 16 bytes) that divides a row and both buffers' alignment.
  const int64_t rowBytes = p.inner * elemBytes;
  int64_t unit = 16;
  while (unit > 1 && (rowBytes % unit != 0 || !aligned(data, unit) || !aligned(out, unit))) unit /= 2;
  GatherParams q = p;
  q.inner = rowBytes / unit;
  switch (unit) {
    case 1: gatherUnit<uint8_t>(data, indices, indices64, out, q, deviceError, stream, multiProcessors); return;
    case 2: gatherUnit<uint16_t>(data, indices, indices64, out, q, deviceError, stream, multiProcessors); return;
    case 4: gatherUnit<uint32_t>(data, indices, indices64, out, q, deviceError, stream, multiProcessors); return;
    case 8: gatherUnit<uint2>(data, indices, indices64, out, q, deviceError, stream, multiProcessors); return;
    default: gatherUnit<uint4>(data, indices, indices64, out, q, deviceError, stream, multiProcessors); return;
  }
}

void launchGatherElements(const void* data, const void* indices, bool indices64, void* out,
                          const GatherElementsParams& p, int elemBytes, int32_t* deviceError, cudaStream_t stream,
                          int multiProcessors) {
  switch (elemBytes) {
    case 1: gatherElementsAs<uint8_t>(data, indices, indices64, out, p, deviceError, stream, multiProcessors); return;
    case 2: gatherElementsAs<uint16_t>(data, indices, indices64, out, p, deviceError, stream, multiProcessors); return;
    case 4: gatherElementsAs<uint32_t>(data, indices, indices64, out, p, deviceError, stream, multiProcessors); return;
    case 8: gatherElementsAs<uint64_t>(data, indices, indices64, out, p, deviceError, stream, multiProcessors); return;
    default: return;
  }
}

void launchTrilu(const void* in, void* out, const TriluParams& p, int elemBytes, cudaStream_t stream,
                 int multiProcessors) {
  switch (elemBytes) {
    case 1: triluAs<uint8_t>(in, out, p, stream, multiProcessors); return;
    case 2: triluAs<uint16_t>(in, out, p, stream, multiProcessors); return;
    case 4: triluAs<uint32_t>(in, out, p, stream, multiProcessors); return;
    case 8: triluAs<uint64_t>(in, out, p, stream, multiProcessors); return;
    default: return;
  }
}

void launchFill(void* out, int64_t numel, uint64_t bits, int elemBytes, cudaStream_t stream, int multiProcessors) {
  switch (elemBytes) {
    case 1: fillAs<uint8_t>(out, numel, bits, stream, multiProcessors); return;
    case 2: fillAs<uint16_t>(out, numel, bits, stream, multiProcessors); return;
    case 4: fillAs<uint32_t>(out, numel, bits, stream, multiProcessors); return;
    case 8: fillAs<uint64_t>(out, numel, bits, stream, multiProcessors); return;
    default: return;
  }
}

void launchRange(void* out, const RangeParams& p, cudaStream_t stream, int multiProcessors) {
  const unsigned blocks = gridFor(p.n, multiProcessors);
  switch (p.type) {
    case RangeType::Float32:
    case RangeType::Float16: rangeFloatKernel<<<blocks, kBlock, 0, stream>>>(out, p); return;
    case RangeType::Int32: rangeIntKernel<<<blocks, kBlock, 0, stream>>>(static_cast<int32_t*>(out), p); return;
    case RangeType::Int64: rangeIntKernel<<<blocks, kBlock, 0, stream>>>(static_cast<int64_t*>(out), p); return;
  }
}

}  // namespace inferrt::cudakernels
