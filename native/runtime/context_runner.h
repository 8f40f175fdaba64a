// What runs an engine's network for one ExecutionContext: the CPU executor, or the CUDA runner with its own
// stream and activation arena. Used by one thread at a time (the context allows one infer in flight).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/error.h"
#include "ir/tensor.h"

namespace inferrt {

// What per-layer profiling measured (ContextRunner::layerTimes).
struct LayerTimes {
  int runs = 0;
  std::map<std::string, double> msByKind;   // summed over layers of a kind (and conversions, CPU fallbacks)
  std::map<std::string, double> msByLayer;  // by layer name
};

// Device memory bound to an I/O tensor with setTensorAddress; keepAlive holds the memory while it is bound.
struct TensorBinding {
  void* address = nullptr;
  uint64_t bytes = 0;
  std::shared_ptr<void> keepAlive;
};

// What enqueue runs: the input dims and buffers (network input order) and the output buffers (output order).
struct EnqueueRequest {
  std::vector<Dims> inputDims;
  std::vector<TensorBinding> inputs, outputs;
};

class ContextRunner {
 public:
  virtual ~ContextRunner() = default;
  // `inputs` in network input order, validated by the ExecutionContext; returns outputs in network output order.
  virtual std::vector<TensorPtr> run(const std::vector<TensorPtr>& inputs) = 0;
  // Enqueues a run on `stream` (a cudaStream_t) reading and writing device buffers; returns once enqueued.
  virtual void enqueue(const EnqueueRequest& /*request*/, void* /*stream*/) {
    fail(ErrorCode::InvalidArgument, "enqueue: this engine runs on the CPU backend; use infer()");
  }
  // Device memory this context holds (arena, scratch, staging); 0 on the CPU.
  virtual uint64_t deviceMemorySize() const { return 0; }
  // Whether runs may be captured into CUDA graphs and replayed (CUDA only; default on).
  virtual void setCudaGraphs(bool /*enabled*/) {}
  // Per-layer GPU timing of later runs (CUDA only: events around each layer, graphs off while on).
  virtual void setProfiling(bool /*enabled*/) {}
  // Milliseconds summed over the profiled runs per layer kind and per layer name, and how many runs that was
  // (CUDA only).
  virtual LayerTimes layerTimes() const { return {}; }
};

}  // namespace inferrt
