// Engine: a loaded plan (TensorRT's ICudaEngine): the built network with its weights, profiles and I/O
// metadata. Immutable once loaded, so contexts on any thread share it through shared_ptr.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/cpu/executor.h"
#include "plan/plan.h"
#include "runtime/cuda_hooks.h"

namespace inferrt {

struct EngineInfo {
  uint32_t formatVersion = 0;
  std::string libraryVersion;
  std::string backend;
  std::string gpuArch;
  std::vector<std::string> precision;  // "fp32", plus "tf32" / "fp16" / "int8" as the build config allowed
  uint64_t planBytes = 0;
  uint64_t weightBytes = 0;
  uint64_t deviceMemorySize = 0;  // weights uploaded to the GPU (CUDA engines), shared by all contexts
  int device = -1;                // the CUDA device the engine runs on; -1 for CPU engines
  size_t cudnnChoices = 0;        // cuDNN plans the build chose (plan/cudnn_choices.h)
  std::string cudnnChoicesNote;   // why this engine does not replay them; "" when it does (or there are none)
};

struct IOTensorInfo {
  std::string name;
  DType dtype = DType::Float32;
  Dims dims;  // kDynamic where the dim is chosen at run time
  bool isInput = false;
  std::vector<ShapeRange> profiles;  // inputs: the range per profile; outputs: empty
};

struct EngineLayerInfo {
  std::string name, kind, precision;
  std::vector<std::string> inputs;  // "" for an absent optional input
  std::vector<std::string> outputs;
  std::string runsOn;          // "cuda" or "cpu"
  std::string fallbackReason;  // why a layer of a CUDA engine runs on the CPU kernel
  std::string tactic;          // the plan's tactic for the layer (its description), "" when none
  bool channelsLast = false;   // a Convolution / QuantizedConvolution / Pooling with channels_last = 1 (NHWC)
  const LayerSparsity* sparsity = nullptr;  // the plan's sparsity record for the layer (the engine owns it), or null
  // Plugin layers: the registered plugin they run and their attributes (the engine owns them); empty / null otherwise.
  std::string pluginName{}, pluginVersion{};
  const Attributes* pluginAttributes = nullptr;
};

class Engine {
 public:
  // Parses, validates and checks the plan against this machine (backend, GPU architecture); BadPlan on any fault.
  static std::shared_ptr<const Engine> load(const uint8_t* data, size_t size);
  // An engine of a plan the builder holds, not yet written (its info's planBytes is 0); checked as load checks.
  static std::shared_ptr<const Engine> fromModel(PlanModel plan);

  const Network& network() const { return plan_.network; }
  const std::vector<OptimizationProfile>& profiles() const { return plan_.config.profiles; }
  const EngineInfo& info() const { return info_; }
  // What a sparseWeights build recorded per MatMul / Convolution layer (layers ascending; empty otherwise).
  const std::vector<LayerSparsity>& sparsity() const { return plan_.sparsity; }
  std::vector<IOTensorInfo> ioTensors() const;
  std::vector<EngineLayerInfo> layers() const;

  // Runs the network on `inputs` (network input order, already validated by an ExecutionContext) and returns
  // the outputs in network output order. Thread-safe.
  std::vector<TensorPtr> execute(const std::vector<TensorPtr>& inputs) const;
  // CUDA engines: the weights on the device and where each layer runs (null for CPU engines).
  const CudaEngineResources* cudaResources() const { return cuda_.get(); }

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

 private:
  Engine(PlanModel plan, size_t planBytes, int device);
  PlanModel plan_;
  EngineInfo info_;
  std::unique_ptr<CpuExecutor> executor_;  // refers to plan_.network
  std::shared_ptr<CudaEngineResources> cuda_;
};

}  // namespace inferrt
