// The CUDA plugin table: GPU implementations of plugin layers (ir/plugin_registry.h), by plugin name and version.
// The kernel table has one entry for kind "Plugin" (cuda_plugin.cc) that dispatches on the layer's plugin_name /
// plugin_version attributes; a plugin without an entry here (or whose supports() declines the layer) runs on its
// CPU implementation, with copies, as any layer the GPU declines. Plugin families register their entries with one
// function each, called when the CUDA kernel table is first used (kernel_registry.cc).
#pragma once
#include <string>
#include <vector>

#include "backend/cuda/kernels/cuda_kernel.h"

namespace inferrt {

struct CudaPluginDef {
  const char* name;
  const char* version;
  // As CudaKernelDef::supports: "" when the GPU implementation runs `layer` for inputs like these, else a reason.
  std::string (*supports)(const Layer& layer, const std::vector<TensorDesc>& inputs);
  void (*run)(CudaKernelArgs& args);  // as CudaKernelDef::run
};

// Adds or replaces the entry for def.name / def.version.
void registerCudaPlugin(const CudaPluginDef& def);
// Null when there is no GPU implementation of that plugin version.
const CudaPluginDef* findCudaPlugin(const std::string& name, const std::string& version);

// Plugin families (plugins/<family>/cuda/register_cuda.cc).
void registerCudaBertPlugins();  // PackedEmbLayerNorm, PackedAttention, SkipLayerNorm, FullyConnected

}  // namespace inferrt
