// An owned block of page-locked host memory (cudaHostAlloc / cudaFreeHost), usable by copies on every device
// (portable). Copies to and from it run asynchronously on the GPU's copy engines; pageable memory cannot.
// Allocating is slow (the pages are locked one by one, tens of ms for hundreds of MiB) and counts among the
// calls CUDA may synchronize on, so it belongs where a block is first needed (alloc, a staging pool miss),
// never in a loop. Freeing never blocks the caller: cudaFreeHost waits for the whole device, so the destructor
// hands the block to the release thread (deferred_release.h).
#pragma once
#include <cstddef>

namespace inferrt {

class PinnedHostMemory {
 public:
  // OUT_OF_MEMORY when the system cannot pin that much, even after waiting for the frees still queued on the
  // release thread. Zero bytes allocates nothing (data() is null).
  explicit PinnedHostMemory(size_t bytes);
  ~PinnedHostMemory();
  PinnedHostMemory(const PinnedHostMemory&) = delete;
  PinnedHostMemory& operator=(const PinnedHostMemory&) = delete;

  void* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void* data_ = nullptr;
  size_t size_;
};

}  // namespace inferrt
