// Host launchers of the Pooling kernels (pooling.cu). Plain C++ parameters only; a launcher returns false,
// launching nothing, for a type / mode it has no kernel for, and the caller then checks cudaGetLastError().
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace inferrt::cudakernels {

// Element types; the values mirror inferrt::DType (pooling.cc static_asserts it).
enum class PoolType : int32_t { F32 = 0, F16 = 1, I8 = 2, U8 = 3, I32 = 4, I64 = 5 };

// Window geometry in three spatial slots (1-D and 2-D problems pass leading 1s). NCHW: `planes` (n, c) planes of
// spatial data, channels = 1. NHWC (channelsLast): `planes` images of spatial positions holding `channels` values.
struct PoolGeometry {
  int64_t planes = 0;  // NCHW: batch * channels; NHWC: batch
  int64_t channels = 1;  // NHWC: C, innermost; NCHW: 1
  bool channelsLast = false;
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, kernel[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1}, dilation[3] = {1, 1, 1}, padBegin[3] = {0, 0, 0}, padEnd[3] = {0, 0, 0};
};

// Max (any type) or average (F32 / F16) over every window: one thread per output element (NHWC: consecutive threads
// take consecutive channels, so loads coalesce); NHWC max pooling whose channels fill 16-byte vectors (and whose x
// and y are 16-byte aligned): one thread per vector, bit for bit the same results.
bool launchPooling(PoolType type, const void* x, void* y, const PoolGeometry& g, bool isMax, bool countIncludePad,
                   int multiProcessors, cudaStream_t stream);

// NHWC max pooling of fp16 x writing the int8 values of the maxima (a one-scale QuantizeLinear's: x * reciprocal
// where reciprocal > 0, else x / scale; int8_quantize.cuh), with the vector kernel above: false, launching nothing,
// where that kernel does not apply (channels % 8, x not 16-byte or y not 8-byte aligned, indices past 2^30).
bool launchMaxPoolNhwcHalfToInt8(const void* x, int8_t* y, const PoolGeometry& g, float reciprocal, float scale,
                                 int multiProcessors, cudaStream_t stream);

// Max or average over each whole plane of `planeSize` elements: one block per plane.
bool launchGlobalPooling(PoolType type, const void* x, void* y, int64_t planes, int64_t planeSize, bool isMax,
                         int multiProcessors, cudaStream_t stream);

// The same over NHWC x [batch, planeSize, channels] into y [batch, channels]: a block takes 32 channels of one
// image (coalesced rows), its 8 thread rows splitting the positions.
bool launchGlobalPoolingNhwc(PoolType type, const void* x, void* y, int64_t batch, int64_t planeSize, int64_t channels,
                             bool isMax, int multiProcessors, cudaStream_t stream);

}  // namespace inferrt::cudakernels
