// The INT8 layers' GEMM operands: zero-padded copies (cuBLASLt's int8 GEMMs want K, leading dims and the output's
// row count in multiples of 4), the im2col that turns an int8 NCHW convolution into one GEMM per group, and a
// plain shared-memory int8 GEMM for any shape cuBLASLt has no algorithm for. Every kernel writes each element of
// its output once and reads only inside its inputs.
#include <algorithm>

#include "backend/cuda/kernels/kernel_support.cuh"
#include "backend/cuda/kernels/quantized_launch.h"

namespace inferrt::cudakernels {

namespace {

__global__ void padInt8Kernel(const int8_t* __restrict__ src, int64_t rows, int64_t cols, int8_t* __restrict__ dst,
                              int64_t dstRows, int64_t dstCols) {
  const int64_t n = dstRows * dstCols;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / dstCols, c = i % dstCols;
    dst[i] = r < rows && c < cols ? src[r * cols + c] : int8_t{0};
  }
}

// One thread per (group, row, input channel) writes that channel's `taps` consecutive entries of the row, so the
// row's window position is worked out once per channel rather than once per byte (the divisions dominated); the
// extra channel slot perGroup writes the row's zero padding [kUsed, kPadded), and rows past the last image are zero.
__global__ void im2colInt8Kernel(const int8_t* __restrict__ x, int8_t* __restrict__ col, Im2ColGeometry g) {
  const int64_t taps = g.kernel[0] * g.kernel[1] * g.kernel[2];
  const int64_t perGroup = g.channels / g.groups;
  const int64_t kUsed = perGroup * taps;
  const int64_t positions = g.out[0] * g.out[1] * g.out[2];
  const int64_t inPlane = g.in[0] * g.in[1] * g.in[2];
  const int64_t rowsUsed = g.images * positions;
  const int64_t slots = perGroup + 1;
  const int64_t n = g.groups * g.rowsPadded * slots;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t c = i % slots, groupRow = i / slots;
    const int64_t row = groupRow % g.rowsPadded, group = groupRow / g.rowsPadded;
    int8_t* const out = col + groupRow * g.kPadded;
    if (c == perGroup) {
      for (int64_t k = kUsed; k < g.kPadded; ++k) out[k] = 0;
      continue;
    }
    int8_t* const dst = out + c * taps;
    if (row >= rowsUsed) {
      for (int64_t t = 0; t < taps; ++t) dst[t] = 0;
      continue;
    }
    const int64_t b = row / positions, p = row % positions;
    const int64_t o[3] = {p / (g.out[1] * g.out[2]), (p / g.out[2]) % g.out[1], p % g.out[2]};
    const int8_t* const xc = x + (b * g.channels + group * perGroup + c) * inPlane;
    int64_t t = 0;
    for (int64_t k0 = 0; k0 < g.kernel[0]; ++k0) {
      const int64_t at0 = o[0] * g.stride[0] - g.padBegin[0] + k0 * g.dilation[0];
      const bool in0 = at0 >= 0 && at0 < g.in[0];
      for (int64_t k1 = 0; k1 < g.kernel[1]; ++k1) {
        const int64_t at1 = o[1] * g.stride[1] - g.padBegin[1] + k1 * g.dilation[1];
        const bool in01 = in0 && at1 >= 0 && at1 < g.in[1];
        for (int64_t k2 = 0; k2 < g.kernel[2]; ++k2, ++t) {
          const int64_t at2 = o[2] * g.stride[2] - g.padBegin[2] + k2 * g.dilation[2];
          dst[t] = in01 && at2 >= 0 && at2 < g.in[2] ? xc[(at0 * g.in[1] + at1) * g.in[2] + at2] : int8_t{0};
        }
      }
    }
  }
}

constexpr int kTile = 16;
constexpr int64_t kMaxGridDim = 65535;

