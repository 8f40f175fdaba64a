#include "addon/addon_context.h"

#include <climits>
#include <utility>
#include <vector>

#include "addon/addon_state.h"
#include "addon/convert.h"
#include "addon/errors.h"
#ifdef INFERRT_WITH_CUDA
#include "addon/cuda/context_cuda_calls.h"
#endif

namespace inferrt::addon {

namespace {

// Runs the engine on inputs already copied; holds the engine and the context's JS object alive until done.
class InferWorker : public Napi::AsyncWorker {
 public:
  InferWorker(Napi::Env env, ContextWrap* context, std::shared_ptr<const Engine> engine,
              std::shared_ptr<ContextRunner> runner, std::vector<TensorPtr> inputs)
      : Napi::AsyncWorker(env, "inferrt.infer"),
        deferred_(env),
        context_(context),
        engine_(std::move(engine)),
        runner_(std::move(runner)),
        inputs_(std::move(inputs)) {
    context_->Ref();
  }
  ~InferWorker() override { context_->Unref(); }
  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    if (!catchOnWorker([&] { outputs_ = runner_->run(inputs_); }, error_)) SetError(error_.message);
    inputs_.clear();
  }
  void OnOK() override {
    Napi::Env env = Env();
    context_->finishInfer();
    try {
      Napi::Object result = Napi::Object::New(env);
      const Network& net = engine_->network();
      for (size_t i = 0; i < outputs_.size(); ++i) result.Set(net.tensor(net.outputs()[i]).name, fromTensor(env, outputs_[i]));
      outputs_.clear();
      deferred_.Resolve(result);
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error&) override {
    context_->finishInfer();
    deferred_.Reject(makeError(Env(), error_.code, error_.message).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  ContextWrap* context_;
  std::shared_ptr<const Engine> engine_;
  std::shared_ptr<ContextRunner> runner_;
  std::vector<TensorPtr> inputs_;
  std::vector<TensorPtr> outputs_;
  CaughtError error_;
};

// { name: { dtype, dims, data } } -> HostInputs pointing into JS memory (copied by prepareInputs right after).
std::map<std::string, HostInput> toHostInputs(const Napi::Value& v) {
  if (!v.IsObject() || v.IsArray()) badArgument(v.Env(), "infer: inputs", "an object mapping input names to tensors", v);
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array names = o.GetPropertyNames();
  std::map<std::string, HostInput> inputs;
  std::vector<std::pair<std::string, Napi::Value>> data;
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).ToString().Utf8Value();
    const std::string what = "infer: inputs['" + name + "']";
    Napi::Value t = o.Get(name);
    if (!t.IsObject() || t.IsArray()) badArgument(v.Env(), what, "an object { dtype, dims, data }", t);
    Napi::Object to = t.As<Napi::Object>();
    HostInput in;
    in.dtype = toDType(to.Get("dtype"), what + ".dtype");
    in.dims = toDims(to.Get("dims"), what + ".dims", 0);
    data.emplace_back(name, to.Get("data"));
    inputs[name] = in;
  }
  // Pointers into JS memory are taken last: a getter above could detach or replace a buffer read earlier.
  for (const auto& [name, value] : data) {
    const uint8_t* bytes = nullptr;
    toBytes(value, "infer: inputs['" + name + "'].data", &bytes, &inputs[name].size);
    inputs[name].data = bytes;
  }
  return inputs;
}

}  // namespace

Napi::Function ContextWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeContext",
                     {
                         InstanceMethod<&ContextWrap::setOptimizationProfile>("setOptimizationProfile"),
                         InstanceMethod<&ContextWrap::getOptimizationProfile>("getOptimizationProfile"),
                         InstanceMethod<&ContextWrap::setInputShape>("setInputShape"),
                         InstanceMethod<&ContextWrap::getTensorShape>("getTensorShape"),
                         InstanceMethod<&ContextWrap::infer>("infer"),
                         InstanceMethod<&ContextWrap::deviceMemorySize>("deviceMemorySize"),
                         InstanceMethod<&ContextWrap::setCudaGraphs>("setCudaGraphs"),
                         InstanceMethod<&ContextWrap::setProfiling>("setProfiling"),
                         InstanceMethod<&ContextWrap::layerTimes>("layerTimes"),
                         InstanceMethod<&ContextWrap::setTensorAddress>("setTensorAddress"),
                         InstanceMethod<&ContextWrap::enqueue>("enqueue"),
                         InstanceMethod<&ContextWrap::dispose>("dispose"),
                     });
}

// Only engine.createContext() constructs contexts (through constructWithEngine).
ContextWrap::ContextWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ContextWrap>(info) {
  std::shared_ptr<const Engine> engine = std::move(state(info.Env()).pendingEngine);
  if (!engine)
    throw makeError(info.Env(), ErrorCode::InvalidArgument, "NativeContext cannot be constructed directly; use engine.createContext()");
  context_ = std::make_unique<ExecutionContext>(std::move(engine));
}

