// A CUDA graph captured from the work one run enqueues, replayed for later runs with the same input shapes and
// the same buffers (TensorRT-style: one graph per shape signature). Replaying one launch instead of hundreds
// of kernel launches is what makes small batches fast.
#pragma once
#include <cuda_runtime_api.h>

#include <functional>
#include <memory>
#include <vector>

namespace inferrt {

class CapturedGraph {
 public:
  ~CapturedGraph();
  CapturedGraph(const CapturedGraph&) = delete;
  CapturedGraph& operator=(const CapturedGraph&) = delete;

  // Captures what `enqueue` puts on `stream`. Returns null, with the runtime's error state cleared and the
  // stream usable again, when the work cannot be captured or `enqueue` throws (then run it eagerly).
  static std::unique_ptr<CapturedGraph> capture(cudaStream_t stream, const std::function<void()>& enqueue,
                                                std::vector<const void*> addresses);
  // Enqueues the whole graph on `stream`. CUDA_ERROR on failure.
  void launch(cudaStream_t stream) const;
  // The buffers the captured work used: a graph replays those exact addresses, so any change needs a new one.
  const std::vector<const void*>& addresses() const { return addresses_; }

 private:
  CapturedGraph(cudaGraphExec_t exec, std::vector<const void*> addresses) : exec_(exec), addresses_(std::move(addresses)) {}
  cudaGraphExec_t exec_;
  std::vector<const void*> addresses_;
};

}  // namespace inferrt