// D[z] = A[z] * B[z]^T in 16 x 16 tiles; int32 sums wrap (uint32 arithmetic), as the CPU's integer kernels.
__global__ void int8GemmKernel(const int8_t* __restrict__ a, const int8_t* __restrict__ b, int32_t* __restrict__ d,
                               Int8GemmGeometry g) {
  __shared__ int32_t aTile[kTile][kTile + 1];
  __shared__ int32_t bTile[kTile][kTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t rowTiles = (g.m + kTile - 1) / kTile, colTiles = (g.n + kTile - 1) / kTile;
  // Loop bounds depend on block indices only, so every thread of a block reaches each __syncthreads().
  for (int64_t z = blockIdx.z; z < g.batch; z += gridDim.z) {
    for (int64_t rowTile = blockIdx.y; rowTile < rowTiles; rowTile += gridDim.y) {
      for (int64_t colTile = blockIdx.x; colTile < colTiles; colTile += gridDim.x) {
        const int64_t row = rowTile * kTile + ty, col = colTile * kTile + tx;
        const int64_t bRow = colTile * kTile + ty;  // the row of B this thread loads (a column of D)
        uint32_t acc = 0;
        for (int64_t p0 = 0; p0 < g.k; p0 += kTile) {
          const int64_t p = p0 + tx;
          aTile[ty][tx] = row < g.m && p < g.k ? a[z * g.strideA + row * g.lda + p] : 0;
          bTile[ty][tx] = bRow < g.n && p < g.k ? b[z * g.strideB + bRow * g.ldb + p] : 0;
          __syncthreads();
#pragma unroll
          for (int q = 0; q < kTile; ++q)
            acc += static_cast<uint32_t>(aTile[ty][q]) * static_cast<uint32_t>(bTile[tx][q]);
          __syncthreads();
        }
        if (row < g.m && col < g.n) d[z * g.strideD + row * g.ldd + col] = static_cast<int32_t>(acc);
      }
    }
  }
}

}  // namespace

bool launchPadInt8(const int8_t* src, int64_t rows, int64_t cols, int8_t* dst, int64_t dstRows, int64_t dstCols,
                   int multiProcessors, cudaStream_t stream) {
  if (dstRows < rows || dstCols < cols || rows < 0 || cols < 0) return false;
  const int64_t n = dstRows * dstCols;
  if (n <= 0) return true;
  if (!dst || (rows > 0 && cols > 0 && !src)) return false;
  padInt8Kernel<<<gridFor(n, multiProcessors), kBlock, 0, stream>>>(src, rows, cols, dst, dstRows, dstCols);
  return true;
}

bool launchIm2ColInt8(const int8_t* x, int8_t* col, const Im2ColGeometry& g, int multiProcessors, cudaStream_t stream) {
  const int64_t positions = g.out[0] * g.out[1] * g.out[2];
  const int64_t taps = g.kernel[0] * g.kernel[1] * g.kernel[2];
  if (g.groups < 1 || g.channels % g.groups != 0 || taps < 1 || g.rowsPadded < g.images * positions ||
      g.kPadded < (g.channels / g.groups) * taps)
    return false;
  const int64_t n = g.groups * g.rowsPadded * (g.channels / g.groups + 1);  // threads: (group, row, channel slot)
  if (g.groups * g.rowsPadded * g.kPadded <= 0) return true;
  if (!col || (g.images > 0 && g.channels > 0 && !x)) return false;
  im2colInt8Kernel<<<gridFor(n, multiProcessors), kBlock, 0, stream>>>(x, col, g);
  return true;
}

bool launchInt8GemmFallback(const int8_t* a, const int8_t* b, int32_t* d, const Int8GemmGeometry& g,
                            cudaStream_t stream) {
  if (g.m <= 0 || g.n <= 0 || g.batch <= 0) return true;  // nothing to write
  if (!a || !b || !d || g.k <= 0) return false;             // an empty sum is the caller's (the epilogue's null acc)
  const dim3 block(kTile, kTile);
  const dim3 grid(static_cast<unsigned>(std::min<int64_t>((g.n + kTile - 1) / kTile, kMaxGridDim)),
                  static_cast<unsigned>(std::min<int64_t>((g.m + kTile - 1) / kTile, kMaxGridDim)),
                  static_cast<unsigned>(std::min<int64_t>(g.batch, kMaxGridDim)));
  int8GemmKernel<<<grid, block, 0, stream>>>(a, b, d, g);
  return true;
}

}  // namespace inferrt::cudakernels
