#include "addon/cuda/addon_device_buffer.h"

#include <climits>
#include <cstring>

#include "addon/convert.h"
#include "addon/cuda/addon_host_buffer.h"
#include "addon/cuda/addon_stream.h"
#include "addon/cuda/cuda_state.h"
#include "addon/errors.h"

namespace inferrt::addon {

namespace {

constexpr int64_t kMaxSafeInteger = 9007199254740991;

// The host side of a copy: a HostBuffer (pinned, used in place) or a typed array / DataView (pageable).
struct HostSide {
  std::shared_ptr<PinnedHostMemory> pinned;  // set for a HostBuffer
  uint8_t* data = nullptr;
  size_t size = 0;
};

HostSide hostSide(const Napi::Value& v, const std::string& what) {
  HostSide side;
  if (HostBufferWrap::is(v)) {
    side.pinned = HostBufferWrap::from(v, what);
    side.data = static_cast<uint8_t*>(side.pinned->data());
    side.size = side.pinned->size();
    return side;
  }
  if (!v.IsTypedArray() && !v.IsDataView()) badArgument(v.Env(), what, "a typed array, DataView or HostBuffer", v);
  const uint8_t* data = nullptr;
  toBytes(v, what, &data, &side.size);
  side.data = const_cast<uint8_t*>(data);  // JS memory is writable; toBytes hands it out read-only
  return side;
}

// Checks that `bytes` at `offset` lie inside the buffer and that the stream is on its device.
void checkCopy(Napi::Env env, const char* op, const DeviceMemory& memory, size_t offset, size_t bytes, const CudaStream& stream) {
  if (offset > memory.size() || bytes > memory.size() - offset)
    throw makeError(env, ErrorCode::InvalidArgument,
                    std::string(op) + ": " + std::to_string(bytes) + " bytes at offset " + std::to_string(offset) +
                        " do not fit in the DeviceBuffer of " + std::to_string(memory.size()) + " bytes");
  if (stream.device() != memory.device())
    throw makeError(env, ErrorCode::InvalidArgument,
                    std::string(op) + ": the stream is on device " + std::to_string(stream.device()) + " but the DeviceBuffer on device " +
                        std::to_string(memory.device()));
}

}  // namespace

Napi::Function DeviceBufferWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeDeviceBuffer",
                     {
                         InstanceMethod<&DeviceBufferWrap::byteLength>("byteLength"),
                         InstanceMethod<&DeviceBufferWrap::device>("device"),
                         InstanceMethod<&DeviceBufferWrap::upload>("upload"),
                         InstanceMethod<&DeviceBufferWrap::download>("download"),
                         InstanceMethod<&DeviceBufferWrap::dispose>("dispose"),
                     });
}

DeviceBufferWrap::DeviceBufferWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DeviceBufferWrap>(info) {
  Napi::Env env = info.Env();
  const size_t bytes = static_cast<size_t>(toInt(info[0], "DeviceBuffer: bytes", 0, kMaxSafeInteger));
  const int device = static_cast<int>(toInt(info[1], "DeviceBuffer: device", 0, INT_MAX));
  memory_ = guard(env, [&] { return std::make_shared<DeviceMemory>(bytes, device); });
}

std::shared_ptr<DeviceMemory> DeviceBufferWrap::from(const Napi::Value& v, const std::string& what) {
  Napi::Env env = v.Env();
  if (!isInstance(v, cudaState(env).deviceBufferClass)) badArgument(env, what, "a DeviceBuffer", v);
  DeviceBufferWrap* wrap = Unwrap(v.As<Napi::Object>());
  if (!wrap) badArgument(env, what, "a DeviceBuffer", v);
  return wrap->live(env);
}

const std::shared_ptr<DeviceMemory>& DeviceBufferWrap::live(Napi::Env env) const {
  if (!memory_) throw makeError(env, ErrorCode::Disposed, "DeviceBuffer has been disposed");
  return memory_;
}

Napi::Value DeviceBufferWrap::byteLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live(info.Env())->size()));
}

Napi::Value DeviceBufferWrap::device(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), live(info.Env())->device());
}

// upload(source, stream, offset): source's bytes -> [offset, offset + source.byteLength) of this buffer.
Napi::Value DeviceBufferWrap::upload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const std::shared_ptr<DeviceMemory>& memory = live(env);
    const HostSide src = hostSide(info[0], "upload: source");
    const std::shared_ptr<CudaStream> stream = StreamWrap::from(info[1], "upload: stream");
    const size_t offset = static_cast<size_t>(toInt(info[2], "upload: offset", 0, kMaxSafeInteger));
    checkCopy(env, "upload", *memory, offset, src.size, *stream);
    CudaState& state = cudaState(env);
    return guard(env, [&] {
      auto done = std::make_unique<Completion>(env);
      const void* from = src.data;
      if (src.pinned) {
        done->resources.push_back(src.pinned);
      } else if (src.size > 0) {
        std::shared_ptr<PinnedHostMemory> staging = state.staging.acquire(src.size);
        std::memcpy(staging->data(), src.data, src.size);  // the caller may reuse its array from here on
        from = staging->data();
        done->resources.push_back(std::move(staging));
      }
      stream->copyAsync(static_cast<uint8_t*>(memory->data()) + offset, from, src.size);
      done->resources.push_back(memory);
      done->resources.push_back(stream);
      return state.completions->settleAfter(*stream, std::move(done));
    });
  } catch (const Napi::Error& e) {
    return rejectedPromise(env, e);
  }
}

// download(destination, stream, offset): [offset, offset + destination.byteLength) of this buffer -> destination.
Napi::Value DeviceBufferWrap::download(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const std::shared_ptr<DeviceMemory>& memory = live(env);
    const HostSide dst = hostSide(info[0], "download: destination");
    const std::shared_ptr<CudaStream> stream = StreamWrap::from(info[1], "download: stream");
    const size_t offset = static_cast<size_t>(toInt(info[2], "download: offset", 0, kMaxSafeInteger));
    checkCopy(env, "download", *memory, offset, dst.size, *stream);
    CudaState& state = cudaState(env);
    return guard(env, [&] {
      auto done = std::make_unique<Completion>(env);
      void* to = dst.data;
      if (dst.pinned) {
        done->resources.push_back(dst.pinned);
      } else if (dst.size > 0) {
        // Staged: copied into the typed array on the main thread when the GPU is done (see Completion).
        done->staging = state.staging.acquire(dst.size);
        done->target = Napi::Persistent(info[0].As<Napi::Object>());
        done->bytes = dst.size;
        to = done->staging->data();
      }
      stream->copyAsync(to, static_cast<const uint8_t*>(memory->data()) + offset, dst.size);
      done->resources.push_back(memory);
      done->resources.push_back(stream);
      return state.completions->settleAfter(*stream, std::move(done));
    });
  } catch (const Napi::Error& e) {
    return rejectedPromise(env, e);
  }
}

Napi::Value DeviceBufferWrap::dispose(const Napi::CallbackInfo& info) {
  memory_.reset();  // freed once no copy in flight uses it
  return info.Env().Undefined();
}

}  // namespace inferrt::addon
