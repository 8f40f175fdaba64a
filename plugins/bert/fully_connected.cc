// Shape rule and attributes of FullyConnected v1 (shared by its CPU and CUDA implementations).
#include "fully_connected.h"

#include "ir/gemm_layers.h"
#include "plugin_inputs.h"

namespace inferrt {

namespace {
constexpr const char* kPlugin = "FullyConnected";
}  // namespace

std::string fullyConnectedActivation(const Layer& layer) {
  const std::string act = layer.attrs.getString("activation", "none");
  if (!isGemmActivation(act))
    fail(ErrorCode::InvalidArgument, kPlugin, " layer '", layer.name, "': attribute 'activation' must be ",
         gemmActivationNames(), ", got '", act, "'");
  return act;
}

std::vector<TensorDesc> inferFullyConnected(const Layer& layer, const std::vector<TensorDesc>& in) {
  fullyConnectedActivation(layer);
  const TensorDesc& x = in[0];
  requirePluginInput(kPlugin, in, 1, "weight", {DType::Float32, DType::Float16}, 2);
  if (x.dims.empty())
    fail(ErrorCode::ShapeMismatch, kPlugin, " input 0 (x) must have rank 1 or more, got a scalar");
  requireSameFloat(kPlugin, in, 0, "x", 1, "weight");
  Dims out = x.dims;
  unifyPluginDim(kPlugin, x.dims.back(), in[1].dims[0], "x's last dim vs weight rows (K)");
  int64_t n = in[1].dims[1];
  if (hasInput(in, 2)) {
    requirePluginInput(kPlugin, in, 2, "bias", {DType::Float32, DType::Float16}, 1);
    requireSameFloat(kPlugin, in, 2, "bias", 0, "x");
    n = unifyPluginDim(kPlugin, n, in[2].dims[0], "bias length vs weight columns (N)");
  }
  out.back() = n;
  return {makeDesc(x.dtype, out)};
}

}  // namespace inferrt
