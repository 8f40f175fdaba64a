// The addon's exports (NativeAddon in lib/binding.ts). Module-level functions live here; each JS class has
// its own file.
#include <napi.h>

#include "addon/addon_builder.h"
#include "addon/addon_context.h"
#include "addon/addon_engine.h"
#include "addon/addon_int8.h"
#include "addon/addon_network.h"
#include "addon/addon_state.h"
#include "addon/addon_testing.h"
#include "addon/convert.h"
#include "addon/errors.h"
#ifdef INFERRT_WITH_CUDA
#include "addon/cuda/cuda_module.h"
#endif
#include "backend/cpu/kernel_registry.h"
#include "ir/op_registry.h"
#include "ir/plugin_registry.h"
#include "plan/plan.h"
#include "runtime/arena_planner.h"
#include "runtime/cuda_hooks.h"
#include "runtime/devices.h"

namespace inferrt::addon {

namespace {

// dtype codes cross into JS as numbers; lib/binding.ts's DTypeCode mirrors these.
static_assert(static_cast<int>(DType::Float32) == 0 && static_cast<int>(DType::Float16) == 1 &&
                  static_cast<int>(DType::Int8) == 2 && static_cast<int>(DType::UInt8) == 3 &&
                  static_cast<int>(DType::Int32) == 4 && static_cast<int>(DType::Int64) == 5 &&
                  static_cast<int>(DType::Bool) == 6,
              "dtype codes are part of the JS API");
static_assert(static_cast<int>(LayerPrecision::Float16) == 2, "layer precision codes are part of the JS API");

Napi::Array stringArray(Napi::Env env, const std::vector<std::string>& items) {
  Napi::Array a = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); ++i) a.Set(static_cast<uint32_t>(i), items[i]);
  return a;
}

Napi::Value version(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), libraryVersion()); }

Napi::Value backends(const Napi::CallbackInfo& info) { return stringArray(info.Env(), availableBackends()); }

Napi::Value isCudaCompiled(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), cudaCompiled()); }

Napi::Value listCudaDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::vector<CudaDeviceInfo>& devices = cudaDevices();
  Napi::Array list = Napi::Array::New(env, devices.size());
  for (size_t i = 0; i < devices.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("index", devices[i].index);
    o.Set("name", devices[i].name);
    o.Set("arch", cudaArch(devices[i]));
    o.Set("major", devices[i].major);
    o.Set("minor", devices[i].minor);
    o.Set("totalMemory", static_cast<double>(devices[i].totalMemory));
    o.Set("multiProcessors", devices[i].multiProcessors);
    list.Set(static_cast<uint32_t>(i), o);
  }
  return list;
}

Napi::Value layerKinds(const Napi::CallbackInfo& info) {
  return stringArray(info.Env(), guard(info.Env(), [] { return allOpKinds(); }));
}

Napi::Value backendSupports(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string backend = toString(info[0], "backendSupports: backend");
  const std::string kind = toString(info[1], "backendSupports: kind");
  if (backend == "cpu") return Napi::Boolean::New(env, guard(env, [&] { return findCpuKernel(kind) != nullptr; }));
#ifdef INFERRT_WITH_CUDA
  if (backend == "cuda") return Napi::Boolean::New(env, guard(env, [&] { return cudaSupportsKind(kind); }));
#else
  if (backend == "cuda") return Napi::Boolean::New(env, false);  // not compiled in
#endif
  throw makeError(env, ErrorCode::InvalidArgument, "backendSupports: backend must be 'cpu' or 'cuda', got '" + backend + "'");
}

// planArena([{ bytes, first, last }]) -> { offsets, totalBytes }: the CUDA backend's activation-arena planner,
// exposed so that CPU-only tests can check it.
Napi::Value planArenaForTests(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) badArgument(env, "planArena: requests", "an array of { bytes, first, last }", info[0]);
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<ArenaRequest> requests;
  for (uint32_t i = 0; i < list.Length(); ++i) {
    Napi::Object r = list.Get(i).As<Napi::Object>();
    requests.push_back({static_cast<uint64_t>(r.Get("bytes").As<Napi::Number>().Int64Value()),
                        r.Get("first").As<Napi::Number>().Int32Value(), r.Get("last").As<Napi::Number>().Int32Value()});
  }
  const ArenaLayout layout = planArena(requests);
  Napi::Array offsets = Napi::Array::New(env, layout.offsets.size());
  for (size_t i = 0; i < layout.offsets.size(); ++i) offsets.Set(static_cast<uint32_t>(i), static_cast<double>(layout.offsets[i]));
  Napi::Object o = Napi::Object::New(env);
  o.Set("offsets", offsets);
  o.Set("totalBytes", static_cast<double>(layout.totalBytes));
  return o;
}

Napi::Value plugins(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::vector<const PluginDef*> defs = guard(env, [] { return allPlugins(); });
  Napi::Array list = Napi::Array::New(env, defs.size());
  for (size_t i = 0; i < defs.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", defs[i]->name);
    o.Set("version", defs[i]->version);
    o.Set("description", defs[i]->description);
    list.Set(static_cast<uint32_t>(i), o);
  }
  return list;
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* s = new AddonState();
  env.SetInstanceData(s);
  s->networkClass = Napi::Persistent(NetworkWrap::define(env));
  s->engineClass = Napi::Persistent(EngineWrap::define(env));
  s->contextClass = Napi::Persistent(ContextWrap::define(env));
  guard(env, [] { ensureOpsRegistered(); });  // a registration bug surfaces at load, not at first use

  exports.Set("version", Napi::Function::New<version>(env, "version"));
  exports.Set("backends", Napi::Function::New<backends>(env, "backends"));
  exports.Set("cudaCompiled", Napi::Function::New<isCudaCompiled>(env, "cudaCompiled"));
  exports.Set("cudaDevices", Napi::Function::New<listCudaDevices>(env, "cudaDevices"));
  exports.Set("setErrorClass", Napi::Function::New<setErrorClass>(env, "setErrorClass"));
  exports.Set("layerKinds", Napi::Function::New<layerKinds>(env, "layerKinds"));
  exports.Set("backendSupports", Napi::Function::New<backendSupports>(env, "backendSupports"));
  exports.Set("plugins", Napi::Function::New<plugins>(env, "plugins"));
  exports.Set("planArena", Napi::Function::New<planArenaForTests>(env, "planArena"));
  exports.Set("createNetwork", Napi::Function::New<NetworkWrap::create>(env, "createNetwork"));
  exports.Set("buildPlan", Napi::Function::New<buildPlan>(env, "buildPlan"));
  exports.Set("loadEngine", Napi::Function::New<EngineWrap::load>(env, "loadEngine"));
  exports.Set("int8", int8Exports(env));  // INT8 calibration statistics (CPU)
  exports.Set("testing", testingExports(env));  // CPU tests of the timing cache and plan tactics
#ifdef INFERRT_WITH_CUDA
  registerCudaExports(env, exports);  // Stream, Event, DeviceBuffer, HostBuffer: absent from CPU-only builds
#endif
  return exports;
}

}  // namespace

}  // namespace inferrt::addon

static Napi::Object initInferrt(Napi::Env env, Napi::Object exports) { return inferrt::addon::init(env, exports); }

NODE_API_MODULE(inferrt, initInferrt)
