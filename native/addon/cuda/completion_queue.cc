#include "addon/cuda/completion_queue.h"

#include <cuda_runtime_api.h>

#include <cstring>

#include "addon/errors.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/scoped_device.h"

namespace inferrt::addon {

namespace {

// Copies the staged bytes of a download into the JS memory it was asked for.
void copyToTarget(Napi::Env env, Completion& c) {
  Napi::Value target = c.target.Value();
  uint8_t* data = nullptr;
  size_t size = 0;
  if (target.IsTypedArray()) {
    Napi::TypedArray t = target.As<Napi::TypedArray>();
    data = static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
    size = t.ByteLength();
  } else if (target.IsDataView()) {
    Napi::DataView d = target.As<Napi::DataView>();
    data = static_cast<uint8_t*>(d.ArrayBuffer().Data()) + d.ByteOffset();
    size = d.ByteLength();
  }
  if (size < c.bytes)  // detached (transferred) while the copy ran
    throw makeError(env, ErrorCode::InvalidArgument,
                    "download: the destination's buffer was detached or shrunk before the copy finished (" + std::to_string(c.bytes) +
                        " bytes expected, " + std::to_string(size) + " there)");
  if (c.bytes > 0) std::memcpy(data, c.staging->data(), c.bytes);
}

}  // namespace

CompletionQueue* CompletionQueue::create(Napi::Env env) {
  auto* queue = new CompletionQueue();
  // Unlimited queue, one owner (this object, which releases it in close()); the finalizer runs once the
  // thread-safe function is released and drained, or when the environment goes.
  queue->tsfn_ = Tsfn::New(env, "inferrt.cuda", 0, 1, queue, [](Napi::Env, void*, CompletionQueue* q) { delete q; });
  queue->tsfn_.Unref(env);  // idle: does not keep Node alive
  return queue;
}

Napi::Promise CompletionQueue::settleAfter(CudaStream& stream, std::unique_ptr<Completion> completion) {
  Napi::Env env = completion->deferred.Env();
  if (closed_) throw makeError(env, ErrorCode::CudaError, "the CUDA runtime of this environment has shut down");
  Napi::Promise promise = completion->deferred.Promise();
  Completion* raw = completion.get();
  raw->device = stream.device();
  const Tsfn tsfn = tsfn_;
  try {
    // Runs on a CUDA runtime thread: only hands the pointer over (NonBlockingCall makes no CUDA call).
    stream.launchHostFunc([tsfn, raw] { tsfn.NonBlockingCall(raw); });
  } catch (...) {
    stream.blockUntilIdle();  // the copies before may still use what `completion` holds
    throw;
  }
  completion.release();  // deliver() owns it now
  if (pending_++ == 0) tsfn_.Ref(env);
  ++inFlight_[raw->device];
  return promise;
}

void CompletionQueue::deliver(Napi::Env env, Napi::Function, CompletionQueue* queue, Completion* raw) {
  std::unique_ptr<Completion> c(raw);
  if (env == nullptr) {
    // The environment is being torn down (close() ran, `queue` may be gone): nothing to settle.
    c->target.SuppressDestruct();
    return;
  }
  // Nothing may escape to the thread-safe function's caller. Settling fails only while the environment shuts
  // down and can no longer run JS, when nothing is left to await the Promise.
  try {
    queue->settled(env, c->device);
    try {
      if (!c->target.IsEmpty()) copyToTarget(env, *c);
      c->deferred.Resolve(env.Undefined());
    } catch (const Napi::Error& e) {
      c->deferred.Reject(e.Value());
    }
  } catch (...) {
  }
  // `c` goes here, on the main thread: memory the GPU no longer uses is handed to the release thread (freeing
  // it here would wait for every other stream's work).
}

void CompletionQueue::settled(Napi::Env env, int device) {
  --inFlight_[device];
  if (--pending_ == 0 && !closed_) tsfn_.Unref(env);
}

void CompletionQueue::close() {
  if (closed_) return;
  closed_ = true;
  for (const auto& [device, count] : inFlight_) {
    if (count == 0) continue;
    try {
      ScopedDevice on(device);
      ignoreCudaError(cudaDeviceSynchronize());  // host functions included: none fires after this
    } catch (const std::exception&) {
      // The runtime is going away with the process; so is every host function.
    }
  }
  tsfn_.Release();
}

}  // namespace inferrt::addon
