// Registration functions of the plugin families shipped in plugins/; registerBuiltinPlugins()
// (plugins/register.cc, declared in ir/plugin_registry.h) calls each once.
#pragma once

namespace inferrt {

void registerBertPlugins();  // plugins/bert/register.cc: SkipLayerNorm

}  // namespace inferrt
