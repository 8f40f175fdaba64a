// Integer MatMul (int32 / int64): a shared-memory tiled GEMM that wraps around like the CPU kernel, whose uint64
// accumulation truncated to T equals accumulation in the unsigned type of T's own width (arithmetic mod 2^bits).
// cuBLASLt has no such GEMM, and integer MatMul is rare (shape arithmetic), so simple and exact beats fast.
#include <algorithm>

#include "backend/cuda/kernels/kernel_support.cuh"
#include "backend/cuda/kernels/matmul_launch.h"

namespace inferrt::cudakernels {

namespace {

constexpr int kTile = 16;
constexpr int64_t kMaxGridY = 65535, kMaxGridZ = 65535;

template <typename T, typename U>
__global__ void intGemmKernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ c,
                              IntGemmGeometry g) {
  __shared__ U aTile[kTile][kTile + 1];
  __shared__ U bTile[kTile][kTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t col = static_cast<int64_t>(blockIdx.x) * kTile + tx;
  const int64_t rowTiles = (g.m + kTile - 1) / kTile;
  // Loop bounds depend on block indices only, so every thread of a block reaches each __syncthreads().
  for (int64_t z = blockIdx.z; z < g.batch; z += gridDim.z) {
    int64_t rest = z, aOff = 0, bOff = 0;
    for (int d = g.batchRank - 1; d >= 0; --d) {
      const int64_t i = rest % g.batchDims[d];
      rest /= g.batchDims[d];
      aOff += i * g.aBatchStrides[d];
      bOff += i * g.bBatchStrides[d];
    }
    for (int64_t rowTile = blockIdx.y; rowTile < rowTiles; rowTile += gridDim.y) {
      const int64_t row = rowTile * kTile + ty;
      U acc = 0;
      for (int64_t p0 = 0; p0 < g.k; p0 += kTile) {
        const int64_t pa = p0 + tx, pb = p0 + ty;
        aTile[ty][tx] = row < g.m && pa < g.k ? static_cast<U>(a[aOff + row * g.aRowStride + pa * g.aColStride]) : U(0);
        bTile[ty][tx] = pb < g.k && col < g.n ? static_cast<U>(b[bOff + pb * g.bRowStride + col * g.bColStride]) : U(0);
        __syncthreads();
#pragma unroll
        for (int q = 0; q < kTile; ++q) acc += aTile[ty][q] * bTile[q][tx];
        __syncthreads();
      }
      if (row < g.m && col < g.n) c[(z * g.m + row) * g.n + col] = static_cast<T>(acc);
    }
  }
}

template <typename T, typename U>
void launch(const void* a, const void* b, void* c, const IntGemmGeometry& g, cudaStream_t stream) {
  const dim3 block(kTile, kTile);
  const dim3 grid(static_cast<unsigned>((g.n + kTile - 1) / kTile),
                  static_cast<unsigned>(std::min<int64_t>((g.m + kTile - 1) / kTile, kMaxGridY)),
                  static_cast<unsigned>(std::min<int64_t>(g.batch, kMaxGridZ)));
  intGemmKernel<T, U><<<grid, block, 0, stream>>>(static_cast<const T*>(a), static_cast<const T*>(b),
                                                  static_cast<T*>(c), g);
}

}  // namespace

bool launchIntGemm(int elementBytes, const void* a, const void* b, void* c, const IntGemmGeometry& g,
                   cudaStream_t stream) {
  if (g.m <= 0 || g.n <= 0 || g.batch <= 0) return true;  // nothing to write
  if (elementBytes == 4) {
    launch<int32_t, uint32_t>(a, b, c, g, stream);
    return true;
  }
  if (elementBytes == 8) {
    launch<int64_t, uint64_t>(a, b, c, g, stream);
    return true;
  }
  return false;
}

}  // namespace inferrt::cudakernels
