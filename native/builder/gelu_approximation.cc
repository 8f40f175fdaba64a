// The approximateGelu build option: exact GELUs fused into GEMM layers (MatMul, and the FullyConnected plugin of
// the packed-BERT rewrite) become "gelu_tanh", which cuBLASLt computes in the GEMM's epilogue, instead of a pass
// of our own over the GEMM's output that exact GELU needs (cuBLASLt has no erf GELU). On an H200, BERT-large's
// FFN-in GEMM over 15,172 tokens took 191 us with cuBLASLt's GELU vs 175 + 102 us with our exact-GELU pass.
// The tanh form is off by at most about 4.7e-4 (near x = -2.7, where GELU is about -0.009). GELUs left as their own
// layers stay exact: they cost a pass either way. The pass runs before the INT8 one, which copies a MatMul's
// activation into the QuantizedMatMul it makes (so that kind is matched here only for completeness).
#include <string>
#include <vector>

#include "builder/passes.h"
#include "ir/gemm_layers.h"

namespace inferrt {

size_t approximateGelus(Network& network) {
  std::vector<Layer> layers = network.layers();
  size_t changed = 0;
  for (Layer& layer : layers) {
    const bool gemm = layer.kind == "MatMul" || layer.kind == "QuantizedMatMul" || isFullyConnectedPlugin(layer);
    if (!gemm || layer.attrs.getString("activation", "none") != "gelu") continue;
    layer.attrs.set("activation", std::string("gelu_tanh"));
    ++changed;
  }
  if (changed) network.assign(network.tensors(), std::move(layers), network.inputs(), network.outputs());
  return changed;
}

}  // namespace inferrt
