// CPU evaluation of the layers a tensor depends on, for probe input values (builder/graph_probe.h).
#include "builder/graph_probe.h"

#include <limits>

#include "backend/cpu/executor.h"
#include "ir/error.h"

namespace inferrt {

namespace {

// Layers whose outputs `target` depends on, in network order.
std::vector<int> ancestorLayers(const Network& network, int target) {
  const auto& tensors = network.tensors();
  const auto& layers = network.layers();
  std::vector<bool> needed(layers.size(), false);
  std::vector<int> stack{target};
  while (!stack.empty()) {
    const int t = stack.back();
    stack.pop_back();
    const int p = tensors[t].producer;
    if (p < 0 || needed[p]) continue;
    needed[p] = true;
    for (int in : layers[p].inputs)
      if (in >= 0) stack.push_back(in);
  }
  std::vector<int> order;
  for (size_t l = 0; l < layers.size(); ++l)
    if (needed[l]) order.push_back(static_cast<int>(l));
  return order;
}

}  // namespace

std::optional<TensorDesc> probeDesc(const Network& network, int target, const std::map<int, TensorPtr>& inputs,
                                    int64_t maxElements) {
  const auto& tensors = network.tensors();
  std::map<int, TensorDesc> known;
  for (const auto& [t, v] : inputs) known[t] = TensorDesc{v->dtype(), v->dims(), v, true};
  auto descOf = [&](int t) -> std::optional<TensorDesc> {
    auto it = known.find(t);
    if (it != known.end()) return it->second;
    if (tensors[t].value) return TensorDesc{tensors[t].dtype, tensors[t].dims, tensors[t].value, true};
    return std::nullopt;
  };
  if (auto d = descOf(target)) return d;
  try {
    for (int l : ancestorLayers(network, target)) {
      const Layer& layer = network.layers()[l];
      std::vector<TensorDesc> descs(layer.inputs.size());
      for (size_t i = 0; i < layer.inputs.size(); ++i) {
        if (layer.inputs[i] < 0) {
          descs[i].present = false;
          continue;
        }
        const std::optional<TensorDesc> d = descOf(layer.inputs[i]);
        if (!d) return std::nullopt;  // an input the caller gave no value for
        descs[i] = *d;
      }
      const std::vector<TensorDesc> out = evaluateLayer(layer, descs, maxElements);
      for (size_t o = 0; o < out.size(); ++o) known[layer.outputs[o]] = out[o];
    }
  } catch (const Error&) {
    return std::nullopt;
  }
  return descOf(target);
}

TensorPtr probeTensor(const Network& network, int target, const std::map<int, TensorPtr>& inputs) {
  const std::optional<TensorDesc> d = probeDesc(network, target, inputs);
  return d ? d->value : nullptr;
}

std::vector<TensorPtr> probeLayer(const Network& network, int layer, const std::vector<TensorPtr>& values) {
  const Layer& l = network.layers()[layer];
  std::vector<TensorDesc> descs(l.inputs.size());
  for (size_t i = 0; i < l.inputs.size(); ++i) {
    const int t = l.inputs[i];
    TensorPtr v = i < values.size() && values[i] ? values[i] : (t >= 0 ? network.tensors()[t].value : nullptr);
    if (t < 0) {
      descs[i].present = false;
      continue;
    }
    if (!v) return {};
    descs[i] = {v->dtype(), v->dims(), v, true};
  }
  try {
    std::vector<TensorPtr> result;
    for (const TensorDesc& d : evaluateLayer(l, descs, std::numeric_limits<int64_t>::max())) {
      if (!d.value) return {};
      result.push_back(d.value);
    }
    return result;
  } catch (const Error&) {
    return {};
  }
}

}  // namespace inferrt
