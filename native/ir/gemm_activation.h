// The activation a GEMM layer applies after its bias: the 'activation' attribute of MatMul, QuantizedMatMul and the
// FullyConnected plugin, parsed by gemmActivationOf (ir/gemm_layers.h). No other includes, so kernels use it too.
#pragma once
#include <cstdint>

namespace inferrt {

enum class GemmActivation : int32_t { None = 0, Relu = 1, Gelu = 2, GeluTanh = 3 };  // gelu: erf; gelu_tanh: tanh form

}  // namespace inferrt
