// MatMul's own epilogue: exact-erf GELU (cuBLASLt's GELU epilogue is the tanh approximation, and the CPU oracle
// and LAYERS.md specify erf), bias / relu / tanh GELU where cuBLASLt had no fused algorithm, and the K == 0 case
// (the product is all zeros, so out = act(bias)). Computed in fp32 and rounded once into the output.
#include "backend/cuda/kernels/gemm_activation.cuh"
#include "backend/cuda/kernels/kernel_support.cuh"
#include "backend/cuda/kernels/matmul_launch.h"

namespace inferrt::cudakernels {

namespace {

// fp16 in place (the GEMM's output), 8 halves (16 bytes) per step; n % 8 == 0, so a step stays within one row.
__global__ void epilogueHalf8InPlaceKernel(uint4* data, const __half* bias, int64_t vectors, int64_t n,
                                           GemmActivation act) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < vectors;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    uint4 word = data[i];
    __half2* h = reinterpret_cast<__half2*>(&word);
    const int64_t col = (i * 8) % n;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      float2 v = __half22float2(h[j]);
      if (bias) {
        v.x += __half2float(bias[col + 2 * j]);
        v.y += __half2float(bias[col + 2 * j + 1]);
      }
      h[j] = __floats2half2_rn(applyGemmActivation(v.x, act), applyGemmActivation(v.y, act));
    }
    data[i] = word;
  }
}

template <typename TSrc, typename TOut>
__global__ void epilogueKernel(const TSrc* src, TOut* out, const TOut* bias, int64_t numel, int64_t n,
                               GemmActivation act) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < numel;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float v = src ? loadAsFloat(src, i) : 0.0f;
    if (bias) v += loadAsFloat(bias, i % n);
    storeFromFloat(out, i, applyGemmActivation(v, act));
  }
}

template <typename TSrc, typename TOut>
void launch(const void* src, void* out, const void* bias, int64_t numel, int64_t n, GemmActivation act,
            int multiProcessors, cudaStream_t stream) {
  epilogueKernel<TSrc, TOut><<<gridFor(numel, multiProcessors), kBlock, 0, stream>>>(
      static_cast<const TSrc*>(src), static_cast<TOut*>(out), static_cast<const TOut*>(bias), numel, n, act);
}

}  // namespace

bool launchGemmEpilogue(const void* src, bool srcHalf, void* out, bool outHalf, const void* bias, int64_t numel,
                        int64_t n, GemmActivation act, int multiProcessors, cudaStream_t stream) {
  if (numel <= 0) return true;
  if (n <= 0) return false;
  const bool aligned16 = reinterpret_cast<uintptr_t>(out) % 16 == 0;
  if (srcHalf && outHalf && src == out && n % 8 == 0 && numel % 8 == 0 && aligned16) {
    const int64_t vectors = numel / 8;
    epilogueHalf8InPlaceKernel<<<gridFor(vectors, multiProcessors), kBlock, 0, stream>>>(
        static_cast<uint4*>(out), static_cast<const __half*>(bias), vectors, n, act);
  } else if (srcHalf && outHalf) {
    launch<__half, __half>(src, out, bias, numel, n, act, multiProcessors, stream);
  } else if (srcHalf) {
    launch<__half, float>(src, out, bias, numel, n, act, multiProcessors, stream);
  } else if (outHalf) {
    launch<float, __half>(src, out, bias, numel, n, act, multiProcessors, stream);
  } else {
    launch<float, float>(src, out, bias, numel, n, act, multiProcessors, stream);
  }
  return true;
}

}  // namespace inferrt::cudakernels
