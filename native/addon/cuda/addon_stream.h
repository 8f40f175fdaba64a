// NativeCudaStream (lib/binding.ts): `new addon.CudaStream(device)`. synchronize() resolves once the work
// enqueued so far has finished, without blocking the JS thread. dispose() with work in flight is safe: the
// stream is destroyed once that work is done.
#pragma once
#include <napi.h>

#include <memory>
#include <string>

#include "backend/cuda/cuda_stream.h"

namespace inferrt::addon {

class StreamWrap : public Napi::ObjectWrap<StreamWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit StreamWrap(const Napi::CallbackInfo& info);

  // The stream of `v`, which must be a live NativeCudaStream (INVALID_ARGUMENT naming `what`, or DISPOSED).
  static std::shared_ptr<CudaStream> from(const Napi::Value& v, const std::string& what);

 private:
  const std::shared_ptr<CudaStream>& live(Napi::Env env) const;
  Napi::Value device(const Napi::CallbackInfo& info);
  Napi::Value synchronize(const Napi::CallbackInfo& info);
  Napi::Value waitEvent(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<CudaStream> stream_;  // null once disposed
};

}  // namespace inferrt::addon
