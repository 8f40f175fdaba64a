// Precision assignment: every layer leaves the builder with an explicit precision. With fp16 allowed, layers
// that compute floats run in fp16 (the CPU backend emulates it by rounding what they read and write), and the
// fp32 weights they read are rounded to fp16-representable values, as the CUDA backend stores them in fp16.
#include "builder/passes.h"
#include "backend/cpu/executor.h"

namespace inferrt {

namespace {

bool computesFloats(const Layer& layer, const std::vector<TensorInfo>& tensors) {
  for (int t : layer.outputs)
    if (isFloat(tensors[t].dtype)) return true;
  return false;
}

// Cast / DequantizeLinear of integers to float: integer accumulators (MatMulInteger, ConvInteger) overflow fp16's
// 65504, so these layers and the ones reading their output (the dequantizing Mul) stay fp32 unless pinned.
bool widensIntegers(const Layer& layer, const std::vector<TensorInfo>& tensors) {
  return (layer.kind == "Cast" || layer.kind == "DequantizeLinear") && layer.inputs[0] >= 0 &&
         isInteger(tensors[layer.inputs[0]].dtype) && computesFloats(layer, tensors);
}

std::vector<bool> keptInFp32(const std::vector<Layer>& layers, const std::vector<TensorInfo>& tensors) {
  std::vector<bool> widened(tensors.size(), false), keep(layers.size(), false);
  for (size_t l = 0; l < layers.size(); ++l) {
    bool readsWidened = false;
    for (int t : layers[l].inputs) readsWidened = readsWidened || (t >= 0 && widened[t]);
    const bool widens = widensIntegers(layers[l], tensors);
    keep[l] = widens || readsWidened;
    if (widens)
      for (int t : layers[l].outputs) widened[t] = true;
  }
  return keep;
}

}  // namespace

void assignPrecision(Network& network, const BuildConfig& config, BuildLog& log) {
  std::vector<TensorInfo> tensors = network.tensors();
  std::vector<Layer> layers = network.layers();
  size_t half = 0, int8 = 0, wide = 0;
  const std::vector<bool> fp32 = keptInFp32(layers, tensors);
  for (size_t l = 0; l < layers.size(); ++l) {
    Layer& layer = layers[l];
    LayerPrecision p = layer.precision;
    const bool isInt8Layer = layer.kind == "QuantizedMatMul" || layer.kind == "QuantizedConvolution";
    if (isInt8Layer) ++int8;
    // INT8 layers come from the int8 pass only; an int8 request elsewhere falls back to the config (the pass
    // logged why the layer stayed float).
    if (p == LayerPrecision::Int8 && !isInt8Layer) p = LayerPrecision::Default;
    if (isInt8Layer) p = LayerPrecision::Int8;
    if (p == LayerPrecision::Default && config.fp16 && fp32[l] && computesFloats(layer, tensors)) ++wide;
    if (p == LayerPrecision::Default)
      p = config.fp16 && computesFloats(layer, tensors) && !fp32[l] ? LayerPrecision::Float16 : LayerPrecision::Float32;
    layer.precision = p;
    if (p == LayerPrecision::Float16) ++half;
  }
  size_t rounded = 0;
  std::vector<bool> done(tensors.size(), false);
  for (const Layer& layer : layers) {
    if (layer.precision != LayerPrecision::Float16) continue;
    for (int t : layer.inputs) {
      if (t < 0 || done[t] || !tensors[t].value || tensors[t].dtype != DType::Float32) continue;
      tensors[t].value = roundedToHalf(*tensors[t].value);
      done[t] = true;
      ++rounded;
    }
  }
  if (config.int8 && !int8) log.push_back("precision: no layer runs in int8");
  if (config.fp16 || half)
    log.push_back("precision: " + std::to_string(half) + " of " + std::to_string(layers.size()) +
                  " layers run in fp16; " + std::to_string(rounded) + " fp32 weight tensor(s) rounded to fp16 values" +
                  (wide ? "; " + std::to_string(wide) + " layer(s) turning integers into floats (and their readers) kept in fp32" : ""));
  network.assign(std::move(tensors), std::move(layers), network.inputs(), network.outputs());
}

}  // namespace inferrt
