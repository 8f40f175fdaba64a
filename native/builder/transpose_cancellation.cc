// Back-to-back transposes: Transpose(p2) of Transpose(p1)'s output reads the first one's input through the
// composed permutation (output dim i is input dim p1[p2[i]]). An identity composition disappears, its readers
// reading the first transpose's input instead (unless it is a network output); any other becomes one Transpose
// of that input. A first transpose nobody reads any more goes too. An identity transpose left writing a network
// output whose input only it reads hands the output to that input's writer instead. Runs after the channels-last
// pass, whose inserted transposes meet the model's own (e.g. a TensorFlow export's NHWC -> NCHW at the input).
#include <vector>

#include "builder/passes.h"
#include "ir/ops/movement_geometry.h"

namespace inferrt {

size_t cancelTransposePairs(Network& network) {
  std::vector<TensorInfo> tensors = network.tensors();
  std::vector<Layer> layers = network.layers();
  std::vector<int> replacement(tensors.size(), -1);  // per tensor: the tensor its readers read instead
  size_t changed = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    Layer& layer = layers[l];
    for (int& t : layer.inputs)
      if (t >= 0 && replacement[t] >= 0) t = replacement[t];
    if (layer.kind != "Transpose" || layer.inputs.size() != 1) continue;
    const int mid = layer.inputs[0];
    const int first = tensors[mid].producer;
    if (first < 0 || layers[first].kind != "Transpose" || layers[first].inputs.size() != 1) continue;
    const int source = layers[first].inputs[0];
    const int64_t rank = static_cast<int64_t>(tensors[source].dims.size());
    if (static_cast<int64_t>(tensors[mid].dims.size()) != rank) continue;
    std::vector<int64_t> p1, p2;
    try {
      p1 = transposePerm(layers[first].attrs, rank);
      p2 = transposePerm(layer.attrs, rank);
    } catch (const Error&) {
      continue;
    }
    std::vector<int64_t> composed(static_cast<size_t>(rank));
    bool identity = true;
    for (int64_t i = 0; i < rank; ++i) {
      composed[i] = p1[p2[i]];
      identity = identity && composed[i] == i;
    }
    const int out = layer.outputs[0];
    if (identity && !tensors[out].isOutput && tensors[out].dtype == tensors[source].dtype &&
        tensors[out].dims == tensors[source].dims) {
      replacement[out] = source;
    } else {
      layer.inputs[0] = source;
      layer.attrs.set("perm", composed);
    }
    ++changed;
  }
  if (!changed) return 0;
  // Keep what a network output still needs (walking back), as dead-layer elimination does.
  std::vector<bool> needed(tensors.size(), false), keep(layers.size(), false);
  for (int t : network.outputs()) needed[t] = true;
  for (size_t l = layers.size(); l-- > 0;) {
    for (int t : layers[l].outputs) keep[l] = keep[l] || needed[t];
    if (!keep[l]) continue;
    for (int t : layers[l].inputs)
      if (t >= 0) needed[t] = true;
  }
  // Identity transposes whose input has no other reader: its writer writes their output directly.
  std::vector<int> readers(tensors.size(), 0);
  for (size_t l = 0; l < layers.size(); ++l)
    if (keep[l])
      for (int t : layers[l].inputs)
        if (t >= 0) ++readers[t];
  for (size_t l = 0; l < layers.size(); ++l) {
    const Layer& layer = layers[l];
    if (!keep[l] || layer.kind != "Transpose" || layer.inputs.size() != 1) continue;
    const int in = layer.inputs[0], out = layer.outputs[0], writer = tensors[in].producer;
    const std::vector<int64_t> perm = layer.attrs.getInts("perm", {});
    bool identity = !perm.empty() && perm.size() == tensors[in].dims.size();
    for (size_t i = 0; identity && i < perm.size(); ++i) identity = perm[i] == static_cast<int64_t>(i);
    if (!identity || writer < 0 || readers[in] != 1 || tensors[in].isOutput || tensors[in].isInput ||
        tensors[in].dtype != tensors[out].dtype || tensors[in].dims != tensors[out].dims)
      continue;
    for (int& t : layers[writer].outputs)
      if (t == in) t = out;
    tensors[out].producer = writer;
    keep[l] = false;
  }
  network.assign(std::move(tensors), std::move(layers), network.inputs(), network.outputs());
  compactNetwork(network, keep);
  return changed;
}

}  // namespace inferrt
