// Host launchers of the Pooling kernels (pooling.cu). Plain C++ parameters only; a launcher returns false,
// launching nothing, for a type / mode it has no kernel for, and the caller then checks cudaGetLastError().
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace inferrt::cudakernels {

// Element types; the values mirror inferrt::DType (pooling.cc static_asserts it).
enum class PoolType : int32_t { F32 = 0, F16 = 1, I8 = 2, U8 = 3, I32 = 4, I64 = 5 };

// Window geometry of one (n, c) plane in three spatial slots (1-D and 2-D problems pass leading 1s).
struct PoolGeometry {
  int64_t planes = 0;  // batch * channels
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, kernel[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1}, dilation[3] = {1, 1, 1}, padBegin[3] = {0, 0, 0}, padEnd[3] = {0, 0, 0};
};

// Max (any type) or average (F32 / F16) over every window: one thread per output element.
bool launchPooling(PoolType type, const void* x, void* y, const PoolGeometry& g, bool isMax, bool countIncludePad,
                   int multiProcessors, cudaStream_t stream);

// Max or average over each whole plane of `planeSize` elements: one block per plane.
bool launchGlobalPooling(PoolType type, const void* x, void* y, int64_t planes, int64_t planeSize, bool isMax,
                         int multiProcessors, cudaStream_t stream);

}  // namespace inferrt::cudakernels
