#include "backend/cuda/staging_pool.h"

namespace inferrt {

namespace {

constexpr size_t kMinBlock = size_t{64} << 10;   // 64 KiB: small copies share one size class
constexpr size_t kRoundAbove = size_t{64} << 20;  // above 64 MiB, round to 2 MiB instead of a power of two

size_t blockSize(size_t bytes) {
  if (bytes > kRoundAbove) {
    constexpr size_t step = size_t{2} << 20;
    return (bytes + step - 1) / step * step;
  }
  size_t size = kMinBlock;
  while (size < bytes) size <<= 1;
  return size;
}

}  // namespace

StagingPool::StagingPool(size_t cacheLimit) : shelf_(std::make_shared<Shelf>()) { shelf_->limit = cacheLimit; }

std::shared_ptr<PinnedHostMemory> StagingPool::acquire(size_t bytes) {
  const size_t size = blockSize(bytes);
  std::unique_ptr<PinnedHostMemory> block;
  {
    std::lock_guard<std::mutex> lock(shelf_->mutex);
    auto it = shelf_->idle.find(size);
    if (it != shelf_->idle.end()) {
      block = std::move(it->second);
      shelf_->idle.erase(it);
      shelf_->idleBytes -= size;
    }
  }
  if (!block) block = std::make_unique<PinnedHostMemory>(size);
  std::weak_ptr<Shelf> shelf = shelf_;
  return std::shared_ptr<PinnedHostMemory>(block.release(), [shelf](PinnedHostMemory* b) { giveBack(shelf, b); });
}

size_t StagingPool::idleBytes() const {
  std::lock_guard<std::mutex> lock(shelf_->mutex);
  return shelf_->idleBytes;
}

void StagingPool::giveBack(const std::weak_ptr<Shelf>& weak, PinnedHostMemory* block) {
  std::unique_ptr<PinnedHostMemory> owned(block);
  if (std::shared_ptr<Shelf> shelf = weak.lock()) {
    std::lock_guard<std::mutex> lock(shelf->mutex);
    if (shelf->idleBytes + owned->size() <= shelf->limit) {
      shelf->idleBytes += owned->size();
      shelf->idle.emplace(owned->size(), std::move(owned));
    }
  }
  // Not kept: `owned` hands the block to the release thread here, outside the lock.
}

}  // namespace inferrt
