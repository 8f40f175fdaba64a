// The CUDA-only methods of NativeContext: setTensorAddress(name, DeviceBuffer | null) and enqueue(stream),
// TensorRT's zero-copy path. Compiled only with the CUDA backend; ContextWrap forwards to these.
#pragma once
#include <napi.h>

#include "addon/addon_context.h"

namespace inferrt::addon {

class ContextCudaCalls {
 public:
  static Napi::Value setTensorAddress(ContextWrap& wrap, ExecutionContext& ctx, const Napi::CallbackInfo& info);
  // A Promise resolved once the run is enqueued on the stream (not finished: await stream.synchronize()).
  static Napi::Value enqueue(ContextWrap& wrap, ExecutionContext& ctx, const Napi::CallbackInfo& info);
};

}  // namespace inferrt::addon
