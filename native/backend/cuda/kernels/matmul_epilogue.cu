// MatMul's own epilogue: bias + exact-erf GELU (cuBLASLt's GELU epilogue is the tanh approximation, and the CPU
// oracle and LAYERS.md specify erf), and the K == 0 case (the product is all zeros, so out = act(bias)).
// Everything is computed in fp32 and rounded once into the output, as the CPU kernel does.
#include "backend/cuda/kernels/kernel_support.cuh"
#include "backend/cuda/kernels/matmul_launch.h"

namespace inferrt::cudakernels {

namespace {

template <typename TSrc, typename TOut>
__global__ void epilogueKernel(const TSrc* src, TOut* out, const TOut* bias, int64_t numel, int64_t n,
                               GemmActivation act) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < numel;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float v = src ? loadAsFloat(src, i) : 0.0f;
    if (bias) v += loadAsFloat(bias, i % n);
    if (act == GemmActivation::Relu) {
      v = v < 0.0f ? 0.0f : v;  // NaN passes through, as the CPU's relu
    } else if (act == GemmActivation::Gelu) {
      v = 0.5f * v * (1.0f + erff(v * 0.70710678118654752440f));
    }
    storeFromFloat(out, i, v);
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
  if (srcHalf && outHalf) {
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
