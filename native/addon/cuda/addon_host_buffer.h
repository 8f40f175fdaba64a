// NativeHostBuffer (lib/binding.ts): `new addon.HostBuffer(bytes)`, pinned host memory that JS sees as one
// ArrayBuffer. Ownership is shared: the wrap, each copy in flight, and the ArrayBuffer's backing store (through
// its finalizer hint) each hold the memory, so it is freed only when none of them can touch it any more.
// dispose() detaches the ArrayBuffer (every view of it reads as empty at once) and drops the wrap's share.
#pragma once
#include <napi.h>

#include <memory>
#include <string>

#include "backend/cuda/pinned_host_memory.h"

namespace inferrt::addon {

class HostBufferWrap : public Napi::ObjectWrap<HostBufferWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit HostBufferWrap(const Napi::CallbackInfo& info);

  // Whether `v` is a NativeHostBuffer (live or not).
  static bool is(const Napi::Value& v);
  // The memory of `v`, which must be a live NativeHostBuffer (INVALID_ARGUMENT naming `what`, or DISPOSED).
  static std::shared_ptr<PinnedHostMemory> from(const Napi::Value& v, const std::string& what);

 private:
  const std::shared_ptr<PinnedHostMemory>& live(Napi::Env env) const;
  Napi::Value byteLength(const Napi::CallbackInfo& info);
  Napi::Value buffer(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<PinnedHostMemory> memory_;  // null once disposed
  Napi::Reference<Napi::ArrayBuffer> buffer_;   // empty once disposed
};

}  // namespace inferrt::addon
