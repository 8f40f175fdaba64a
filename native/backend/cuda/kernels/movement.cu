// Data-movement kernels: a general strided N-D copy (element- and row-parallel), a shared-memory tiled
// batched transpose, and the index-mapped copy behind Pad and Tile. They move raw units of 1..16 bytes, so
// one instantiation per unit size serves every dtype. Loops over dims are unrolled to kMaxCopyRank with a
// rank guard so the parameter arrays are only ever indexed by constants (no local-memory copies).
#include <cstdint>

#include "backend/cuda/kernels/kernel_support.cuh"
#include "backend/cuda/kernels/movement_launch.h"

namespace inferrt::cudakernels {

namespace {

constexpr int kTile = 32;
constexpr int kTileRows = 8;  // a 32x8 block moves a 32x32 tile, four elements per thread

// Source and destination offsets of row-major position `rem` in p's dims.
template <typename I>
__device__ __forceinline__ void offsetsOf(I rem, const StridedCopyParams& p, I& s, I& d) {
  s = static_cast<I>(p.srcOffset);
  d = static_cast<I>(p.dstOffset);
#pragma unroll
  for (int k = kMaxCopyRank - 1; k >= 0; --k) {
    if (k < p.rank) {
      I c = rem;
      if (k > 0) {
        const I dim = static_cast<I>(p.dims[k]);
        const I q = rem / dim;
        c = rem - q * dim;
        rem = q;
      }
      s += c * static_cast<I>(p.srcStrides[k]);
      d += c * static_cast<I>(p.dstStrides[k]);
    }
  }
}

template <typename U, typename I>
__global__ void stridedCopyKernel(const U* __restrict__ src, U* __restrict__ dst, StridedCopyParams p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.numel; i += step) {
    I s, d;
    offsetsOf<I>(static_cast<I>(i), p, s, d);
    dst[d] = src[s];
  }
}

// `outer` holds every dim but the innermost, which is `inner` long and contiguous on both sides: a block walks
// whole rows, so the coordinate arithmetic is paid once per row rather than once per element.
template <typename U, typename I>
__global__ void stridedRowsKernel(const U* __restrict__ src, U* __restrict__ dst, StridedCopyParams outer,
                                  int64_t inner) {
  for (int64_t r = blockIdx.x; r < outer.numel; r += gridDim.x) {
    I s, d;
    offsetsOf<I>(static_cast<I>(r), outer, s, d);
    const U* in = src + s;
    U* out = dst + d;
    for (int64_t j = threadIdx.x; j < inner; j += blockDim.x) out[j] = in[j];
  }
}

template <typename T>
__global__ void batchedTransposeKernel(const T* __restrict__ src, T* __restrict__ dst, BatchedTransposeParams p,
                                       int64_t tilesR, int64_t tilesC) {
  __shared__ T tile[kTile][kTile + 1];  // +1: the column reads of the store phase hit distinct banks
  const int64_t perBatch = tilesR * tilesC;
  const int64_t total = p.batch * perBatch;
  for (int64_t t = blockIdx.x; t < total; t += gridDim.x) {
    const int64_t b = t / perBatch;
    const int64_t rem = t - b * perBatch;
    const int64_t r0 = (rem / tilesC) * kTile, c0 = (rem % tilesC) * kTile;
    const T* in = src + p.srcOffset + b * p.srcBatchStride;
    T* out = dst + p.dstOffset + b * p.dstBatchStride;
    // Load along r (contiguous in the source), store along c (contiguous in the destination).
    for (int j = threadIdx.y; j < kTile; j += kTileRows) {
      const int64_t r = r0 + threadIdx.x, c = c0 + j;
      if (r < p.rows && c < p.cols) tile[j][threadIdx.x] = in[r + c * p.srcColStride];
    }
    __syncthreads();
    for (int j = threadIdx.y; j < kTile; j += kTileRows) {
      const int64_t r = r0 + j, c = c0 + threadIdx.x;
      if (r < p.rows && c < p.cols) out[r * p.dstRowStride + c] = tile[threadIdx.x][j];
    }
    __syncthreads();  // the next tile reuses the shared buffer
  }
}

__device__ __forceinline__ int64_t clampIndex(int64_t v, int64_t hi) { return v < 0 ? 0 : (v > hi ? hi : v); }

template <typename T>
__global__ void mappedCopyKernel(const T* __restrict__ src, T* __restrict__ dst, MappedCopyParams p) {
  const T fill = static_cast<T>(p.fill);  // unsigned narrowing keeps the low bytes: the value's bits
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.numel; i += step) {
    int64_t rem = i, off = 0;
    bool padded = false;
#pragma unroll
    for (int k = kMaxCopyRank - 1; k >= 0; --k) {
      if (k < p.rank) {
        int64_t o = rem;
        if (k > 0) {
          rem = o / p.outDims[k];
          o -= rem * p.outDims[k];
        }
        const int64_t m = p.kept[k];
        int64_t q = o - p.shift[k];
        if (q < 0 || q >= m) {
          if (p.mode == MapMode::Constant || m <= 0) {
            padded = true;  // m <= 0 never reaches here for replicating modes; never read outside regardless
          } else if (p.mode == MapMode::Edge || m == 1) {
            q = clampIndex(q, m - 1);
          } else if (p.mode == MapMode::Reflect) {
            const int64_t period = 2 * (m - 1);
            q %= period;
            if (q < 0) q += period;
            if (q >= m) q = period - q;
          } else {  // Wrap
            q %= m;
            if (q < 0) q += m;
          }
        }
        off += (p.lo[k] + q) * p.inStrides[k];
      }
    }
    dst[i] = padded ? fill : src[off];
  }
}

