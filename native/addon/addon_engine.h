// NativeEngine (lib/binding.ts): a loaded plan. Created by addon.loadEngine(plan), which parses off the main
// thread. Contexts hold the engine through shared_ptr, so dispose() here never pulls memory from under them.
#pragma once
#include <napi.h>

#include <memory>

#include "runtime/engine.h"

namespace inferrt::addon {

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Value load(const Napi::CallbackInfo& info);  // addon.loadEngine(plan) -> Promise<NativeEngine>
  explicit EngineWrap(const Napi::CallbackInfo& info);

 private:
  const std::shared_ptr<const Engine>& live(Napi::Env env) const;
  Napi::Value ioTensors(const Napi::CallbackInfo& info);
  Napi::Value numProfiles(const Napi::CallbackInfo& info);
  Napi::Value info(const Napi::CallbackInfo& info);
  Napi::Value layers(const Napi::CallbackInfo& info);
  Napi::Value createContext(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<const Engine> engine_;  // null once disposed
};

}  // namespace inferrt::addon
