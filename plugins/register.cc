#include "builtin_plugins.h"
#include "ir/plugin_registry.h"

namespace inferrt {

void registerBuiltinPlugins() { registerBertPlugins(); }

}  // namespace inferrt