template <typename U>
void stridedCopyAs(const void* src, void* dst, const StridedCopyParams& p, bool index32, cudaStream_t stream,
                   int sms) {
  const U* in = static_cast<const U*>(src);
  U* out = static_cast<U*>(dst);
  const int last = p.rank - 1;
  const int64_t inner = p.dims[last];
  if (p.srcStrides[last] == 1 && p.dstStrides[last] == 1 && inner >= 32) {
    StridedCopyParams outer = p;
    outer.rank = p.rank - 1;
    outer.numel = p.numel / inner;
    if (outer.rank == 0) {  // one row: a single coordinate-free dim of size 1
      outer.rank = 1;
      outer.dims[0] = 1;
    }
    const int threads = inner >= 256 ? 256 : static_cast<int>((inner + 31) / 32 * 32);
    const int64_t cap = static_cast<int64_t>(sms > 0 ? sms : 80) * 32;
    const unsigned blocks = static_cast<unsigned>(outer.numel < cap ? outer.numel : cap);
    if (index32) stridedRowsKernel<U, int32_t><<<blocks, threads, 0, stream>>>(in, out, outer, inner);
    else stridedRowsKernel<U, int64_t><<<blocks, threads, 0, stream>>>(in, out, outer, inner);
    return;
  }
  const unsigned blocks = gridFor(p.numel, sms);
  if (index32) stridedCopyKernel<U, int32_t><<<blocks, kBlock, 0, stream>>>(in, out, p);
  else stridedCopyKernel<U, int64_t><<<blocks, kBlock, 0, stream>>>(in, out, p);
}

template <typename T>
void transposeAs(const void* src, void* dst, const BatchedTransposeParams& p, cudaStream_t stream, int sms) {
  const int64_t tilesR = (p.rows + kTile - 1) / kTile, tilesC = (p.cols + kTile - 1) / kTile;
  const int64_t total = p.batch * tilesR * tilesC;
  const int64_t cap = static_cast<int64_t>(sms > 0 ? sms : 80) * 16;
  const unsigned blocks = static_cast<unsigned>(total < cap ? total : cap);
  batchedTransposeKernel<T><<<blocks, dim3(kTile, kTileRows), 0, stream>>>(static_cast<const T*>(src),
                                                                            static_cast<T*>(dst), p, tilesR, tilesC);
}

// Constant padding of the last dim of [rows, cols] (what a channels-last convolution's channel padding is, after
// runPad merges the unpadded dims): a thread per 16 bytes of output with 32-bit indices, where the generic kernel
// spends a 64-bit division per element and dim (ResNet-50's 3 -> 8 channel pad at batch 256 took 0.57 ms).
// `chunksPerRow` 16-byte chunks make an output row; the caller checks that every index fits in int32.
template <typename T>
__global__ void padLastDimKernel(const T* __restrict__ src, uint4* __restrict__ dst, int32_t chunks,
                                 int32_t chunksPerRow, int32_t rowStride, int32_t shift, int32_t lo, int32_t kept,
                                 T fill) {
  constexpr int kPerChunk = 16 / sizeof(T);
  for (int32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < chunks; i += gridDim.x * blockDim.x) {
    const int32_t row = i / chunksPerRow, first = (i % chunksPerRow) * kPerChunk - shift;
    const T* in = src + row * rowStride + lo;
    uint4 word;
    T* values = reinterpret_cast<T*>(&word);
#pragma unroll
    for (int e = 0; e < kPerChunk; ++e) {
      const int32_t q = first + e;
      values[e] = q >= 0 && q < kept ? in[q] : fill;
    }
    dst[i] = word;
  }
}

