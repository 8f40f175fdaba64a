#include "ir/plugin_registry.h"

#include <deque>
#include <mutex>
#include <variant>

#include "ir/error.h"

namespace inferrt {

namespace {

// A deque keeps PluginDef addresses stable as plugins are added; the order is registration order.
struct PluginTable {
  std::mutex mutex;
  std::deque<PluginDef> defs;
};

PluginTable& table() {
  static PluginTable t;
  return t;
}

const PluginDef* findLocked(PluginTable& t, const std::string& name, const std::string& version) {
  for (const PluginDef& d : t.defs)
    if (d.name == name && d.version == version) return &d;
  return nullptr;
}

// "SkipLayerNorm v1, Foo v2" (or "none").
std::string registeredList(PluginTable& t) {
  std::string s;
  for (const PluginDef& d : t.defs) s += (s.empty() ? "" : ", ") + d.name + " v" + d.version;
  return s.empty() ? "none" : s;
}

// plugin_version may arrive as a number from a hand-built network; "1" and 1 mean the same version.
std::string versionAttr(const Attributes& attrs) {
  auto it = attrs.all().find("plugin_version");
  if (it == attrs.all().end()) return "1";
  if (const auto* i = std::get_if<int64_t>(&it->second)) return std::to_string(*i);
  return attrs.getString("plugin_version");
}

}  // namespace

void registerPlugin(const PluginDef& def) {
  if (def.name.empty() || def.version.empty())
    fail(ErrorCode::InvalidArgument, "a plugin needs a name and a version, got '", def.name, "' version '",
         def.version, "'");
  if (!def.inferShapes || !def.runCpu)
    fail(ErrorCode::InvalidArgument, "plugin ", def.name, " v", def.version,
         " needs a shape rule and a CPU implementation");
  if (def.minInputs < 0 || (def.maxInputs >= 0 && def.maxInputs < def.minInputs) || def.numOutputs < 1)
    fail(ErrorCode::InvalidArgument, "plugin ", def.name, " v", def.version, " has invalid arity: inputs ",
         def.minInputs, "..", def.maxInputs, ", outputs ", def.numOutputs);
  PluginTable& t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  if (findLocked(t, def.name, def.version))
    fail(ErrorCode::InvalidArgument, "plugin ", def.name, " v", def.version, " is already registered");
  t.defs.push_back(def);
}

const PluginDef* findPlugin(const std::string& name, const std::string& version) {
  ensureOpsRegistered();  // registers the builtin plugins
  PluginTable& t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  return findLocked(t, name, version);
}

std::vector<const PluginDef*> allPlugins() {
  ensureOpsRegistered();
  PluginTable& t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  std::vector<const PluginDef*> out;
  for (const PluginDef& d : t.defs) out.push_back(&d);
  return out;
}

const PluginDef& pluginForLayer(const Layer& layer) {
  if (!layer.attrs.has("plugin_name"))
    fail(ErrorCode::InvalidModel, "Plugin layer '", layer.name, "' has no 'plugin_name' attribute");
  const std::string name = layer.attrs.getString("plugin_name");
  const std::string version = versionAttr(layer.attrs);
  if (const PluginDef* def = findPlugin(name, version)) return *def;
  PluginTable& t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  fail(ErrorCode::UnsupportedOp, "plugin '", name, "' version '", version, "' (layer '", layer.name,
       "') is not registered; registered plugins: ", registeredList(t));
}

}  // namespace inferrt
