// NativeDeviceBuffer (lib/binding.ts): `new addon.DeviceBuffer(bytes, device)`, device memory with async copies
// from and to host memory on a stream. A HostBuffer is copied directly (it is pinned); a typed array is staged
// through a pinned block, so every copy is truly asynchronous and the caller may reuse an upload's source as
// soon as upload() returns. Each copy's Promise resolves once the GPU has finished it.
#pragma once
#include <napi.h>

#include <memory>
#include <string>

#include "backend/cuda/device_memory.h"

namespace inferrt::addon {

class DeviceBufferWrap : public Napi::ObjectWrap<DeviceBufferWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit DeviceBufferWrap(const Napi::CallbackInfo& info);

  // The memory of `v`, which must be a live NativeDeviceBuffer (INVALID_ARGUMENT naming `what`, or DISPOSED).
  static std::shared_ptr<DeviceMemory> from(const Napi::Value& v, const std::string& what);

 private:
  const std::shared_ptr<DeviceMemory>& live(Napi::Env env) const;
  Napi::Value byteLength(const Napi::CallbackInfo& info);
  Napi::Value device(const Napi::CallbackInfo& info);
  Napi::Value upload(const Napi::CallbackInfo& info);
  Napi::Value download(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<DeviceMemory> memory_;  // null once disposed; copies in flight hold their own reference
};

}  // namespace inferrt::addon