// Whether `p` is a constant pad of the last dim alone whose 16-byte output chunks padLastDimKernel can write.
bool padsLastDimInChunks(const MappedCopyParams& p, int elemBytes, const void* dst) {
  const int64_t limit = int64_t{1} << 30;  // indices, and the grid stride past the end, stay below 2^31
  return p.rank == 2 && p.mode == MapMode::Constant && p.shift[0] == 0 && p.lo[0] == 0 && p.kept[0] == p.outDims[0] &&
         p.inStrides[1] == 1 && (p.outDims[1] * elemBytes) % 16 == 0 && reinterpret_cast<uintptr_t>(dst) % 16 == 0 &&
         p.numel < limit && p.outDims[0] * p.inStrides[0] < limit && p.kept[1] >= 0;
}

template <typename T>
void padLastDimAs(const void* src, void* dst, const MappedCopyParams& p, cudaStream_t stream, int sms) {
  const int64_t perChunk = 16 / sizeof(T), chunks = p.numel / perChunk;
  padLastDimKernel<T><<<gridFor(chunks, sms), kBlock, 0, stream>>>(
      static_cast<const T*>(src), static_cast<uint4*>(dst), static_cast<int32_t>(chunks),
      static_cast<int32_t>(p.outDims[1] / perChunk), static_cast<int32_t>(p.inStrides[0]),
      static_cast<int32_t>(p.shift[1]), static_cast<int32_t>(p.lo[1]), static_cast<int32_t>(p.kept[1]),
      static_cast<T>(p.fill));
}

template <typename T>
void mappedCopyAs(const void* src, void* dst, const MappedCopyParams& p, cudaStream_t stream, int sms) {
  mappedCopyKernel<T><<<gridFor(p.numel, sms), kBlock, 0, stream>>>(static_cast<const T*>(src), static_cast<T*>(dst),
                                                                    p);
}

}  // namespace

void launchStridedCopy(const void* src, void* dst, const StridedCopyParams& p, int unitBytes, bool index32,
                       cudaStream_t stream, int multiProcessors) {
  switch (unitBytes) {
    case 1: stridedCopyAs<uint8_t>(src, dst, p, index32, stream, multiProcessors); return;
    case 2: stridedCopyAs<uint16_t>(src, dst, p, index32, stream, multiProcessors); return;
    case 4: stridedCopyAs<uint32_t>(src, dst, p, index32, stream, multiProcessors); return;
    case 8: stridedCopyAs<uint2>(src, dst, p, index32, stream, multiProcessors); return;
    case 16: stridedCopyAs<uint4>(src, dst, p, index32, stream, multiProcessors); return;
    default: return;  // the host side only passes the sizes above
  }
}

void launchBatchedTranspose(const void* src, void* dst, const BatchedTransposeParams& p, int elemBytes,
                            cudaStream_t stream, int multiProcessors) {
  switch (elemBytes) {
    case 1: transposeAs<uint8_t>(src, dst, p, stream, multiProcessors); return;
    case 2: transposeAs<uint16_t>(src, dst, p, stream, multiProcessors); return;
    case 4: transposeAs<uint32_t>(src, dst, p, stream, multiProcessors); return;
    case 8: transposeAs<uint2>(src, dst, p, stream, multiProcessors); return;
    default: return;
  }
}

void launchMappedCopy(const void* src, void* dst, const MappedCopyParams& p, int elemBytes, cudaStream_t stream,
                      int multiProcessors) {
  if (padsLastDimInChunks(p, elemBytes, dst)) {
    switch (elemBytes) {
      case 1: padLastDimAs<uint8_t>(src, dst, p, stream, multiProcessors); return;
      case 2: padLastDimAs<uint16_t>(src, dst, p, stream, multiProcessors); return;
      case 4: padLastDimAs<uint32_t>(src, dst, p, stream, multiProcessors); return;
      case 8: padLastDimAs<uint64_t>(src, dst, p, stream, multiProcessors); return;
      default: break;
    }
  }
  switch (elemBytes) {
    case 1: mappedCopyAs<uint8_t>(src, dst, p, stream, multiProcessors); return;
    case 2: mappedCopyAs<uint16_t>(src, dst, p, stream, multiProcessors); return;
    case 4: mappedCopyAs<uint32_t>(src, dst, p, stream, multiProcessors); return;
    case 8: mappedCopyAs<uint64_t>(src, dst, p, stream, multiProcessors); return;
    default: return;
  }
}

}  // namespace inferrt::cudakernels
