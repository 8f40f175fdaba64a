// The sparse-weight path of the CUDA MatMul, QuantizedMatMul and Convolution kernels (sparseWeights engines): the
// layer's compressed 2:4 weight on cuSPARSELt, with the configuration its build chose when the GEMM is the one it
// was chosen for.
#pragma once
#include "backend/cuda/kernels/cuda_kernel.h"

namespace inferrt::cudakernels {

// Enqueue the layer's GEMM (a MatMul's, with its in-place GELU; a 1x1 channels-last Convolution's, with bias,
// residual and relu) on the sparse kernel and return true; false, enqueuing nothing, when it does not apply (a
// dense layer, fp32 operands, rows the kernel cannot tile, unaligned buffers, a GEMM other than the one the build
// timed sparse faster for): the caller then runs its dense path.
bool runSparseMatMul(CudaKernelArgs& args, float alpha);
bool runSparseConvolution(CudaKernelArgs& args);

// A QuantizedMatMul's int8 GEMM on the sparse kernel: enqueues the exact int32 sums acc [rows, N] (row-major, row
// stride N) of a [..., K] and the layer's compressed [N, K] weight, and returns acc: the output buffer itself when
// `accMayBeOutput` (a float32 output, one int32 per element) and it is aligned for the kernel, else scratch
// (valid until the layer's run returns). The caller's dequantizing epilogue then reads it, as on the dense path.
// Null, enqueuing nothing, under the same conditions as above: the caller runs the dense int8 GEMM.
const int32_t* runSparseQuantizedMatMul(CudaKernelArgs& args, bool accMayBeOutput);

}  // namespace inferrt::cudakernels
