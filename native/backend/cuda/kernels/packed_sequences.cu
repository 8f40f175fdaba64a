// The validation kernel of packed sequences' cu_seqlens (packed_sequences.h): a thread per entry, grid-stride.
#include <cstdint>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/kernel_support.cuh"
#include "backend/cuda/kernels/packed_sequences.h"

namespace inferrt::cudakernels {

namespace {

__global__ void validateCuSeqlensKernel(const int32_t* cu, int64_t batch, int64_t totalTokens, int64_t maxSeqLen,
                                        int64_t minSeqLen, int32_t* deviceError) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i <= batch;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t v = cu[i];
    bool ok = i == 0 ? v == 0 : (v >= cu[i - 1] && v - cu[i - 1] <= maxSeqLen && v - cu[i - 1] >= minSeqLen);
    if (i == batch) ok = ok && v == totalTokens;
    if (!ok) reportDeviceError(deviceError, kInvalidSequenceOffsets);
  }
}

}  // namespace

void launchValidateCuSeqlens(const int32_t* cuSeqlens, int64_t batch, int64_t totalTokens, int64_t maxSeqLen,
                             int64_t minSeqLen, int32_t* deviceError, int multiProcessors, cudaStream_t stream) {
  if (batch < 0 || !cuSeqlens) return;
  validateCuSeqlensKernel<<<gridFor(batch + 1, multiProcessors), kBlock, 0, stream>>>(cuSeqlens, batch, totalTokens,
                                                                                      maxSeqLen, minSeqLen, deviceError);
  INFERRT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace inferrt::cudakernels
