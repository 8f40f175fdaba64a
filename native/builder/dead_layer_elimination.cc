// Dead-layer elimination: keeps only layers some output depends on (walking back from the outputs).
#include "builder/passes.h"

namespace inferrt {

void eliminateDeadLayers(Network& network, BuildLog& log) {
  const auto& tensors = network.tensors();
  const auto& layers = network.layers();
  std::vector<bool> needed(tensors.size(), false), keep(layers.size(), false);
  for (int t : network.outputs()) needed[t] = true;
  for (size_t l = layers.size(); l-- > 0;) {
    for (int t : layers[l].outputs) keep[l] = keep[l] || needed[t];
    if (!keep[l]) continue;
    for (int t : layers[l].inputs)
      if (t >= 0) needed[t] = true;
  }
  size_t removed = 0;
  for (bool k : keep) removed += k ? 0 : 1;
  const size_t tensorsBefore = tensors.size();
  compactNetwork(network, keep);
  const size_t tensorsRemoved = tensorsBefore - network.tensors().size();
  if (removed || tensorsRemoved)
    log.push_back("dead-layer elimination: removed " + std::to_string(removed) + " layer" + (removed == 1 ? "" : "s") +
                  " and " + std::to_string(tensorsRemoved) + " tensor" + (tensorsRemoved == 1 ? "" : "s") +
                  " no output depends on");
}

}  // namespace inferrt
