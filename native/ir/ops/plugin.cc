// Shape rule of the Plugin kind: checks the layer against the plugin's declared arity, then delegates to
// the plugin's own rule (ir/plugin_registry.h).
#include <vector>

#include "ir/plugin_registry.h"
#include "ir/ops/shape_helpers.h"

namespace inferrt {

namespace {

std::vector<TensorDesc> inferPlugin(const Layer& layer, const std::vector<TensorDesc>& in) {
  const PluginDef& def = pluginForLayer(layer);
  const int count = static_cast<int>(in.size());
  if (count < def.minInputs || (def.maxInputs >= 0 && count > def.maxInputs))
    fail(ErrorCode::InvalidModel, "plugin ", def.name, " v", def.version, " takes ", def.minInputs,
         def.maxInputs < 0 ? " or more" : (" to " + std::to_string(def.maxInputs)), " inputs, got ", count);
  if (static_cast<int>(layer.outputs.size()) != def.numOutputs)
    fail(ErrorCode::InvalidModel, "plugin ", def.name, " v", def.version, " has ", def.numOutputs,
         " outputs, the layer ", layer.outputs.size());
  for (int i = 0; i < def.minInputs; ++i)
    if (!in[i].present) fail(ErrorCode::InvalidModel, "plugin ", def.name, " input ", i, " is required");
  return def.inferShapes(layer, in);
}

}  // namespace

void registerPluginSchemas() { registerOpSchema({"Plugin", 0, -1, 1, -1, inferPlugin}); }

}  // namespace inferrt
