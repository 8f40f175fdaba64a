// Per-environment state of the CUDA classes (AddonState::cuda): their constructors, the completion queue that
// settles GPU Promises, the pinned staging pool for copies of pageable JS memory, and this environment's hold
// on the process-wide release thread that frees memory off the JS thread.
#pragma once
#include <napi.h>

#include "addon/cuda/completion_queue.h"
#include "backend/cuda/deferred_release.h"
#include "backend/cuda/staging_pool.h"

namespace inferrt::addon {

struct CudaState {
  explicit CudaState(Napi::Env env) : completions(CompletionQueue::create(env)) {}

  // First, so it is destroyed last: the staging pool's idle blocks are queued before the last environment to
  // go drains and joins the thread.
  ReleaseThreadUser releases;
  CompletionQueue* completions;  // owned by its thread-safe function (see CompletionQueue)
  StagingPool staging{size_t{256} << 20};
  Napi::FunctionReference streamClass;
  Napi::FunctionReference eventClass;
  Napi::FunctionReference deviceBufferClass;
  Napi::FunctionReference hostBufferClass;
};

// This environment's CUDA state; CUDA_ERROR once it has shut down.
CudaState& cudaState(Napi::Env env);

// Whether `v` is an instance of the class `cls` holds (InstanceOf; never throws for non-objects).
bool isInstance(const Napi::Value& v, const Napi::FunctionReference& cls);

}  // namespace inferrt::addon
