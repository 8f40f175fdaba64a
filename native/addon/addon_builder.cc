#include "addon/addon_builder.h"

#include "addon/addon_network.h"
#include "addon/convert.h"
#include "addon/errors.h"
#include "builder/builder.h"

namespace inferrt::addon {

namespace {

struct ProgressEvent {
  std::string stage;
  double fraction = 0;
  std::string message;
};

// Builds a copy of the network (taken on the main thread, so the caller may go on editing or dispose it).
class BuildWorker : public Napi::AsyncProgressQueueWorker<ProgressEvent> {
 public:
  BuildWorker(Napi::Env env, Network network, BuildConfig config, Napi::Value onProgress)
      : Napi::AsyncProgressQueueWorker<ProgressEvent>(env, "inferrt.buildPlan"),
        deferred_(env),
        network_(std::move(network)),
        config_(std::move(config)) {
    if (onProgress.IsFunction()) onProgress_ = Napi::Persistent(onProgress.As<Napi::Function>());
  }
  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute(const ExecutionProgress& progress) override {
    const bool wantsProgress = !onProgress_.IsEmpty();
    BuildProgress report = [&](const std::string& stage, double fraction, const std::string& message) {
      if (!wantsProgress) return;
      ProgressEvent event{stage, fraction, message};
      progress.Send(&event, 1);
    };
    if (!catchOnWorker([&] { result_ = buildPlan(network_, config_, report); }, error_)) SetError(error_.message);
    network_ = Network();
  }
  void OnProgress(const ProgressEvent* events, size_t count) override {
    Napi::Env env = Env();
    for (size_t i = 0; i < count; ++i) {
      Napi::Object p = Napi::Object::New(env);
      p.Set("stage", events[i].stage);
      p.Set("fraction", events[i].fraction);
      p.Set("message", events[i].message);
      try {
        onProgress_.Call({p});
      } catch (const Napi::Error&) {
        // A throwing progress callback must not fail the build; the TS layer reports its errors itself.
      }
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("plan", fromBytes(env, result_.plan.data(), result_.plan.size()));
    Napi::Array log = Napi::Array::New(env, result_.log.size());
    for (size_t i = 0; i < result_.log.size(); ++i) log.Set(static_cast<uint32_t>(i), result_.log[i]);
    out.Set("log", log);
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error&) override {
    deferred_.Reject(makeError(Env(), error_.code, error_.message).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::FunctionReference onProgress_;
  Network network_;
  BuildConfig config_;
  BuildResult result_;
  CaughtError error_;
};

}  // namespace

Napi::Value buildPlan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    NetworkWrap* wrap = NetworkWrap::fromValue(info[0]);
    if (!wrap) badArgument(env, "buildPlan: network", "a NativeNetwork (addon.createNetwork())", info[0]);
    wrap->network(env);  // DISPOSED before argument errors
    BuildConfig config = toBuildConfig(info[1], "buildPlan: config");
    if (!info[2].IsUndefined() && !info[2].IsNull() && !info[2].IsFunction())
      badArgument(env, "buildPlan: onProgress", "a function or null", info[2]);
    // Reading the config can run JS (getters) that disposes the network: take it only afterwards.
    const Network& network = wrap->network(env);
    auto* worker = new BuildWorker(env, network, std::move(config), info[2]);
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  } catch (const Napi::Error& e) {
    return rejectedPromise(env, e);
  }
}

}  // namespace inferrt::addon
