#include "runtime/shape_resolution.h"

#include "backend/cpu/executor.h"
#include "ir/error.h"

namespace inferrt {

std::vector<TensorDesc> resolveShapes(const Network& network, const std::vector<Dims>& inputDims,
                                      const std::vector<TensorPtr>& inputValues) {
  const auto& tensors = network.tensors();
  if (inputDims.size() != network.inputs().size())
    fail(ErrorCode::Internal, "resolveShapes got ", inputDims.size(), " input shapes for ", network.inputs().size());
  std::vector<TensorDesc> descs(tensors.size());
  for (size_t t = 0; t < tensors.size(); ++t) {
    descs[t].dtype = tensors[t].dtype;
    descs[t].dims = tensors[t].dims;
    // Folded values are recomputed below from these dims; only constants are taken as they are.
    if (tensors[t].producer < 0) descs[t].value = tensors[t].value;
  }
  for (size_t i = 0; i < inputDims.size(); ++i) descs[network.inputs()[i]].dims = inputDims[i];
  for (size_t i = 0; i < inputValues.size() && i < inputDims.size(); ++i) descs[network.inputs()[i]].value = inputValues[i];
  for (const Layer& layer : network.layers()) {
    std::vector<TensorDesc> in(layer.inputs.size());
    for (size_t i = 0; i < layer.inputs.size(); ++i) {
      if (layer.inputs[i] < 0) in[i].present = false;
      else in[i] = descs[layer.inputs[i]];
    }
    std::vector<TensorDesc> out = evaluateLayer(layer, in, kDefinitionFoldLimit);
    for (size_t o = 0; o < out.size(); ++o) descs[layer.outputs[o]] = std::move(out[o]);
  }
  return descs;
}

}  // namespace inferrt
