// Host launchers of the MatMul family's own kernels: the integer GEMM (matmul_int.cu; cuBLASLt has no wrapping
// int32/int64 GEMM) and the float epilogue (matmul_epilogue.cu: bias + exact-erf GELU, the fallbacks of what
// cuBLASLt could not fuse, and the K == 0 fill).
// Plain C++ parameters only (ir/gemm_activation.h is a bare enum), so nvcc never sees the IR. A launcher returns
// false, launching nothing, for a type it has no kernel for (the caller validates first, so false means a bug); the
// caller then checks cudaGetLastError().
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "ir/gemm_activation.h"

namespace inferrt::cudakernels {

constexpr int kMatMulMaxBatchDims = 8;

// Batched C[b] (M x N, row-major, contiguous) = A[b] * B[b] with A[b](i, p) at aOffset(b) + i * aRowStride +
// p * aColStride (likewise B), which covers transA/transB and 1-D operands. The output batch index b is
// decomposed over `batchDims` (outermost first); aBatchStrides[d] is 0 where A broadcasts along dim d.
struct IntGemmGeometry {
  int64_t m = 0, n = 0, k = 0;
  int64_t aRowStride = 0, aColStride = 0, bRowStride = 0, bColStride = 0;
  int32_t batchRank = 0;  // 0..kMatMulMaxBatchDims
  int64_t batchDims[kMatMulMaxBatchDims] = {};
  int64_t aBatchStrides[kMatMulMaxBatchDims] = {};  // in elements
  int64_t bBatchStrides[kMatMulMaxBatchDims] = {};
  int64_t batch = 1;  // product of batchDims
};

// elementBytes 4: int32, 8: int64. Products and sums wrap around (two's complement), as the CPU kernel's.
bool launchIntGemm(int elementBytes, const void* a, const void* b, void* c, const IntGemmGeometry& g,
                   cudaStream_t stream);

using ::inferrt::GemmActivation;

// out[i] = act((src ? src[i] : 0) + (bias ? bias[i % n] : 0)), computed in fp32 and rounded once into out.
// srcHalf / outHalf: fp16 (else fp32) src and out; bias has out's type. src may equal out (in place).
bool launchGemmEpilogue(const void* src, bool srcHalf, void* out, bool outHalf, const void* bias, int64_t numel,
                        int64_t n, GemmActivation act, int multiProcessors, cudaStream_t stream);

}  // namespace inferrt::cudakernels
