// ExecutionContext (TensorRT's IExecutionContext): the per-caller state of an engine — the active optimization
// profile and the input shapes set so far. Used from one thread (the addon's main thread); the heavy part of
// infer, Engine::execute, runs elsewhere on the inputs that prepareInputs returns.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/context_runner.h"
#include "runtime/engine.h"

namespace inferrt {

// An input as the caller gives it: bytes in the caller's memory, copied by prepareInputs.
struct HostInput {
  DType dtype = DType::Float32;
  Dims dims;
  const void* data = nullptr;
  size_t size = 0;
};

class ExecutionContext {
 public:
  explicit ExecutionContext(std::shared_ptr<const Engine> engine);

  const std::shared_ptr<const Engine>& engine() const { return engine_; }
  void setOptimizationProfile(int index);  // keeps the input shapes that fit the new profile
  int optimizationProfile() const { return profile_; }

  // ShapeMismatch naming the input, the dims and the profile's range when they do not fit.
  void setInputShape(const std::string& name, const Dims& dims);
  // Dims of an input or output; outputs follow from the input shapes set so far (kDynamic where unknown).
  Dims tensorShape(const std::string& name);

  // Checks every input (names, dtypes, shapes against the active profile, data sizes), records their shapes,
  // and returns copies in network input order, ready for Engine::execute.
  std::vector<TensorPtr> prepareInputs(const std::map<std::string, HostInput>& inputs);
  // What runs this context's infers (a worker thread holds it while one is in flight). CPU engines share the
  // engine's executor; CUDA engines get a runner with their own stream and arena, made on first use.
  std::shared_ptr<ContextRunner> runner();
  // Device memory of this context (activation arena for the profile's largest shapes, scratch); 0 on the CPU.
  uint64_t deviceMemorySize();
  void setCudaGraphs(bool enabled);
  void setProfiling(bool enabled);
  // Binds an input or output to device memory for enqueue (TensorRT's setTensorAddress); an empty binding
  // (null address) unbinds it.
  void setTensorAddress(const std::string& name, TensorBinding binding);
  // Checks that every input has a shape and a large enough buffer and every output a buffer large enough for
  // the shapes these inputs give (SHAPE_MISMATCH / INVALID_ARGUMENT naming the tensor); the request to enqueue.
  EnqueueRequest prepareEnqueue();
  // Engine::execute's outputs by name.
  std::map<std::string, TensorPtr> nameOutputs(const std::vector<TensorPtr>& outputs) const;

 private:
  int inputPosition(const std::string& name, const char* what) const;
  void checkShape(int position, const Dims& dims, const char* what) const;

  std::shared_ptr<const Engine> engine_;
  int profile_ = 0;
  std::vector<Dims> inputShapes_;      // per network input: set dims, or the declared ones (kDynamic) if unset
  std::vector<TensorDesc> resolved_;   // shapes of all tensors for inputShapes_; empty when stale
  std::shared_ptr<ContextRunner> runner_;
  std::map<std::string, TensorBinding> bindings_;
  bool cudaGraphs_ = true;
  bool profiling_ = false;
};

}  // namespace inferrt
