// Runs a CUDA engine for one ExecutionContext: its own stream, library handles, activation arena, scratch and
// pinned staging. infer = inputs copied into the arena, each layer's kernel enqueued (CPU-placed layers run
// between copies), outputs copied back, one blocking-sync event waited for on the calling worker thread.
// enqueue = the same device work on the caller's buffers, ordered with the caller's stream, not waited for.
// cuda_runner.cc: lifecycle, plans, memory, run/enqueue; run_steps.cc: one run's device work and its checks.
#pragma once
#include <atomic>
#include <list>
#include <map>
#include <memory>
#include <vector>

#include "backend/cuda/cuda_stream.h"
#include "backend/cuda/device_memory.h"
#include "backend/cuda/executor/captured_graph.h"
#include "backend/cuda/executor/library_handles.h"
#include "backend/cuda/executor/run_plan.h"
#include "backend/cuda/pinned_host_memory.h"
#include "runtime/context_runner.h"
#include "runtime/engine.h"

namespace inferrt {

class CudaRunner : public ContextRunner {
 public:
  CudaRunner(std::shared_ptr<const Engine> engine, int profile);
  ~CudaRunner() override;

  std::vector<TensorPtr> run(const std::vector<TensorPtr>& inputs) override;
  void enqueue(const EnqueueRequest& request, void* stream) override;
  uint64_t deviceMemorySize() const override;
  void setCudaGraphs(bool enabled) override { useGraphs_ = enabled; }
  void setProfiling(bool enabled) override { profiling_ = enabled; }
  LayerTimes layerTimes() const override { return layerTimes_; }

 private:
  // A shape signature's plan and how its runs go: eagerly first, then replayed from a graph when the eager run
  // needed no host round trip (no CPU-placed layer, no data-dependent host input).
  struct PlanEntry {
    std::unique_ptr<RunPlan> plan;  // null: shapes depend on device-computed values; this signature runs on the CPU
    std::unique_ptr<CapturedGraph> graph, enqueueGraph;  // infer() (with host copies) and enqueue() runs
    int eagerRuns = 0;
    bool graphable = true;
  };
  // Where one run's inputs and outputs sit in pinned staging.
  struct StagingLayout {
    std::vector<size_t> inputOffsets, outputOffsets;
    size_t flagBytes = 0;
  };

  // A run's signature: the input dims, plus the bytes of the inputs that feed shapes.
  using PlanKey = std::pair<std::vector<Dims>, std::vector<std::vector<uint8_t>>>;
  // `values`: per input, its host value where it feeds shapes (null otherwise).
  PlanEntry& planFor(const std::vector<Dims>& dims, const std::vector<TensorPtr>& values);
  // One run's device work. infer(): `inputs` come from pinned staging and outputs go back there; enqueue()
  // (`request` set): inputs are read in place from the caller's buffers, outputs copied into theirs.
  void enqueueRun(const RunPlan& plan, const StagingLayout& layout, const std::vector<TensorPtr>& inputs,
                  const EnqueueRequest* request);
  void runOnce(PlanEntry& entry, const StagingLayout& layout, const std::vector<TensorPtr>& inputs,
               const EnqueueRequest* request);
  void ensureStream();
  void* addressOf(const RunPlan& plan, int t) const;
  int firstFlaggedLayer(const int32_t* flags) const;  // -1: none; flags[layer] is its DeviceErrorCode
  void throwDeviceError(int layer, int32_t code) const;
  void throwPendingDeviceError();
  // Host node after an enqueued run: notes the first layer that flagged a device-side error.
  static void CUDART_CB noteEnqueuedErrors(void* runner);
  void ensureArena(uint64_t bytes);
  void* scratch(size_t bytes);
  void* pinned(std::unique_ptr<PinnedHostMemory>& block, size_t bytes);
  void runOnGpu(const RunPlan& plan, const PlanStep& step);
  void convert(const RunPlan& plan, const PlanStep& step);
  void runOnCpu(const RunPlan& plan, size_t layer);
  TensorPtr download(const RunPlan& plan, int tensor);  // synchronous: waits for the stream
  void synchronize();

  void collectProfile(const RunPlan& plan);

  std::shared_ptr<const Engine> engine_;
  const CudaEngineResources& resources_;
  int device_;
  uint64_t plannedArenaBytes_ = 0;  // for the profile's max shapes, as deviceMemorySize reports before a run
  std::unique_ptr<CudaStream> stream_;
  std::unique_ptr<LibraryHandles> handles_;
  cudaEvent_t done_ = nullptr;  // blocking-sync: the worker thread sleeps instead of spinning
  std::unique_ptr<DeviceMemory> arena_, scratch_, errorFlags_;
  std::vector<std::unique_ptr<DeviceMemory>> retiredScratch_;  // grown-out blocks, freed after the run
  std::unique_ptr<PinnedHostMemory> stagingIn_, stagingOut_, enqueueFlags_;
  cudaEvent_t callerReady_ = nullptr, runDone_ = nullptr;  // enqueue(): ordering with the caller's stream
  std::vector<void*> boundInputs_;                          // enqueue(): per network input, the caller's buffer
  std::vector<int> inputPosition_;                          // per network tensor: its input position, or -1
  // A layer an enqueued run flagged and its DeviceErrorCode (layer << 32 | code; -1: none), reported next call.
  std::atomic<int64_t> pendingDeviceError_{-1};
  bool useGraphs_ = true;
  bool profiling_ = false;
  std::vector<cudaEvent_t> stepEvents_;  // profiling: one before each step and one after the last
  LayerTimes layerTimes_;
  bool synced_ = false;  // the current run waited for the stream (a CPU layer, a data-dependent host input)
  std::map<PlanKey, PlanEntry> plans_;
  std::list<PlanKey> planOrder_;  // least recently used first
};

}  // namespace inferrt
