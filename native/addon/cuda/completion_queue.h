// How GPU completion reaches JS without blocking or spinning: a host function enqueued behind the work
// (cudaLaunchHostFunc) posts the operation to one thread-safe function per environment, whose main-thread side
// settles the operation's Promise. Everything the GPU reads or writes stays referenced until then.
#pragma once
#include <napi.h>

#include <cstddef>
#include <map>
#include <memory>
#include <vector>

#include "backend/cuda/cuda_stream.h"
#include "backend/cuda/pinned_host_memory.h"

namespace inferrt::addon {

// One awaited GPU operation.
struct Completion {
  explicit Completion(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise::Deferred deferred;
  // Native objects the GPU uses until the operation is done (memory, streams, events); released after.
  std::vector<std::shared_ptr<const void>> resources;
  // For a download into pageable JS memory: the pinned `staging` block holds the bytes, copied into `target`
  // (an ArrayBufferView, kept alive here) on the main thread just before the Promise resolves.
  Napi::ObjectReference target;
  std::shared_ptr<PinnedHostMemory> staging;
  size_t bytes = 0;
  int device = 0;  // of the stream it waits on; set by settleAfter
};

// Owned by its thread-safe function: create() makes one per environment, close() starts its end, and it is
// deleted once the last completion has been delivered (so a delivery after close() still finds it).
class CompletionQueue {
 public:
  static CompletionQueue* create(Napi::Env env);

  // Settles the completion's Promise (and returns it) once all work enqueued on `stream` so far has finished.
  // Throws (releasing the completion only after the stream is idle) when the host function cannot be enqueued.
  Napi::Promise settleAfter(CudaStream& stream, std::unique_ptr<Completion> completion);
  // Environment shutdown: waits for the GPU work still in flight, then lets the thread-safe function go.
  void close();

 private:
  CompletionQueue() = default;
  static void deliver(Napi::Env env, Napi::Function, CompletionQueue* queue, Completion* completion);
  void settled(Napi::Env env, int device);
  using Tsfn = Napi::TypedThreadSafeFunction<CompletionQueue, Completion, &CompletionQueue::deliver>;

  Tsfn tsfn_;
  size_t pending_ = 0;              // operations in flight; the thread-safe function keeps Node alive while > 0
  std::map<int, size_t> inFlight_;  // per device, for close()
  bool closed_ = false;
};

}  // namespace inferrt::addon
