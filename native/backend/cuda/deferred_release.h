// Frees device and pinned host memory on a background thread. cudaFree and cudaFreeHost wait until the whole
// device is idle (an implicit synchronization), so a free on the JS thread while any stream has work in flight
// would stall the event loop until that work is done. DeviceMemory and PinnedHostMemory hand their pointer
// here instead of freeing it themselves.
//
// One thread serves the whole process (every Node environment, workers included). It starts with the first
// release and runs while at least one ReleaseThreadUser exists (the addon keeps one per environment); the last
// user to go drains the queue and joins the thread, so the thread never outlives the CUDA runtime at a normal
// exit. With no user (before the first environment, after the last), releases free inline on the caller's
// thread. The thread's state is never destroyed, so no static destructor races the runtime's own teardown.
#pragma once

namespace inferrt {

enum class ReleaseKind { Device, PinnedHost };

// Frees `ptr` (device memory of `device`, or pinned host memory) on the release thread, or right here when no
// thread runs. Never throws and never calls CUDA while the thread runs, so it is safe on any thread. The
// caller must be done with the memory: no GPU work may still use it.
void deferRelease(ReleaseKind kind, void* ptr, int device) noexcept;

// Blocks until everything handed over so far has been freed; returns whether anything was still pending. For
// an allocation that failed for lack of memory, before it retries (this may wait on the GPU).
bool drainReleases() noexcept;

// Keeps the release thread available while it lives (one per environment). The last one destroyed drains the
// queue and joins the thread.
class ReleaseThreadUser {
 public:
  ReleaseThreadUser();
  ~ReleaseThreadUser();
  ReleaseThreadUser(const ReleaseThreadUser&) = delete;
  ReleaseThreadUser& operator=(const ReleaseThreadUser&) = delete;
};

}  // namespace inferrt
