// Host launchers of the data-movement kernels (movement.cu): strided N-D copies, a tiled batched transpose
// and the index-mapped copy behind Pad and Tile. Plain C++ parameters only, so nvcc never sees ir/ headers.
// Elements move as raw bits: callers pass an element (or widened unit) size, never a dtype.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace inferrt::cudakernels {

constexpr int kMaxCopyRank = 8;

// dst[dstOffset + sum(c[d] * dstStrides[d])] = src[srcOffset + sum(c[d] * srcStrides[d])] for every
// coordinate c of `dims` (row-major order). Strides are in units; src strides may be 0 or negative. The caller
// has checked that every offset stays inside both buffers.
struct StridedCopyParams {
  int32_t rank = 0;  // 1..kMaxCopyRank
  int64_t dims[kMaxCopyRank] = {};
  int64_t srcStrides[kMaxCopyRank] = {};
  int64_t dstStrides[kMaxCopyRank] = {};
  int64_t srcOffset = 0;
  int64_t dstOffset = 0;
  int64_t numel = 0;  // product of dims, > 0
};

// unitBytes: 1, 2, 4, 8 or 16 (pointers aligned to it). index32: every offset and numel fit in int32, so the
// coordinate arithmetic may run in 32 bits.
void launchStridedCopy(const void* src, void* dst, const StridedCopyParams& p, int unitBytes, bool index32,
                       cudaStream_t stream, int multiProcessors);

// dst[b * dstBatchStride + r * dstRowStride + c] = src[srcOffset + b * srcBatchStride + r + c * srcColStride]
// for b < batch, r < rows, c < cols: the source is read along r, the destination written along c, both
// coalesced through a shared-memory tile.
struct BatchedTransposeParams {
  int64_t batch = 1, rows = 0, cols = 0;
  int64_t srcOffset = 0, srcBatchStride = 0, srcColStride = 0;
  int64_t dstOffset = 0, dstBatchStride = 0, dstRowStride = 0;
};
void launchBatchedTranspose(const void* src, void* dst, const BatchedTransposeParams& p, int elemBytes,
                            cudaStream_t stream, int multiProcessors);

// Per output dim d, output coordinate o maps to p = o - shift[d]; inside [0, kept[d]) it reads input index
// lo[d] + p. Outside, per `mode`: constant writes `fill` for the whole element; edge clamps p; reflect mirrors
// it without repeating the edge (period 2 * (kept - 1); kept == 1 clamps); wrap takes p mod kept (Tile).
enum class MapMode : int32_t { Constant = 0, Edge = 1, Reflect = 2, Wrap = 3 };
struct MappedCopyParams {
  int32_t rank = 0;  // 1..kMaxCopyRank
  MapMode mode = MapMode::Constant;
  int64_t outDims[kMaxCopyRank] = {};
  int64_t inStrides[kMaxCopyRank] = {};
  int64_t shift[kMaxCopyRank] = {};
  int64_t lo[kMaxCopyRank] = {};
  int64_t kept[kMaxCopyRank] = {};
  int64_t numel = 0;  // output elements, > 0
  uint64_t fill = 0;  // the constant's bits (low elemBytes bytes)
};
// A constant pad of the last of two dims (runPad merges the unpadded ones) whose output rows are whole 16-byte
// chunks runs a kernel writing one chunk per thread.
void launchMappedCopy(const void* src, void* dst, const MappedCopyParams& p, int elemBytes, cudaStream_t stream,
                      int multiProcessors);

}  // namespace inferrt::cudakernels
