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

}  // namespace

void assignPrecision(Network& network, const BuildConfig& config, BuildLog& log) {
  std::vector<TensorInfo> tensors = network.tensors();
  std::vector<Layer> layers = network.layers();
  size_t half = 0, int8 = 0;
  for (Layer& layer : layers) {
    LayerPrecision p = layer.precision;
    const bool isInt8Layer = layer.kind == "QuantizedMatMul" || layer.kind == "QuantizedConvolution";
    if (isInt8Layer) ++int8;
    // INT8 layers come from the int8 pass only; an int8 request elsewhere falls back to the config (the pass
    // logged why the layer stayed float).
    if (p == LayerPrecision::Int8 && !isInt8Layer) p = LayerPrecision::Default;
    if (isInt8Layer) p = LayerPrecision::Int8;
    if (p == LayerPrecision::Default)
      p = config.fp16 && computesFloats(layer, tensors) ? LayerPrecision::Float16 : LayerPrecision::Float32;
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
                  " layers run in fp16; " + std::to_string(rounded) + " fp32 weight tensor(s) rounded to fp16 values");
  network.assign(std::move(tensors), std::move(layers), network.inputs(), network.outputs());
}

}  // namespace inferrt
