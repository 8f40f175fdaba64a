#include "addon/cuda/addon_stream.h"

#include <climits>

#include "addon/convert.h"
#include "addon/cuda/addon_event.h"
#include "addon/cuda/cuda_state.h"
#include "addon/errors.h"

namespace inferrt::addon {

Napi::Function StreamWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeCudaStream",
                     {
                         InstanceMethod<&StreamWrap::device>("device"),
                         InstanceMethod<&StreamWrap::synchronize>("synchronize"),
                         InstanceMethod<&StreamWrap::waitEvent>("waitEvent"),
                         InstanceMethod<&StreamWrap::dispose>("dispose"),
                     });
}

StreamWrap::StreamWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<StreamWrap>(info) {
  Napi::Env env = info.Env();
  const int device = static_cast<int>(toInt(info[0], "CudaStream: device", 0, INT_MAX));
  stream_ = guard(env, [&] { return std::make_shared<CudaStream>(device); });
}

std::shared_ptr<CudaStream> StreamWrap::from(const Napi::Value& v, const std::string& what) {
  Napi::Env env = v.Env();
  if (!isInstance(v, cudaState(env).streamClass)) badArgument(env, what, "a Stream", v);
  StreamWrap* wrap = Unwrap(v.As<Napi::Object>());
  if (!wrap) badArgument(env, what, "a Stream", v);
  return wrap->live(env);
}

const std::shared_ptr<CudaStream>& StreamWrap::live(Napi::Env env) const {
  if (!stream_) throw makeError(env, ErrorCode::Disposed, "Stream has been disposed");
  return stream_;
}

Napi::Value StreamWrap::device(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), live(info.Env())->device());
}

Napi::Value StreamWrap::synchronize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const std::shared_ptr<CudaStream>& stream = live(env);
    auto done = std::make_unique<Completion>(env);
    done->resources.push_back(stream);
    return guard(env, [&] { return cudaState(env).completions->settleAfter(*stream, std::move(done)); });
  } catch (const Napi::Error& e) {
    return rejectedPromise(env, e);
  }
}

Napi::Value StreamWrap::waitEvent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::shared_ptr<CudaStream>& stream = live(env);
  const std::shared_ptr<CudaEvent> event = EventWrap::from(info[0], "waitEvent: event");
  guard(env, [&] { stream->waitEvent(*event); });
  return env.Undefined();
}

Napi::Value StreamWrap::dispose(const Napi::CallbackInfo& info) {
  stream_.reset();  // work in flight holds its own reference
  return info.Env().Undefined();
}

}  // namespace inferrt::addon
