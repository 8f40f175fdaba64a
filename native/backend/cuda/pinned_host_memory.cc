#include "backend/cuda/pinned_host_memory.h"

#include <cuda_runtime_api.h>

#include <string>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/deferred_release.h"

namespace inferrt {

PinnedHostMemory::PinnedHostMemory(size_t bytes) : size_(bytes) {
  if (bytes == 0) return;
  cudaError_t status = cudaHostAlloc(&data_, bytes, cudaHostAllocPortable);
  // Blocks freed a moment ago may still wait on the release thread: let them go, then try once more.
  if (status == cudaErrorMemoryAllocation) {
    ignoreCudaError(status);
    if (drainReleases()) status = cudaHostAlloc(&data_, bytes, cudaHostAllocPortable);
  }
  checkCuda(status, "cudaHostAlloc of " + std::to_string(bytes) + " pinned host bytes");
}

// cudaFreeHost waits for the whole device to go idle; the release thread does that, not the caller.
PinnedHostMemory::~PinnedHostMemory() { deferRelease(ReleaseKind::PinnedHost, data_, 0); }

}  // namespace inferrt
