// Per-environment state of the addon (worker threads each load their own): the registered JS error class and
// the constructors of the wrapped classes. Stored as the environment's instance data.
#pragma once
#include <napi.h>

#include <memory>

#include "runtime/engine.h"

namespace inferrt::addon {

struct CudaState;  // addon/cuda/cuda_state.h; only CUDA builds define it

struct AddonState {
  Napi::FunctionReference errorClass;  // set by setErrorClass; empty until then
  Napi::FunctionReference networkClass;
  Napi::FunctionReference engineClass;
  Napi::FunctionReference contextClass;
  // Handed from the native code that creates an engine or context object to its constructor (set just before
  // the constructor runs, taken by it), so JS cannot construct one directly.
  std::shared_ptr<const Engine> pendingEngine;
  // The CUDA classes' state: set by registerCudaExports, cleared when the environment shuts down; always null
  // in CPU-only builds.
  CudaState* cuda = nullptr;
};

// Creates an instance of `cls` whose constructor takes `engine` from pendingEngine.
inline Napi::Object constructWithEngine(Napi::Env env, Napi::FunctionReference& cls, std::shared_ptr<const Engine> engine) {
  AddonState& s = *env.GetInstanceData<AddonState>();
  s.pendingEngine = std::move(engine);
  try {
    Napi::Object o = cls.New({});
    s.pendingEngine.reset();
    return o;
  } catch (...) {
    s.pendingEngine.reset();
    throw;
  }
}

inline AddonState& state(Napi::Env env) { return *env.GetInstanceData<AddonState>(); }

}  // namespace inferrt::addon
