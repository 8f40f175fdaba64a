// The fusion stage: layer norms first (their tails are Mul/Add, never MatMul), then GEMM epilogues.
#include <string>

#include "builder/passes.h"

namespace inferrt {

void fuseLayers(Network& network, BuildLog& log) {
  const size_t before = network.layers().size();
  const size_t norms = fuseLayerNorms(network);
  const GemmFusions gemms = fuseGemms(network);
  if (!norms && !gemms.gemms) return;
  std::string line = "fusion:";
  if (norms)
    line += " " + std::to_string(norms) + " layer norm" + (norms == 1 ? "" : "s") +
            " from decomposed ReduceMean/Sub/Pow/Sqrt/Div;";
  if (gemms.gemms)
    line += " " + std::to_string(gemms.gemms) + " MatMul+bias GEMM" + (gemms.gemms == 1 ? "" : "s") + " (" +
            std::to_string(gemms.gelu) + " with GELU, " + std::to_string(gemms.relu) + " with ReLU);";
  line += " " + std::to_string(before) + " -> " + std::to_string(network.layers().size()) + " layers";
  log.push_back(line);
}

}  // namespace inferrt
