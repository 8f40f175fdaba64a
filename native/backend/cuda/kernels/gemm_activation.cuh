// The GEMM layers' activations (ir/gemm_activation.h) in fp32 on the device: MatMul's epilogue and the INT8
// dequantizing epilogue's fp16 outputs share them, so both give the same values.
#pragma once
#include "ir/gemm_activation.h"

namespace inferrt::cudakernels {

__device__ __forceinline__ float applyGemmActivation(float v, GemmActivation act) {
  if (act == GemmActivation::Relu) return v < 0.0f ? 0.0f : v;  // NaN passes through, as the CPU's relu
  if (act == GemmActivation::Gelu) return 0.5f * v * (1.0f + erff(v * 0.70710678118654752440f));  // 1 / sqrt(2)
  if (act == GemmActivation::GeluTanh)  // sqrt(2 / pi)
    return 0.5f * v * (1.0f + tanhf(0.79788456080286535588f * (v + 0.044715f * v * v * v)));
  return v;
}

}  // namespace inferrt::cudakernels
