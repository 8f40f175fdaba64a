#include "addon/addon_engine.h"

#include "addon/addon_state.h"
#include "addon/convert.h"
#include "addon/errors.h"

namespace inferrt::addon {

namespace {

// Parses and validates the plan bytes (copied on the main thread) off the main thread.
class LoadWorker : public Napi::AsyncWorker {
 public:
  LoadWorker(Napi::Env env, std::vector<uint8_t> bytes)
      : Napi::AsyncWorker(env, "inferrt.loadEngine"), deferred_(env), bytes_(std::move(bytes)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    if (!catchOnWorker([&] { engine_ = Engine::load(bytes_.data(), bytes_.size()); }, error_)) SetError(error_.message);
    bytes_.clear();
    bytes_.shrink_to_fit();
  }
  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(constructWithEngine(env, state(env).engineClass, std::move(engine_)));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error&) override {
    deferred_.Reject(makeError(Env(), error_.code, error_.message).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<uint8_t> bytes_;
  std::shared_ptr<const Engine> engine_;
  CaughtError error_;
};

// A Plugin layer's plugin: name, version and its scalar attributes (numbers and strings; the plugin_name /
// plugin_version attributes become name and version, lists are left out).
Napi::Object pluginInfo(Napi::Env env, const EngineLayerInfo& layer) {
  Napi::Object attributes = Napi::Object::New(env);
  for (const auto& [key, value] : layer.pluginAttributes->all()) {
    if (key == "plugin_name" || key == "plugin_version") continue;
    if (const auto* i = std::get_if<int64_t>(&value))
      attributes.Set(key, Napi::Number::New(env, static_cast<double>(*i)));
    else if (const auto* d = std::get_if<double>(&value))
      attributes.Set(key, Napi::Number::New(env, *d));
    else if (const auto* s = std::get_if<std::string>(&value))
      attributes.Set(key, *s);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", layer.pluginName);
  o.Set("version", layer.pluginVersion);
  o.Set("attributes", attributes);
  return o;
}

}  // namespace

Napi::Function EngineWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeEngine",
                     {
                         InstanceMethod<&EngineWrap::ioTensors>("ioTensors"),
                         InstanceMethod<&EngineWrap::numProfiles>("numProfiles"),
                         InstanceMethod<&EngineWrap::info>("info"),
                         InstanceMethod<&EngineWrap::layers>("layers"),
                         InstanceMethod<&EngineWrap::createContext>("createContext"),
                         InstanceMethod<&EngineWrap::dispose>("dispose"),
                     });
}

Napi::Value EngineWrap::load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const uint8_t* data = nullptr;
    size_t size = 0;
    toBytes(info[0], "loadEngine: plan", &data, &size);
    auto* worker = new LoadWorker(env, std::vector<uint8_t>(data, data + size));
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  } catch (const Napi::Error& e) {
    return rejectedPromise(env, e);
  }
}

// Only LoadWorker constructs engines (through constructWithEngine).
EngineWrap::EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {
  engine_ = std::move(state(info.Env()).pendingEngine);
  if (!engine_)
    throw makeError(info.Env(), ErrorCode::InvalidArgument, "NativeEngine cannot be constructed directly; use addon.loadEngine(plan)");
}

const std::shared_ptr<const Engine>& EngineWrap::live(Napi::Env env) const {
  if (!engine_) throw makeError(env, ErrorCode::Disposed, "Engine has been disposed");
  return engine_;
}

Napi::Value EngineWrap::ioTensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::vector<IOTensorInfo> io = live(env)->ioTensors();
  Napi::Array list = Napi::Array::New(env, io.size());
  for (size_t i = 0; i < io.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", io[i].name);
    o.Set("dtype", static_cast<int>(io[i].dtype));
    o.Set("dims", fromDims(env, io[i].dims));
    o.Set("mode", io[i].isInput ? "input" : "output");
    Napi::Array profiles = Napi::Array::New(env, io[i].profiles.size());
    for (size_t p = 0; p < io[i].profiles.size(); ++p) profiles.Set(static_cast<uint32_t>(p), fromShapeRange(env, io[i].profiles[p]));
    o.Set("profiles", profiles);
    list.Set(static_cast<uint32_t>(i), o);
  }
  return list;
}

Napi::Value EngineWrap::numProfiles(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live(info.Env())->profiles().size()));
}

Napi::Value EngineWrap::info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const EngineInfo& e = live(env)->info();
  Napi::Object o = Napi::Object::New(env);
  o.Set("formatVersion", e.formatVersion);
  o.Set("libraryVersion", e.libraryVersion);
  o.Set("backend", e.backend);
  o.Set("gpuArch", e.gpuArch);
  Napi::Array precision = Napi::Array::New(env, e.precision.size());
  for (size_t i = 0; i < e.precision.size(); ++i) precision.Set(static_cast<uint32_t>(i), e.precision[i]);
  o.Set("precision", precision);
  o.Set("planBytes", static_cast<double>(e.planBytes));
  o.Set("weightBytes", static_cast<double>(e.weightBytes));
  o.Set("deviceMemorySize", static_cast<double>(e.deviceMemorySize));
  if (e.device >= 0) o.Set("device", e.device);
  if (e.cudnnChoices > 0) {
    Napi::Object choices = Napi::Object::New(env);
    choices.Set("count", static_cast<double>(e.cudnnChoices));
    choices.Set("used", e.cudnnChoicesNote.empty());
    choices.Set("note", e.cudnnChoicesNote);
    o.Set("cudnnPlans", choices);
  }
  return o;
}

Napi::Value EngineWrap::layers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto engine = live(env);  // keeps the records the layers' sparsity pointers refer to
  const std::vector<EngineLayerInfo> layers = engine->layers();
  auto names = [&](const std::vector<std::string>& v) {
    Napi::Array a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), v[i]);
    return a;
  };
  Napi::Array list = Napi::Array::New(env, layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", layers[i].name);
    o.Set("kind", layers[i].kind);
    o.Set("precision", layers[i].precision);
    o.Set("inputs", names(layers[i].inputs));
    o.Set("outputs", names(layers[i].outputs));
    o.Set("runsOn", layers[i].runsOn);
    if (!layers[i].fallbackReason.empty()) o.Set("fallbackReason", layers[i].fallbackReason);
    if (!layers[i].tactic.empty()) o.Set("tactic", layers[i].tactic);
    if (layers[i].channelsLast) o.Set("channelsLast", true);
    if (const LayerSparsity* s = layers[i].sparsity) {
      Napi::Object sparsity = Napi::Object::New(env);
      sparsity.Set("eligible", s->eligible);
      sparsity.Set("sparse", s->sparse);
      if (!s->note.empty()) sparsity.Set("note", s->note);
      if (s->denseMs > 0) sparsity.Set("denseMs", s->denseMs);
      if (s->sparseMs > 0) sparsity.Set("sparseMs", s->sparseMs);
      o.Set("sparsity", sparsity);
    }
    if (!layers[i].pluginName.empty()) o.Set("plugin", pluginInfo(env, layers[i]));
    list.Set(static_cast<uint32_t>(i), o);
  }
  return list;
}

Napi::Value EngineWrap::createContext(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return constructWithEngine(env, state(env).contextClass, live(env));
}

Napi::Value EngineWrap::dispose(const Napi::CallbackInfo& info) {
  engine_.reset();
  return info.Env().Undefined();
}

}  // namespace inferrt::addon
