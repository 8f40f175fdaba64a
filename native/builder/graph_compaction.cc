// Removing layers from a network: renumbers the surviving tensors and layers in their old order, so the
// result stays topologically sorted.
#include "builder/passes.h"

namespace inferrt {

void compactNetwork(Network& network, const std::vector<bool>& keepLayer) {
  const auto& tensors = network.tensors();
  const auto& layers = network.layers();
  std::vector<bool> keepTensor(tensors.size(), false);
  for (int t : network.inputs()) keepTensor[t] = true;
  for (int t : network.outputs()) keepTensor[t] = true;
  for (size_t l = 0; l < layers.size(); ++l) {
    if (!keepLayer[l]) continue;
    for (int t : layers[l].inputs)
      if (t >= 0) keepTensor[t] = true;
    for (int t : layers[l].outputs) keepTensor[t] = true;
  }
  std::vector<int> tensorMap(tensors.size(), -1), layerMap(layers.size(), -1);
  std::vector<TensorInfo> newTensors;
  for (size_t t = 0; t < tensors.size(); ++t) {
    if (!keepTensor[t]) continue;
    tensorMap[t] = static_cast<int>(newTensors.size());
    newTensors.push_back(tensors[t]);
  }
  std::vector<Layer> newLayers;
  for (size_t l = 0; l < layers.size(); ++l) {
    if (!keepLayer[l]) continue;
    layerMap[l] = static_cast<int>(newLayers.size());
    Layer layer = layers[l];
    for (int& t : layer.inputs)
      if (t >= 0) t = tensorMap[t];
    for (int& t : layer.outputs) t = tensorMap[t];
    newLayers.push_back(std::move(layer));
  }
  for (TensorInfo& t : newTensors)
    if (t.producer >= 0) t.producer = layerMap[t.producer];  // -1 when its layer went (it became a constant)
  std::vector<int> inputs, outputs;
  for (int t : network.inputs()) inputs.push_back(tensorMap[t]);
  for (int t : network.outputs()) outputs.push_back(tensorMap[t]);
  network.assign(std::move(newTensors), std::move(newLayers), std::move(inputs), std::move(outputs));
}

}  // namespace inferrt
