// Explicit quantization (ONNX QuantizeLinear / DequantizeLinear in the network), INT8 builds only: before
// anything else runs, the Q/DQ layers become scale annotations that the INT8 layer pass (int8_quantization.cc)
// reads after fusion, as TensorRT's explicit-precision mode folds Q/DQ into the layers around them.
// - DequantizeLinear of a constant int8 weight with zero point 0 becomes the float weight it denotes, and its
//   scales are recorded under that tensor's name (quantizing it again with them gives back the same int8 values).
// - QuantizeLinear -> DequantizeLinear of an activation, symmetric int8 with one scale: the DequantizeLinear's readers
//   read the QuantizeLinear's input instead, and that tensor is recorded with the scale. Where no INT8 layer ends up
//   reading it, its quantization is dropped (TensorRT propagates Q/DQ past max-pooling and the like the same way).
// Pairs with a non-zero zero point, per-axis activation scales, or a network output between them stay as they are
// and run as written.
#include <cmath>
#include <string>
#include <vector>

#include "builder/int8_passes.h"
#include "ir/gemm_layers.h"

namespace inferrt {

namespace {

const Tensor* constantOf(const std::vector<TensorInfo>& tensors, int t) {
  if (t < 0 || tensors[t].producer >= 0 || !tensors[t].value) return nullptr;
  return tensors[t].value.get();
}

// Scale values of a Q/DQ layer when constant, float32, finite and > 0; empty otherwise.
std::vector<float> scalesOf(const std::vector<TensorInfo>& tensors, const Layer& layer) {
  const Tensor* s = constantOf(tensors, layer.inputs[1]);
  if (!s || s->dtype() != DType::Float32 || s->numel() == 0) return {};
  std::vector<float> out(s->data<float>(), s->data<float>() + s->numel());
  for (float v : out)
    if (!std::isfinite(v) || !(v > 0)) return {};
  return out;
}

// Whether the zero point is absent or a constant of zeros, and the quantized type int8.
bool symmetricInt8(const std::vector<TensorInfo>& tensors, const Layer& layer, int quantizedTensor) {
  if (tensors[quantizedTensor].dtype != DType::Int8) return false;
  if (layer.inputs.size() < 3 || layer.inputs[2] < 0) return true;
  const Tensor* zp = constantOf(tensors, layer.inputs[2]);
  if (!zp) return false;
  for (int64_t i = 0; i < zp->numel(); ++i)
    if (zp->getInt(i) != 0) return false;
  return true;
}

bool isOutput(const Network& network, int t) {
  for (int o : network.outputs())
    if (o == t) return true;
  return false;
}

// The float32 weight a DequantizeLinear of constant int8 `q` denotes: q[i] * scale[channel of i].
Tensor dequantizedWeight(const Tensor& q, const std::vector<float>& scales, int64_t axis) {
  Tensor w(DType::Float32, q.dims());
  int64_t inner = 1;
  for (size_t d = static_cast<size_t>(axis) + 1; d < q.dims().size(); ++d) inner *= q.dims()[d];
  const int64_t channels = scales.size() == 1 ? 1 : q.dims()[axis];
  for (int64_t i = 0; i < q.numel(); ++i)
    w.data<float>()[i] = static_cast<float>(q.data<int8_t>()[i]) * scales[channels == 1 ? 0 : (i / inner) % channels];
  return w;
}

}  // namespace

QuantizationTable absorbQdqPairs(Network& network, BuildLog& log) {
  QuantizationTable table;
  std::vector<TensorInfo> tensors = network.tensors();
  std::vector<Layer> layers = network.layers();
  std::vector<bool> keep(layers.size(), true);
  size_t weights = 0, pairs = 0, kept = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    const Layer& dq = layers[l];
    if (dq.kind != "DequantizeLinear") continue;
    const int x = dq.inputs[0], y = dq.outputs[0];
    if (tensors[x].dtype == DType::Int32) continue;  // a quantized bias: constant folding evaluates it
    const std::vector<float> scales = scalesOf(tensors, dq);
    if (scales.empty() || !symmetricInt8(tensors, dq, x) || tensors[y].dtype != DType::Float32) {
      ++kept;
      continue;
    }
    if (const Tensor* q = constantOf(tensors, x)) {
      const int64_t rank = static_cast<int64_t>(q->dims().size());
      int64_t axis = dq.attrs.getInt("axis", 1);
      if (axis < 0) axis += rank;
      if (scales.size() > 1 && (axis < 0 || axis >= rank || q->dims()[axis] != static_cast<int64_t>(scales.size()))) {
        ++kept;
        continue;
      }
      tensors[y].value = std::make_shared<const Tensor>(dequantizedWeight(*q, scales, axis));
      tensors[y].isConstant = true;
      tensors[y].producer = -1;
      table.weights[tensors[y].name] = WeightScales{scales, scales.size() > 1 ? axis : 0};
      keep[l] = false;
      ++weights;
      continue;
    }
    const int p = tensors[x].producer;
    // A QuantizeLinear with an activation (gelu_quantize_handoff.cc's form) is no plain pair: folding it would drop it.
    if (p < 0 || layers[p].kind != "QuantizeLinear" || gemmActivationOf(layers[p]) != GemmActivation::None ||
        scales.size() != 1 || isOutput(network, x) ||
        isOutput(network, y) || scalesOf(tensors, layers[p]) != scales || !symmetricInt8(tensors, layers[p], x) ||
        tensors[layers[p].inputs[0]].dtype != DType::Float32) {
      ++kept;
      continue;
    }
    const int source = layers[p].inputs[0];
    for (Layer& reader : layers)
      for (int& t : reader.inputs)
        if (t == y) t = source;
    table.activations.emplace(tensors[source].name, scales[0]);  // the first pair's scale wins a conflict
    ++pairs;
  }
  if (weights + pairs + kept == 0) return table;
  network.assign(std::move(tensors), std::move(layers), network.inputs(), network.outputs());
  compactNetwork(network, keep);
  log.push_back("int8: explicit quantization: " + std::to_string(pairs) + " Q/DQ pair(s) on activations and " +
                std::to_string(weights) + " quantized weight(s) folded into scales" +
                (kept ? "; " + std::to_string(kept) +
                            " DequantizeLinear layer(s) kept as written (zero point, per-axis activation, "
                            "or a network output between the pair)"
                      : ""));
  return table;
}

}  // namespace inferrt
