// The sparse-weight path of the CUDA MatMul kernel (sparseWeights engines): the layer's compressed 2:4 weight
// on cuSPARSELt, with the algorithm its build chose when the GEMM is the one it was chosen for.
#pragma once
#include "backend/cuda/kernels/cuda_kernel.h"

namespace inferrt::cudakernels {

// Enqueues the layer's GEMM (and its in-place GELU) on the sparse kernel and returns true; false, enqueuing
// nothing, when it does not apply (a dense layer, fp32 operands, rows the kernel cannot tile, unaligned
// buffers, a GEMM other than the one the build timed sparse faster for): the caller then runs the dense GEMM.
bool runSparseMatMul(CudaKernelArgs& args, float alpha);

}  // namespace inferrt::cudakernels
