// QuantizedMatMul with an fp16 output (the fp16 + int8 engines'; also with output_scale, its int8 values beside it
// or alone) as a 1x1 int8 convolution on cuDNN's graph API:
// a [rows, K] is the NHWC image [rows, 1, 1, K], w [N, K] the KRSC filter [N, 1, 1, K], y [rows, N] the NHWC output,
// and cuDNN fuses the whole epilogue (per-channel scale, bias, activation, fp16 store) into its int8 GEMM. cuBLASLt's
// int8 GEMM writes int32 sums for a second pass instead, which made INT8 BERT-large slower than FP16 (H100, 24576
// tokens, bench/probes/cudnn-int8-matmul.cc: K 1024 -> N 3072 takes 0.138 ms here with its epilogue, cuBLASLt 0.160
// ms for the int32 sums alone and 0.221 ms in fp16).
// Within fp32 rounding of the CPU kernel (cuDNN may fuse a multiply-add; its erf GELU is not the CPU's), so only
// fp16 and int8-only outputs take it: float32-output engines keep the bit-exact cuBLASLt path.
#pragma once
#include <cstdint>

#include "backend/cuda/kernels/cuda_kernel.h"
#include "backend/cuda/kernels/cudnn_int8_convolution.h"
#include "ir/gemm_activation.h"

namespace inferrt::cudakernels {

// Whether the route takes a layer with this activation, K and N whose float output is fp16 or absent (int8-only):
// cuDNN built in, activation none, relu or gelu (cuDNN's tanh-form GELU strayed 14 fp16 ulps on the probe), K and N
// multiples of 16 (cuDNN's int8 kernels take 16-byte rows). The kernel also needs 16-byte aligned operands.
bool cudnnTakesQuantizedMatMul(GemmActivation act, int64_t k, int64_t n);

// The layer's dims as the route's cuDNN problem (fp16 y unless int8Only; outputScale > 0: its int8 values too).
cudnnint8::Int8ConvProblem quantizedMatMulProblem(int64_t rows, int64_t n, int64_t k, bool bias, GemmActivation act,
                                                  float outputScale, bool int8Only);

// Runs y = act(float(a * w^T) * scale + bias) (and its int8 values y / outputScale when outputScale > 0) on cuDNN
// and returns true when the route takes these operands (cudnnTakesQuantizedMatMul, an fp16 y or none, aligned) and
// cuDNN has an engine for the graph. False, enqueueing nothing, otherwise.
bool runQuantizedMatMulOnCudnn(CudaKernelArgs& args, int64_t rows, int64_t n, int64_t k, GemmActivation act,
                               float outputScale);

}  // namespace inferrt::cudakernels
