// Places the activation tensors of one execution in a single block (the context's arena): tensors whose
// lifetimes do not overlap share bytes. Pure bookkeeping, no device calls, so it is tested on the CPU.
#pragma once
#include <cstdint>
#include <vector>

namespace inferrt {

// One buffer to place: `bytes` live from step `first` to step `last` inclusive.
struct ArenaRequest {
  uint64_t bytes = 0;
  int first = 0;
  int last = 0;
};

struct ArenaLayout {
  std::vector<uint64_t> offsets;  // per request, aligned to kArenaAlignment
  uint64_t totalBytes = 0;
};

constexpr uint64_t kArenaAlignment = 256;  // what cudaMalloc guarantees, and enough for vectorized loads

// Largest buffers first, each at the lowest offset that does not overlap a placed buffer alive at the same
// time (greedy, TensorRT-style). Never below the peak of live bytes; test/builder/arena-planner.test.ts checks
// it stays within 2x of that peak on random lifetimes and is exact on layer chains.
ArenaLayout planArena(const std::vector<ArenaRequest>& requests);

}  // namespace inferrt
