// NativeContext (lib/binding.ts): an execution context of an engine. Created by engine.createContext().
// infer() validates and copies its inputs on the main thread, runs the engine on a worker thread, and runs
// one call at a time; dispose() during a call lets the call finish, then the memory goes.
#pragma once
#include <napi.h>

#include <memory>

#include "runtime/execution_context.h"

namespace inferrt::addon {

class ContextWrap : public Napi::ObjectWrap<ContextWrap> {
  friend class ContextCudaCalls;
 public:
  static Napi::Function define(Napi::Env env);
  explicit ContextWrap(const Napi::CallbackInfo& info);

  void finishInfer() { busy_ = false; }
  bool busy() const { return busy_; }
  void startCall() { busy_ = true; }  // an infer or enqueue is in flight until finishInfer()

 private:
  ExecutionContext& live(Napi::Env env);
  Napi::Value setOptimizationProfile(const Napi::CallbackInfo& info);
  Napi::Value getOptimizationProfile(const Napi::CallbackInfo& info);
  Napi::Value setInputShape(const Napi::CallbackInfo& info);
  Napi::Value getTensorShape(const Napi::CallbackInfo& info);
  Napi::Value infer(const Napi::CallbackInfo& info);
  Napi::Value deviceMemorySize(const Napi::CallbackInfo& info);
  Napi::Value setCudaGraphs(const Napi::CallbackInfo& info);
  Napi::Value setProfiling(const Napi::CallbackInfo& info);
  Napi::Value layerTimes(const Napi::CallbackInfo& info);
  Napi::Value setTensorAddress(const Napi::CallbackInfo& info);
  Napi::Value enqueue(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);

  std::unique_ptr<ExecutionContext> context_;  // null once disposed
  bool busy_ = false;                          // an infer is in flight
};

}  // namespace inferrt::addon
