// The sparse-weight path of the CUDA MatMul and Convolution kernels (sparseWeights engines): the layer's
// compressed 2:4 weight on cuSPARSELt, with the configuration its build chose when the GEMM is the one it was
// chosen for.
#pragma once
#include "backend/cuda/kernels/cuda_kernel.h"

namespace inferrt::cudakernels {

// Enqueue the layer's GEMM (a MatMul's, with its in-place GELU; a 1x1 channels-last Convolution's, with bias,
// residual and relu) on the sparse kernel and return true; false, enqueuing nothing, when it does not apply (a
// dense layer, fp32 operands, rows the kernel cannot tile, unaligned buffers, a GEMM other than the one the build
// timed sparse faster for): the caller then runs its dense path.
bool runSparseMatMul(CudaKernelArgs& args, float alpha);
bool runSparseConvolution(CudaKernelArgs& args);

}  // namespace inferrt::cudakernels
