// The activations a GEMM layer (MatMul, QuantizedMatMul, the FullyConnected plugin) may carry in its
// 'activation' attribute, put there by the builder's fusions: "none", "relu", "gelu" (exact, with erf) and
// "gelu_tanh" (0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): ONNX Gelu with approximate="tanh", what the
// approximateGelu build option makes of exact GELUs, and what cuBLASLt's GELU epilogue computes).
#pragma once
#include <string>

namespace inferrt {

inline bool isGemmActivation(const std::string& act) {
  return act == "none" || act == "relu" || act == "gelu" || act == "gelu_tanh";
}

// For error messages: "'none', 'relu', 'gelu' or 'gelu_tanh'".
inline const char* gemmActivationNames() { return "'none', 'relu', 'gelu' or 'gelu_tanh'"; }

}  // namespace inferrt
