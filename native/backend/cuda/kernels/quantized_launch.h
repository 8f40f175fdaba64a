// Host launchers of the INT8 family's own kernels: QuantizeLinear (quantized.cu), the dequantizing epilogue of
// QuantizedMatMul / QuantizedConvolution (quantized.cu), and the int8 operand preparation and GEMM fallback
// (quantized_im2col.cu: zero-padded copies, im2col, a plain tiled int8 GEMM for shapes cuBLASLt declines).
// Plain C++ parameters only (ir/gemm_activation.h is a bare enum), so nvcc never sees the IR. A launcher returns
// false, launching nothing, for arguments it has no kernel for (the caller validates first, so false means a bug);
// the caller then checks cudaGetLastError().
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "ir/gemm_activation.h"

namespace inferrt::cudakernels {

using ::inferrt::GemmActivation;

// y[i] = saturate(roundHalfEven(act(x[i]) / scale[0])) into int8 (NaN gives 0), divided in fp32 as the CPU kernel
// does. x is fp16 (xHalf) or fp32; the scale (one value) fp16 (scaleHalf) or fp32, read on the device. act: the
// builder's GELU handoff (else None), in double for an fp32 x (the CPU's value), in float for an fp16 one (see
// launchQuantizeHalfByTable, which gives fp16 x the CPU's values).
bool launchQuantizeInt8(const void* x, bool xHalf, const void* scale, bool scaleHalf, GemmActivation act, int8_t* y,
                        int64_t n, int multiProcessors, cudaStream_t stream);
// The same for fp16 x with an activation, by a table of the int8 value of every fp16 bit pattern (`table`: device
// memory of halfQuantizeTableBytes(), 16-byte aligned, rewritten each call), activation in double: the CPU's values.
// False, launching nothing, where it does not apply (n % 8 != 0, x not 16-byte or y not 8-byte aligned, or the
// device refuses the kernel 64 KiB of shared memory).
size_t halfQuantizeTableBytes();
bool launchQuantizeHalfByTable(const void* x, const void* scale, bool scaleHalf, GemmActivation act, void* table,
                               int8_t* y, int64_t n, int multiProcessors, cudaStream_t stream);
// launchQuantizeInt8 with the scale passed by value (an INT8 layer's output_scale).
bool launchQuantizeInt8ByValue(const void* x, bool xHalf, float scale, int8_t* y, int64_t n, int multiProcessors,
                               cudaStream_t stream);

// The output y [images, channels, plane] (row-major, float32) of an INT8 layer from its int32 accumulators:
// element (b, c, p) reads acc[c * accChannelStride + b * accImageStride + p] (0 when acc is null: an empty sum)
// and stores act(float(acc) * scale[c] + bias[c] + residual[i]), each step an fp32 rounding (bias and residual
// optional; GELU exact-erf or tanh in double for float32 y, in float for fp16 y: the CPU kernel's applyActivation,
// rounded once). acc may alias y when element (b, c, p) of both is at the same address (in-place conversion).
struct Int8EpilogueGeometry {
  int64_t images = 0, channels = 0, plane = 1;
  int64_t accChannelStride = 0, accImageStride = 0;
};
// y (float32, or fp16 when yHalf) = act(float(acc) * scale[c] + bias[c] + residual): acc may alias a float32 y.
// The residual (y's layout) is float32, or fp16 when residualHalf (an fp16-stored activation, read as stored).
bool launchInt8Epilogue(const int32_t* acc, const float* scale, const float* bias, const void* residual,
                        bool residualHalf, void* y, bool yHalf, const Int8EpilogueGeometry& g, GemmActivation act,
                        int multiProcessors, cudaStream_t stream);
// The same for a row-major y [rows, channels] from acc [rows, accStride] (null acc: empty sums), no residual; acc
// may alias a float32 y when accStride == channels (each element is read, then written, by one thread).
bool launchInt8RowsEpilogue(const int32_t* acc, int64_t accStride, const float* scale, const float* bias, void* y,
                            bool yHalf, int64_t rows, int64_t channels, GemmActivation act, int multiProcessors,
                            cudaStream_t stream);

// dst [dstRows, dstCols] = src [rows, cols] (row-major, contiguous) in its top-left corner, zeros elsewhere:
// GEMM operands padded to cuBLASLt's int8 multiples. dstRows >= rows, dstCols >= cols.
bool launchPadInt8(const int8_t* src, int64_t rows, int64_t cols, int8_t* dst, int64_t dstRows, int64_t dstCols,
                   int multiProcessors, cudaStream_t stream);

// im2col of an int8 NCHW convolution input (1 to 3 spatial dims as 3 slots with leading 1s), per group: col
// [groups][rowsPadded][kPadded] with row b * P + p (image b of this chunk, output position p of P) holding the
// input values under the kernel window of p in group g's channels, k = c * taps + tap (w's [C/group, k...] order),
// zeros for padding taps, for k >= (channels / groups) * taps and for rows >= images * P.
struct Im2ColGeometry {
  int64_t images = 0, channels = 0, groups = 1;
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, kernel[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1}, dilation[3] = {1, 1, 1}, padBegin[3] = {0, 0, 0};
  int64_t rowsPadded = 0, kPadded = 0;
};
bool launchIm2ColInt8(const int8_t* x, int8_t* col, const Im2ColGeometry& g, int multiProcessors, cudaStream_t stream);

// The GEMM of an int8 cuBLASLt "TN" call, for shapes cuBLASLt has no algorithm for: D[z] (m x n, leading dim
// ldd, int32) = A[z] (m x k, lda) * B[z]^T (B stored n x k, ldb), z < batch, at element strides strideA/B/D.
// Exact: int32 sums that wrap as the CPU kernels' do.
struct Int8GemmGeometry {
  int64_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldd = 0;
  int64_t batch = 1, strideA = 0, strideB = 0, strideD = 0;
};
bool launchInt8GemmFallback(const int8_t* a, const int8_t* b, int32_t* d, const Int8GemmGeometry& g,
                            cudaStream_t stream);

}  // namespace inferrt::cudakernels