ExecutionContext& ContextWrap::live(Napi::Env env) {
  if (!context_) throw makeError(env, ErrorCode::Disposed, "ExecutionContext has been disposed");
  return *context_;
}

Napi::Value ContextWrap::setOptimizationProfile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExecutionContext& ctx = live(env);
  const int index = static_cast<int>(toInt(info[0], "setOptimizationProfile: index", 0, INT_MAX));
  guard(env, [&] { ctx.setOptimizationProfile(index); });
  return env.Undefined();
}

Napi::Value ContextWrap::getOptimizationProfile(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), live(info.Env()).optimizationProfile());
}

Napi::Value ContextWrap::setInputShape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  live(env);  // DISPOSED before argument errors
  const std::string name = toString(info[0], "setInputShape: name");
  const Dims dims = toDims(info[1], "setInputShape: dims", 0);
  ExecutionContext& ctx = live(env);  // after toDims: its getters may have disposed the context
  guard(env, [&] { ctx.setInputShape(name, dims); });
  return env.Undefined();
}

Napi::Value ContextWrap::getTensorShape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExecutionContext& ctx = live(env);
  const std::string name = toString(info[0], "getTensorShape: name");
  return fromDims(env, guard(env, [&] { return ctx.tensorShape(name); }));
}

Napi::Value ContextWrap::infer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    live(env);
    if (busy_)
      throw makeError(env, ErrorCode::InvalidArgument,
                      "infer: this ExecutionContext is already running an infer; await it first (or use one context per "
                      "concurrent request)");
    const std::map<std::string, HostInput> inputs = toHostInputs(info[0]);
    // Reading the inputs can run JS (getters) that disposes this context or starts an infer: check again.
    ExecutionContext& ctx = live(env);
    if (busy_) throw makeError(env, ErrorCode::InvalidArgument, "infer: an infer was started while reading the inputs");
    std::vector<TensorPtr> copies = guard(env, [&] { return ctx.prepareInputs(inputs); });
    std::shared_ptr<ContextRunner> runner = guard(env, [&] { return ctx.runner(); });
    auto* worker = new InferWorker(env, this, ctx.engine(), std::move(runner), std::move(copies));
    Napi::Promise promise = worker->promise();
    busy_ = true;
    worker->Queue();
    return promise;
  } catch (const Napi::Error& e) {
    return rejectedPromise(env, e);
  }
}

Napi::Value ContextWrap::deviceMemorySize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExecutionContext& ctx = live(env);
  return Napi::Number::New(env, static_cast<double>(guard(env, [&] { return ctx.deviceMemorySize(); })));
}

Napi::Value ContextWrap::setCudaGraphs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExecutionContext& ctx = live(env);
  if (!info[0].IsBoolean()) badArgument(env, "setCudaGraphs: enabled", "a boolean", info[0]);
  ctx.setCudaGraphs(info[0].As<Napi::Boolean>().Value());
  return env.Undefined();
}

Napi::Value ContextWrap::setProfiling(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExecutionContext& ctx = live(env);
  if (!info[0].IsBoolean()) badArgument(env, "setProfiling: enabled", "a boolean", info[0]);
  ctx.setProfiling(info[0].As<Napi::Boolean>().Value());
  return env.Undefined();
}

Napi::Value ContextWrap::layerTimes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExecutionContext& ctx = live(env);
  if (busy_) throw makeError(env, ErrorCode::InvalidArgument, "layerTimes: an infer is in flight; await it first");
  const LayerTimes times = guard(env, [&] { return ctx.runner()->layerTimes(); });
  auto toObject = [&](const std::map<std::string, double>& msByKey) {
    Napi::Object o = Napi::Object::New(env);
    for (const auto& [key, ms] : msByKey) o.Set(key, ms);
    return o;
  };
  Napi::Object o = Napi::Object::New(env);
  o.Set("runs", times.runs);
  o.Set("msByKind", toObject(times.msByKind));
  o.Set("msByLayer", toObject(times.msByLayer));
  return o;
}

Napi::Value ContextWrap::setTensorAddress(const Napi::CallbackInfo& info) {
#ifdef INFERRT_WITH_CUDA
  return ContextCudaCalls::setTensorAddress(*this, live(info.Env()), info);
#else
  throw makeError(info.Env(), ErrorCode::CudaError, "setTensorAddress: this inferrt was built without the CUDA backend");
#endif
}

Napi::Value ContextWrap::enqueue(const Napi::CallbackInfo& info) {
#ifdef INFERRT_WITH_CUDA
  try {
    return ContextCudaCalls::enqueue(*this, live(info.Env()), info);
  } catch (const Napi::Error& e) {
    return rejectedPromise(info.Env(), e);
  }
#else
  return rejectedPromise(info.Env(), makeError(info.Env(), ErrorCode::CudaError, "enqueue: this inferrt was built without the CUDA backend"));
#endif
}

Napi::Value ContextWrap::dispose(const Napi::CallbackInfo& info) {
  context_.reset();  // an infer in flight holds the engine and its inputs itself
  return info.Env().Undefined();
}

}  // namespace inferrt::addon
