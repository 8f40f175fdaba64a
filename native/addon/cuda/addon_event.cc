#include "addon/cuda/addon_event.h"

#include <climits>

#include "addon/convert.h"
#include "addon/cuda/addon_stream.h"
#include "addon/cuda/cuda_state.h"
#include "addon/errors.h"

namespace inferrt::addon {

Napi::Function EventWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeCudaEvent",
                     {
                         InstanceMethod<&EventWrap::device>("device"),
                         InstanceMethod<&EventWrap::record>("record"),
                         InstanceMethod<&EventWrap::done>("done"),
                         InstanceMethod<&EventWrap::synchronize>("synchronize"),
                         InstanceMethod<&EventWrap::dispose>("dispose"),
                     });
}

EventWrap::EventWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EventWrap>(info) {
  Napi::Env env = info.Env();
  const int device = static_cast<int>(toInt(info[0], "CudaEvent: device", 0, INT_MAX));
  event_ = guard(env, [&] { return std::make_shared<CudaEvent>(device); });
}

std::shared_ptr<CudaEvent> EventWrap::from(const Napi::Value& v, const std::string& what) {
  Napi::Env env = v.Env();
  if (!isInstance(v, cudaState(env).eventClass)) badArgument(env, what, "an Event", v);
  EventWrap* wrap = Unwrap(v.As<Napi::Object>());
  if (!wrap) badArgument(env, what, "an Event", v);
  return wrap->live(env);
}

const std::shared_ptr<CudaEvent>& EventWrap::live(Napi::Env env) const {
  if (!event_) throw makeError(env, ErrorCode::Disposed, "Event has been disposed");
  return event_;
}

Napi::Value EventWrap::device(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), live(info.Env())->device());
}

Napi::Value EventWrap::record(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::shared_ptr<CudaEvent>& event = live(env);
  const std::shared_ptr<CudaStream> stream = StreamWrap::from(info[0], "record: stream");
  guard(env, [&] { event->record(*stream); });
  return env.Undefined();
}

Napi::Value EventWrap::done(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::shared_ptr<CudaEvent>& event = live(env);
  return Napi::Boolean::New(env, guard(env, [&] { return event->done(); }));
}

Napi::Value EventWrap::synchronize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const std::shared_ptr<CudaEvent>& event = live(env);
    return guard(env, [&] {
      if (!waiter_) waiter_ = std::make_shared<CudaStream>(event->device());
      waiter_->waitEvent(*event);
      auto done = std::make_unique<Completion>(env);
      done->resources.push_back(event);
      done->resources.push_back(waiter_);
      return cudaState(env).completions->settleAfter(*waiter_, std::move(done));
    });
  } catch (const Napi::Error& e) {
    return rejectedPromise(env, e);
  }
}

Napi::Value EventWrap::dispose(const Napi::CallbackInfo& info) {
  event_.reset();  // a synchronize() in flight holds its own references
  waiter_.reset();
  return info.Env().Undefined();
}

}  // namespace inferrt::addon
