// What runs an engine's network for one ExecutionContext: the CPU executor, or the CUDA runner with its own
// stream and activation arena. Used by one thread at a time (the context allows one infer in flight).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/tensor.h"

namespace inferrt {

class ContextRunner {
 public:
  virtual ~ContextRunner() = default;
  // `inputs` in network input order, validated by the ExecutionContext; returns outputs in network output order.
  virtual std::vector<TensorPtr> run(const std::vector<TensorPtr>& inputs) = 0;
  // Device memory this context holds (arena, scratch, staging); 0 on the CPU.
  virtual uint64_t deviceMemorySize() const { return 0; }
  // Whether runs may be captured into CUDA graphs and replayed (CUDA only; default on).
  virtual void setCudaGraphs(bool /*enabled*/) {}
  // Per-layer GPU timing of later runs (CUDA only: events around each layer, graphs off while on).
  virtual void setProfiling(bool /*enabled*/) {}
  // Milliseconds per layer kind summed over the profiled runs, and how many runs that was (CUDA only).
  virtual std::map<std::string, double> layerTimes(int* runs) const {
    *runs = 0;
    return {};
  }
};

}  // namespace inferrt
