#include "addon/cuda/addon_host_buffer.h"

#include "addon/convert.h"
#include "addon/cuda/cuda_state.h"
#include "addon/errors.h"

namespace inferrt::addon {

namespace {

constexpr int64_t kMaxSafeInteger = 9007199254740991;

using SharedMemory = std::shared_ptr<PinnedHostMemory>;

// An ArrayBuffer over the pinned block that keeps a share of it until V8 lets go of the backing store.
Napi::ArrayBuffer externalBuffer(Napi::Env env, const SharedMemory& memory) {
  if (memory->size() == 0) return Napi::ArrayBuffer::New(env, 0);
  auto* share = new SharedMemory(memory);
  try {
    return Napi::ArrayBuffer::New(env, memory->data(), memory->size(), [](Napi::Env, void*, SharedMemory* s) { delete s; }, share);
  } catch (...) {
    delete share;
    throw;
  }
}

}  // namespace

Napi::Function HostBufferWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeHostBuffer",
                     {
                         InstanceMethod<&HostBufferWrap::byteLength>("byteLength"),
                         InstanceMethod<&HostBufferWrap::buffer>("buffer"),
                         InstanceMethod<&HostBufferWrap::dispose>("dispose"),
                     });
}

HostBufferWrap::HostBufferWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<HostBufferWrap>(info) {
  Napi::Env env = info.Env();
  const size_t bytes = static_cast<size_t>(toInt(info[0], "HostBuffer: bytes", 0, kMaxSafeInteger));
  memory_ = guard(env, [&] { return std::make_shared<PinnedHostMemory>(bytes); });
  buffer_ = Napi::Persistent(externalBuffer(env, memory_));
}

bool HostBufferWrap::is(const Napi::Value& v) { return isInstance(v, cudaState(v.Env()).hostBufferClass); }

std::shared_ptr<PinnedHostMemory> HostBufferWrap::from(const Napi::Value& v, const std::string& what) {
  Napi::Env env = v.Env();
  if (!is(v)) badArgument(env, what, "a HostBuffer", v);
  HostBufferWrap* wrap = Unwrap(v.As<Napi::Object>());
  if (!wrap) badArgument(env, what, "a HostBuffer", v);
  return wrap->live(env);
}

const std::shared_ptr<PinnedHostMemory>& HostBufferWrap::live(Napi::Env env) const {
  if (!memory_) throw makeError(env, ErrorCode::Disposed, "HostBuffer has been disposed");
  return memory_;
}

Napi::Value HostBufferWrap::byteLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live(info.Env())->size()));
}

Napi::Value HostBufferWrap::buffer(const Napi::CallbackInfo& info) {
  live(info.Env());
  return buffer_.Value();
}

Napi::Value HostBufferWrap::dispose(const Napi::CallbackInfo& info) {
  if (!buffer_.IsEmpty()) {
    Napi::ArrayBuffer buffer = buffer_.Value();
    // JS loses access now; the backing store's share goes with it (a copy in flight keeps its own).
    if (buffer.ByteLength() > 0 && !buffer.IsDetached()) buffer.Detach();
    buffer_.Reset();
  }
  memory_.reset();
  return info.Env().Undefined();
}

}  // namespace inferrt::addon
