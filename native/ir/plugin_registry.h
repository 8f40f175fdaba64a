// Plugins: layers implemented outside the core op set, registered by name and version (TensorRT's plugin
// creators). A "Plugin" layer carries attrs plugin_name / plugin_version plus the plugin's own attributes,
// which plans serialize like any other attributes.
#pragma once
#include <string>
#include <vector>

#include "ir/op_registry.h"

namespace inferrt {

struct PluginDef {
  std::string name;
  std::string version;
  std::string description;
  int minInputs = 1;
  int maxInputs = -1;
  int numOutputs = 1;
  ShapeRule inferShapes;  // same contract as an op's shape rule
  void (*runCpu)(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs);
  // Later: a CUDA implementation pointer; null means CPU only.
};

void registerPlugin(const PluginDef& def);  // replaces nothing: a duplicate name+version throws
const PluginDef* findPlugin(const std::string& name, const std::string& version);  // null if absent
std::vector<const PluginDef*> allPlugins();
// Looks up the plugin a Plugin layer names; throws UnsupportedOp naming the layer and what is registered.
const PluginDef& pluginForLayer(const Layer& layer);
// Registers the plugins shipped in plugins/ (each plugins/<family>/register.cc defines one function).
void registerBuiltinPlugins();

}  // namespace inferrt
