// What the GEMM layers have in common: MatMul, QuantizedMatMul and the FullyConnected plugin (plugins/bert: a
// MatMul's inputs x, weight [K, N], bias? and its 'activation' attribute).
//
// Activations, put in the 'activation' attribute by the builder's fusions: "none", "relu", "gelu" (exact, with
// erf) and "gelu_tanh" (0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): a fused GELU Activation with approximate
// "tanh", what the approximateGelu build option makes of exact GELUs, and what cuBLASLt's GELU epilogue computes).
#pragma once
#include <string>

#include "ir/error.h"
#include "ir/gemm_activation.h"
#include "ir/network.h"

namespace inferrt {

inline bool isGemmActivation(const std::string& act) {
  return act == "none" || act == "relu" || act == "gelu" || act == "gelu_tanh";
}

// For error messages: "'none', 'relu', 'gelu' or 'gelu_tanh'".
inline const char* gemmActivationNames() { return "'none', 'relu', 'gelu' or 'gelu_tanh'"; }

// The layer's 'activation' attribute; INVALID_ARGUMENT naming the layer when it is none of the above.
inline GemmActivation gemmActivationOf(const Layer& layer) {
  const std::string act = layer.attrs.getString("activation", "none");
  if (act == "none") return GemmActivation::None;
  if (act == "relu") return GemmActivation::Relu;
  if (act == "gelu") return GemmActivation::Gelu;
  if (act == "gelu_tanh") return GemmActivation::GeluTanh;
  fail(ErrorCode::InvalidArgument, layer.kind, " layer '", layer.name, "': attribute 'activation' must be ",
       gemmActivationNames(), ", got '", act, "'");
}

inline bool isFullyConnectedPlugin(const Layer& layer) {
  return layer.kind == "Plugin" && layer.attrs.getString("plugin_name", "") == "FullyConnected";
}

// Layers whose float GEMM the CUDA MatMul path runs on cuBLASLt, so a CUDA build times a tactic for them.
inline bool runsFloatGemm(const Layer& layer) { return layer.kind == "MatMul" || isFullyConnectedPlugin(layer); }

}  // namespace inferrt
