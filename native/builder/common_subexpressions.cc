// Common-subexpression elimination: a layer of the same kind, attributes and precision as an earlier one, reading
// the same inputs, computes the same outputs (no layer kind here has state or randomness), so its readers read the
// earlier layer's outputs and it goes. Inputs count as the same when they are one tensor, or small constants (up to
// kMaxComparedConstantBytes) of equal dtype, dims and bytes: exporters write such scalars once per use. PyTorch's
// export of BERT with SDPA attention turns the padding mask into a [B, 1, S, S] additive mask with Where(mask, 0,
// -inf) in every encoder layer; merged, it is made once (BERT-large's 24 copies: 0.9 ms of per-layer profile time
// at batch 64 on an H100, 0.04 ms merged; the whole batch's time moved within run-to-run noise). Plugin layers stay
// (nothing promises they are pure), and so does a layer that writes a network output.
// Runs after the fusions, rewrites and INT8 quantization, so their patterns see the graph the exporter wrote.
#include <map>
#include <string>
#include <vector>

#include "builder/passes.h"
#include "plan/attribute_bytes.h"

namespace inferrt {

namespace {

constexpr size_t kMaxComparedConstantBytes = 4096;

// The layer's attributes as plan bytes (names and tagged values), so only identical attributes give equal keys.
std::string attributesKey(const Attributes& attrs) {
  ByteWriter w;
  for (const auto& [name, value] : attrs.all()) {
    w.str(name);
    writeAttributeValue(w, value);
  }
  return std::string(w.buffer().begin(), w.buffer().end());
}

// The tensor standing for `t`'s value: the first small constant with the same dtype, dims and bytes, else t.
class ConstantCanon {
 public:
  explicit ConstantCanon(const std::vector<TensorInfo>& tensors) : tensors_(tensors), known_(tensors.size(), -2) {}

  int of(int t) {
    if (t < 0) return t;
    if (known_[t] == -2) known_[t] = canonical(t);
    return known_[t];
  }

 private:
  int canonical(int t) {
    const TensorInfo& info = tensors_[t];
    if (info.producer >= 0 || info.isInput || !info.value || !info.value->defined() ||
        info.value->byteSize() > kMaxComparedConstantBytes)
      return t;
    std::string key = std::to_string(static_cast<int>(info.value->dtype())) + "|";
    for (int64_t d : info.value->dims()) key += std::to_string(d) + ",";
    key += "|";
    key.append(static_cast<const char*>(info.value->raw()), info.value->byteSize());
    return canon_.emplace(std::move(key), t).first->second;
  }

  const std::vector<TensorInfo>& tensors_;
  std::vector<int> known_;  // per tensor: its canonical tensor, -2 until asked
  std::map<std::string, int> canon_;
};

}  // namespace

size_t eliminateCommonSubexpressions(Network& network) {
  std::vector<TensorInfo> tensors = network.tensors();
  std::vector<Layer> layers = network.layers();
  std::vector<int> replacement(tensors.size(), -1);  // per tensor: the earlier tensor with its value
  std::vector<bool> keep(layers.size(), true);
  std::map<std::string, size_t> seen;  // layer key -> the first layer with it
  ConstantCanon constants(tensors);
  size_t merged = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    Layer& layer = layers[l];
    for (int& t : layer.inputs)
      if (t >= 0 && replacement[t] >= 0) t = replacement[t];
    if (layer.kind == "Plugin") continue;
    std::string key = layer.kind + "#" + std::to_string(static_cast<int>(layer.precision)) + "#" +
                      std::to_string(layer.outputs.size()) + "#";
    for (int t : layer.inputs) key += std::to_string(constants.of(t)) + ",";  // absent inputs stay -1
    key += "#" + attributesKey(layer.attrs);
    const auto [first, added] = seen.emplace(std::move(key), l);
    if (added) continue;
    const Layer& earlier = layers[first->second];
    bool writesOutput = false, sameOutputs = true;
    for (size_t i = 0; i < layer.outputs.size(); ++i) {
      const TensorInfo& mine = tensors[layer.outputs[i]];
      const TensorInfo& theirs = tensors[earlier.outputs[i]];
      writesOutput = writesOutput || mine.isOutput;
      sameOutputs = sameOutputs && mine.dtype == theirs.dtype && mine.dims == theirs.dims;
    }
    if (writesOutput || !sameOutputs) continue;
    for (size_t i = 0; i < layer.outputs.size(); ++i) replacement[layer.outputs[i]] = earlier.outputs[i];
    keep[l] = false;
    ++merged;
  }
  if (!merged) return 0;
  network.assign(std::move(tensors), std::move(layers), network.inputs(), network.outputs());
  compactNetwork(network, keep);
  return merged;
}

}  // namespace inferrt
