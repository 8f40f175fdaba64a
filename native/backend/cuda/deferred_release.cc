#include "backend/cuda/deferred_release.h"

#include <cuda_runtime_api.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/scoped_device.h"

namespace inferrt {

namespace {

struct Release {
  ReleaseKind kind;
  void* ptr;
  int device;
};

struct Releaser {
  std::mutex mutex;
  std::condition_variable wake;   // the thread: work queued, or stop
  std::condition_variable freed;  // drainReleases: a release done
  std::deque<Release> queue;
  uint64_t handed = 0;  // releases queued so far
  uint64_t done = 0;    // of those, freed
  size_t users = 0;
  bool stopping = false;  // the last user is joining the thread: release inline meanwhile
  std::thread thread;     // not joinable until the first release after a user arrives
};

// Leaked on purpose: a static destructor could run during the CUDA runtime's own teardown at exit, and
// destroying a joinable std::thread (process.exit() skips the environment's cleanup) would std::terminate.
Releaser& releaser() {
  static Releaser* r = new Releaser();
  return *r;
}

void freeNow(const Release& r) noexcept {
  try {
    if (r.kind == ReleaseKind::PinnedHost) {
      ignoreCudaError(cudaFreeHost(r.ptr));
    } else {
      ScopedDevice on(r.device);  // cudaFree acts on the current device's context
      ignoreCudaError(cudaFree(r.ptr));
    }
  } catch (const std::exception&) {
    // Only when the runtime is going away (process exit): the memory goes with it.
  }
}

void run(Releaser& r) {
  std::unique_lock<std::mutex> lock(r.mutex);
  for (;;) {
    r.wake.wait(lock, [&] { return r.stopping || !r.queue.empty(); });
    if (r.queue.empty()) return;  // stopping, and everything handed over is freed
    const Release next = r.queue.front();
    r.queue.pop_front();
    lock.unlock();
    freeNow(next);  // may wait for the device; nobody waits on this thread meanwhile
    lock.lock();
    ++r.done;
    r.freed.notify_all();
  }
}

// Queues `item` for the thread (starting it if needed); false when it must be freed inline.
bool enqueue(Releaser& r, const Release& item) {
  std::lock_guard<std::mutex> lock(r.mutex);
  if (r.users == 0 || r.stopping) return false;
  if (!r.thread.joinable()) r.thread = std::thread(run, std::ref(r));
  r.queue.push_back(item);
  ++r.handed;
  r.wake.notify_one();
  return true;
}

}  // namespace

void deferRelease(ReleaseKind kind, void* ptr, int device) noexcept {
  if (!ptr) return;
  const Release item{kind, ptr, device};
  bool queued = false;
  try {
    queued = enqueue(releaser(), item);
  } catch (...) {
    // No thread could be started, or no memory to queue: freeing here is slow but correct.
  }
  if (!queued) freeNow(item);
}

bool drainReleases() noexcept {
  Releaser& r = releaser();
  std::unique_lock<std::mutex> lock(r.mutex);
  const uint64_t target = r.handed;
  if (r.done >= target) return false;
  r.freed.wait(lock, [&] { return r.done >= target; });
  return true;
}

ReleaseThreadUser::ReleaseThreadUser() {
  Releaser& r = releaser();
  std::lock_guard<std::mutex> lock(r.mutex);
  ++r.users;
}

ReleaseThreadUser::~ReleaseThreadUser() {
  Releaser& r = releaser();
  std::thread last;
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    if (--r.users > 0 || !r.thread.joinable()) return;
    // Taken out under the lock, so a user that comes and goes during the join finds no thread to join.
    last = std::move(r.thread);
    r.stopping = true;
    r.wake.notify_one();
  }
  last.join();  // the thread empties the queue first
  std::lock_guard<std::mutex> lock(r.mutex);
  r.stopping = false;  // a later user's first release starts a fresh thread
}

}  // namespace inferrt
