// NativeCudaEvent (lib/binding.ts): `new addon.CudaEvent(device)`, timing-capable. synchronize() waits on a
// helper stream of its own (wait-event, then a host function), so the JS thread never blocks and other
// streams are not held up.
#pragma once
#include <napi.h>

#include <memory>
#include <string>

#include "backend/cuda/cuda_event.h"
#include "backend/cuda/cuda_stream.h"

namespace inferrt::addon {

class EventWrap : public Napi::ObjectWrap<EventWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit EventWrap(const Napi::CallbackInfo& info);

  // The event of `v`, which must be a live NativeCudaEvent (INVALID_ARGUMENT naming `what`, or DISPOSED).
  static std::shared_ptr<CudaEvent> from(const Napi::Value& v, const std::string& what);

 private:
  const std::shared_ptr<CudaEvent>& live(Napi::Env env) const;
  Napi::Value device(const Napi::CallbackInfo& info);
  Napi::Value record(const Napi::CallbackInfo& info);
  Napi::Value done(const Napi::CallbackInfo& info);
  Napi::Value synchronize(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<CudaEvent> event_;    // null once disposed
  std::shared_ptr<CudaStream> waiter_;  // created by the first synchronize()
};

}  // namespace inferrt::addon
