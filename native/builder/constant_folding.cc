// Constant folding: a layer whose inputs are all known (weights, or values folded before it) is run once on
// the CPU kernels and replaced by constants. Shape subgraphs over static dims disappear this way.
#include "backend/cpu/executor.h"
#include "builder/passes.h"

namespace inferrt {

namespace {

// Larger results stay layers: folding them would only make the plan bigger.
constexpr int64_t kBuildFoldLimit = int64_t{1} << 24;

std::string nameList(const std::vector<std::string>& names, size_t shown) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < shown; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > shown) s += ", ... (" + std::to_string(names.size() - shown) + " more)";
  return s;
}

}  // namespace

void foldConstants(Network& network, BuildLog& log) {
  std::vector<TensorInfo> tensors = network.tensors();
  const auto& layers = network.layers();
  std::vector<bool> keep(layers.size(), true);
  std::vector<std::string> folded;
  for (size_t l = 0; l < layers.size(); ++l) {
    const Layer& layer = layers[l];
    bool known = true;
    for (int t : layer.outputs) known = known && tensors[t].value;
    if (!known) {
      std::vector<TensorDesc> out = evaluateLayer(layer, inputDescs(layer, tensors), kBuildFoldLimit);
      known = true;
      for (const TensorDesc& d : out) known = known && d.value;
      if (!known) continue;
      for (size_t o = 0; o < out.size(); ++o) tensors[layer.outputs[o]].value = out[o].value;
    }
    for (int t : layer.outputs) {
      tensors[t].producer = -1;
      tensors[t].isConstant = true;
      tensors[t].dims = tensors[t].value->dims();
    }
    keep[l] = false;
    folded.push_back(layer.name);
  }
  if (folded.empty()) return;
  network.assign(tensors, layers, network.inputs(), network.outputs());
  compactNetwork(network, keep);
  log.push_back("constant folding: " + std::to_string(folded.size()) + " layer" + (folded.size() == 1 ? "" : "s") +
                " replaced by constants: " + nameList(folded, 12));
}

}  // namespace inferrt
