// The float (fp32 / fp16) path of the CUDA MatMul kernel, shared with layers that are a MatMul underneath (the
// FullyConnected plugin): cuBLASLt GEMMs derived by matmul_gemm.h, the bias in cuBLASLt's epilogue where it has
// one, exact-erf GELU (and whatever cuBLASLt could not fuse) by matmul_epilogue.cu, the plan kept in args.cache.
#pragma once
#include "backend/cuda/kernels/cuda_kernel.h"
#include "backend/cuda/kernels/matmul_launch.h"

namespace inferrt::cudakernels {

// outputs[0] = act(alpha · inputs[0] · inputs[1] + inputs[2]?) with the layer's transA / transB attributes (absent:
// 0) and `act` (the epilogue of the layer's activation attribute, which matmul_gemm.h reads too: none, relu or
// gelu). The caller has checked dtypes (one float dtype), shapes (inner dims agree, bias [N], output dims) and
// that the output is not empty; K may be 0 (out = act(bias)).
void runFloatMatMulLayer(CudaKernelArgs& args, GemmActivation act, float alpha);

}  // namespace inferrt::cudakernels
