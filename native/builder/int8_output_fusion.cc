// INT8 output fusion: a channels-last QuantizedConvolution whose output one-scale int8 QuantizeLinear layers read
// (the INT8 pass puts one in front of each INT8 layer) writes their int8 values itself: as its only output when
// nothing else reads the float one (a ResNet bottleneck's first two convolutions: their float outputs never reach
// memory), else as a second output (the block's last convolution, whose float output is also the next residual),
// quantized from the float output as stored: then exactly what the QuantizeLinear gave. The int8-only form quantizes
// the unrounded value (no fp16 rounding first). Either way the separate quantize pass goes. Channels-last only: the CUDA kernel ends its cuDNN graph with the
// division.
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
        conv.attrs.has("output_scale") || conv.outputs.size() != 1)
      continue;
    const int y = conv.outputs[0];
    std::optional<float> scale;
    std::vector<int> quantizers;
    bool floatReaders = outputs.count(y) != 0;
    for (int r : readers[y]) {
      const std::optional<float> s = oneScaleQuantize(layers[r], y, tensors);
      if (!s || outputs.count(layers[r].outputs[0]) || (scale && *s != *scale)) {
        floatReaders = true;  // reads the float value (or quantizes it differently): stays as it is
        continue;
      }
      scale = s;
      quantizers.push_back(r);
    }
    if (quantizers.empty()) continue;
    Layer& f = fused[l];
    f.attrs.set("output_scale", static_cast<double>(*scale));
    int q = y;  // the int8 output: the only one, or a second one beside the float output
    if (floatReaders) {
      TensorInfo info;
      info.name = tensors[y].name + ":int8";
      info.dtype = DType::Int8;
      info.dims = tensors[y].dims;
      info.producer = static_cast<int>(l);
      tensors.push_back(info);
      q = static_cast<int>(tensors.size()) - 1;
      f.outputs.push_back(q);
    } else {
      f.attrs.erase("half_output");
      tensors[y].dtype = DType::Int8;
    }
    for (int r : quantizers) {
      keep[r] = false;
      replacement.resize(tensors.size(), -1);
      replacement[layers[r].outputs[0]] = q;
    }
    ++count;
  }
  if (!count) return 0;
  replacement.resize(tensors.size(), -1);
  for (Layer& layer : fused)
    for (int& t : layer.inputs)
      if (t >= 0 && replacement[t] >= 0) t = replacement[t];
  network.assign(std::move(tensors), std::move(fused), network.inputs(), network.outputs());
  compactNetwork(network, keep);
  return count;
}

}  // namespace inferrt
