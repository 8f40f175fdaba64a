// Reusable pinned host blocks for staging copies of pageable memory (a JS typed array): the bytes are copied
// into a pinned block on the CPU, and only the pinned block is handed to the GPU, so the GPU copy is truly
// asynchronous. Pinning memory is slow (and may synchronize the device), so blocks are kept for reuse: sizes
// are rounded up to a power of two, and up to `cacheLimit` bytes of idle blocks are kept.
#pragma once
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>

#include "backend/cuda/pinned_host_memory.h"

namespace inferrt {

class StagingPool {
 public:
  explicit StagingPool(size_t cacheLimit);

  // A pinned block of at least `bytes`. Dropping the last reference returns it to the pool (or frees it when
  // the pool is full or gone, through the release thread, so never waiting on the GPU); that may happen on any
  // thread. A miss pins a new block here, on the caller's thread (see PinnedHostMemory).
  std::shared_ptr<PinnedHostMemory> acquire(size_t bytes);
  // Bytes held by idle blocks.
  size_t idleBytes() const;

 private:
  struct Shelf {
    std::mutex mutex;
    std::multimap<size_t, std::unique_ptr<PinnedHostMemory>> idle;  // by size
    size_t idleBytes = 0;
    size_t limit = 0;
  };
  static void giveBack(const std::weak_ptr<Shelf>& shelf, PinnedHostMemory* block);

  std::shared_ptr<Shelf> shelf_;
};

}  // namespace inferrt
