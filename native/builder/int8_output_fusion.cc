// INT8 output fusion: a channels-last QuantizedConvolution whose output only one-scale int8 QuantizeLinear layers
// read (the INT8 pass puts one in front of each INT8 layer) writes their int8 values itself. In a ResNet bottleneck
// that is the first two convolutions of every block: their float outputs never reach memory, and the separate
// quantize pass over them goes. Channels-last only: the CUDA kernel ends its cuDNN graph with the division.
#include <optional>
#include <set>
#include <vector>

#include "builder/int8_passes.h"

namespace inferrt {

namespace {

// The scale of QuantizeLinear `q` when it reads `x` into int8 with one constant float32 scale and no zero point.
std::optional<float> oneScaleQuantize(const Layer& q, int x, const std::vector<TensorInfo>& tensors) {
  if (q.kind != "QuantizeLinear" || q.inputs.size() < 2 || q.inputs[0] != x) return std::nullopt;
  if (q.attrs.getString("outputDType", "uint8") != "int8") return std::nullopt;
  if (q.inputs.size() > 2 && q.inputs[2] >= 0) return std::nullopt;  // a zero point
  const TensorInfo& s = tensors[q.inputs[1]];
  if (s.producer >= 0 || !s.value || s.value->dtype() != DType::Float32 || s.value->numel() != 1) return std::nullopt;
  return *s.value->data<float>();
}

}  // namespace

size_t fuseInt8Outputs(Network& network) {
  const std::vector<Layer>& layers = network.layers();
  std::vector<TensorInfo> tensors = network.tensors();
  std::vector<std::vector<int>> readers(tensors.size());
  for (size_t l = 0; l < layers.size(); ++l)
    for (int t : layers[l].inputs)
      if (t >= 0) readers[t].push_back(static_cast<int>(l));
  const std::set<int> outputs(network.outputs().begin(), network.outputs().end());
  std::vector<Layer> fused = layers;
  std::vector<bool> keep(layers.size(), true);
  std::vector<int> replacement(tensors.size(), -1);  // a dropped QuantizeLinear's output -> the convolution's
  size_t count = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    const Layer& conv = layers[l];
    if (conv.kind != "QuantizedConvolution" || conv.attrs.getInt("channels_last", 0) != 1 ||
        conv.attrs.has("output_scale"))
      continue;
    const int y = conv.outputs[0];
    if (outputs.count(y) || readers[y].empty()) continue;
    std::optional<float> scale;
    bool all = true;
    for (int r : readers[y]) {
      const std::optional<float> s = oneScaleQuantize(layers[r], y, tensors);
      all = all && s && !(scale && *s != *scale) && !outputs.count(layers[r].outputs[0]);
      if (!all) break;
      scale = s;
    }
    if (!all) continue;
    fused[l].attrs.set("output_scale", static_cast<double>(*scale));
    fused[l].attrs.erase("half_output");
    tensors[y].dtype = DType::Int8;
    for (int r : readers[y]) {
      keep[r] = false;
      replacement[layers[r].outputs[0]] = y;
    }
    ++count;
  }
  if (!count) return 0;
  for (Layer& layer : fused)
    for (int& t : layer.inputs)
      if (t >= 0 && replacement[t] >= 0) t = replacement[t];
  network.assign(std::move(tensors), std::move(fused), network.inputs(), network.outputs());
  compactNetwork(network, keep);
  return count;
}

}  // namespace inferrt
