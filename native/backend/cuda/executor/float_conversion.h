// fp32 <-> fp16 copies between layers of different precision (the reformatting TensorRT inserts).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace inferrt {

void launchFloatToHalf(const float* in, uint16_t* out, int64_t n, cudaStream_t stream);
void launchHalfToFloat(const uint16_t* in, float* out, int64_t n, cudaStream_t stream);

}  // namespace inferrt
