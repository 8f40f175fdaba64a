#include "runtime/arena_planner.h"

#include <algorithm>
#include <numeric>

namespace inferrt {

namespace {

uint64_t aligned(uint64_t bytes) { return (bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment; }

bool overlapInTime(const ArenaRequest& a, const ArenaRequest& b) { return a.first <= b.last && b.first <= a.last; }

}  // namespace

ArenaLayout planArena(const std::vector<ArenaRequest>& requests) {
  ArenaLayout layout;
  layout.offsets.assign(requests.size(), 0);
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return requests[a].bytes > requests[b].bytes; });
  std::vector<size_t> placed;
  for (size_t r : order) {
    const uint64_t size = aligned(requests[r].bytes);
    if (size == 0) continue;
    // Busy byte ranges of placed buffers alive at the same time, sorted by offset; take the first gap that fits.
    std::vector<std::pair<uint64_t, uint64_t>> busy;
    for (size_t p : placed)
      if (overlapInTime(requests[r], requests[p])) busy.emplace_back(layout.offsets[p], layout.offsets[p] + aligned(requests[p].bytes));
    std::sort(busy.begin(), busy.end());
    uint64_t offset = 0;
    for (const auto& [begin, end] : busy) {
      if (begin >= offset + size) break;
      offset = std::max(offset, end);
    }
    layout.offsets[r] = offset;
    layout.totalBytes = std::max(layout.totalBytes, offset + size);
    placed.push_back(r);
  }
  return layout;
}

}  // namespace inferrt
