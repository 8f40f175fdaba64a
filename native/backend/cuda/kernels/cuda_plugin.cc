// The CUDA kernel of the Plugin kind: finds the GPU implementation of the plugin a layer names in the CUDA plugin
// table and runs it, or declines the layer (it then runs on the plugin's CPU implementation).
#include "backend/cuda/kernels/cuda_plugin.h"

#include <map>
#include <utility>

#include "ir/error.h"
#include "ir/plugin_registry.h"

namespace inferrt {

namespace {

std::map<std::pair<std::string, std::string>, CudaPluginDef>& table() {
  static std::map<std::pair<std::string, std::string>, CudaPluginDef> plugins;
  return plugins;
}

// The entry for the plugin `layer` names (its registered name and canonical version, so plugin_version 1 and "1"
// find the same entry), or null. Throws what pluginForLayer throws for an unregistered plugin.
const CudaPluginDef* cudaPluginFor(const Layer& layer, const PluginDef** plugin = nullptr) {
  const PluginDef& def = pluginForLayer(layer);
  if (plugin) *plugin = &def;
  return findCudaPlugin(def.name, def.version);
}

std::string pluginSupports(const Layer& layer, const std::vector<TensorDesc>& inputs) {
  const PluginDef* plugin = nullptr;
  const CudaPluginDef* def = nullptr;
  try {
    def = cudaPluginFor(layer, &plugin);
  } catch (const Error& e) {
    return e.what();  // an unregistered plugin: the CPU path reports it in full
  }
  if (!def) return "no CUDA implementation of plugin " + plugin->name + " v" + plugin->version;
  return def->supports(layer, inputs);
}

void runPlugin(CudaKernelArgs& args) {
  const PluginDef* plugin = nullptr;
  const CudaPluginDef* def = cudaPluginFor(args.layer, &plugin);
  if (!def)
    fail(ErrorCode::Internal, "no CUDA implementation of plugin ", plugin->name, " v", plugin->version,
         " (its support query should have declined the layer)");
  if (static_cast<int>(args.outputs.size()) != plugin->numOutputs)
    fail(ErrorCode::Internal, "plugin ", plugin->name, " v", plugin->version, " got ", args.outputs.size(),
         " outputs, declares ", plugin->numOutputs);
  def->run(args);
}

}  // namespace

void registerCudaPlugin(const CudaPluginDef& def) { table()[{def.name, def.version}] = def; }

const CudaPluginDef* findCudaPlugin(const std::string& name, const std::string& version) {
  findCudaKernel("Plugin");  // registers every family, plugin families included, on first use
  auto it = table().find({name, version});
  return it == table().end() ? nullptr : &it->second;
}

void registerCudaPluginKernels() { registerCudaKernel({"Plugin", pluginSupports, runPlugin, 0}); }

}  // namespace inferrt
