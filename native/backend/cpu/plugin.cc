// CPU kernel of the Plugin kind: runs the CPU implementation of the plugin the layer names.
#include <vector>

#include "backend/cpu/kernel_registry.h"
#include "ir/error.h"
#include "ir/plugin_registry.h"

namespace inferrt {

namespace {

void runPlugin(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  const PluginDef& def = pluginForLayer(layer);
  if (static_cast<int>(outputs.size()) != def.numOutputs)
    fail(ErrorCode::Internal, "plugin ", def.name, " v", def.version, " got ", outputs.size(), " outputs, declares ",
         def.numOutputs);
  def.runCpu(layer, inputs, outputs);
}

}  // namespace

void registerPluginKernels() { registerCpuKernel({"Plugin", runPlugin}); }

}  // namespace inferrt
