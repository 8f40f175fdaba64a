// Host launchers of the index-reading and generator kernels (indexing.cu): Gather, GatherElements, Trilu,
// fills (ConstantOfShape) and Range. Plain C++ parameters only, so nvcc never sees ir/ headers.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace inferrt::cudakernels {

constexpr int kMaxGatherElementsRank = 8;
// DeviceErrorCode::IndexOutOfRange (cuda_kernel.h, which nvcc does not see; indexing.cc asserts they match).
constexpr int32_t kIndexOutOfRange = 1;

// out[o, j, :] = data[o, idx[j], :] for o < outer, j < count; a row is `inner` elements of elemBytes.
// An index outside [-axisDim, axisDim) sets *deviceError to IndexOutOfRange and writes a zero row. With
// outer or inner 0 (an empty output) the indices are still checked, as the CPU kernel does; count must be > 0.
struct GatherParams {
  int64_t outer = 0, count = 0, axisDim = 0, inner = 0;
};
void launchGather(const void* data, const void* indices, bool indices64, void* out, const GatherParams& p,
                  int elemBytes, int32_t* deviceError, cudaStream_t stream, int multiProcessors);

// out[c] = data[c with c[axis] replaced by indices[c]] over the indices' dims (row-major); dataStrides has
// the axis entry zeroed, axisStride holds it. Out-of-range indices report IndexOutOfRange and write zero.
struct GatherElementsParams {
  int32_t rank = 0;  // 1..kMaxGatherElementsRank
  int64_t idxDims[kMaxGatherElementsRank] = {};
  int64_t dataStrides[kMaxGatherElementsRank] = {};
  int64_t axisStride = 0, axisDim = 0;
  int64_t numel = 0;  // indices elements, > 0
};
void launchGatherElements(const void* data, const void* indices, bool indices64, void* out,
                          const GatherElementsParams& p, int elemBytes, int32_t* deviceError, cudaStream_t stream,
                          int multiProcessors);

// Keeps element (i, j) of each [rows, cols] matrix where j >= i + k (upper) or j <= i + k (lower); zeroes
// the rest. k is pre-clamped to [-rows - 1, cols + 1].
struct TriluParams {
  int64_t numel = 0, rows = 0, cols = 0, k = 0;
  bool upper = true;
};
void launchTrilu(const void* in, void* out, const TriluParams& p, int elemBytes, cudaStream_t stream,
                 int multiProcessors);

// Writes the low elemBytes bytes of `bits` to each of numel elements.
void launchFill(void* out, int64_t numel, uint64_t bits, int elemBytes, cudaStream_t stream, int multiProcessors);

// Element i = start + i * delta: floats in double then rounded once to float32 (float16: then to half, as the
// CPU kernel does); integers in wrapping 64-bit arithmetic.
enum class RangeType : int32_t { Float32 = 0, Float16 = 1, Int32 = 2, Int64 = 3 };
struct RangeParams {
  RangeType type = RangeType::Float32;
  int64_t n = 0;
  float fstart = 0, fdelta = 0;
  int64_t istart = 0, idelta = 0;
};
void launchRange(void* out, const RangeParams& p, cudaStream_t stream, int multiProcessors);

}  // namespace inferrt::cudakernels
