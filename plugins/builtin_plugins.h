// Registration functions of the plugin families shipped in plugins/; registerBuiltinPlugins()
// (plugins/register.cc, declared in ir/plugin_registry.h) calls each once.
#pragma once

namespace inferrt {

// plugins/bert/register.cc: SkipLayerNorm, PackedEmbLayerNorm, PackedAttention, FullyConnected (all v1)
void registerBertPlugins();

}  // namespace inferrt
