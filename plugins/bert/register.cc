// The BERT plugin family: fused layers for BERT-style encoders (packed sequences come with the CUDA work).
#include "skip_layernorm.h"
#include "../builtin_plugins.h"
#include "ir/plugin_registry.h"

namespace inferrt {

void registerBertPlugins() {
  PluginDef skipLayerNorm;
  skipLayerNorm.name = "SkipLayerNorm";
  skipLayerNorm.version = "1";
  skipLayerNorm.description =
      "LayerNorm(x + skip [+ bias]) over the last dim, * gamma [+ beta]; inputs x, skip, gamma, beta?, bias?; "
      "attribute epsilon (1e-12)";
  skipLayerNorm.minInputs = 3;
  skipLayerNorm.maxInputs = 5;
  skipLayerNorm.numOutputs = 1;
  skipLayerNorm.inferShapes = inferSkipLayerNorm;
  skipLayerNorm.runCpu = runSkipLayerNormCpu;
  registerPlugin(skipLayerNorm);
}

}  // namespace inferrt
