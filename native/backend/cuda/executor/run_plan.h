// How one input-shape signature executes on the GPU: every tensor's resolved shape, the dtype it is stored in
// on the device (fp16 layers store float32 tensors as fp16), where its bytes live (engine weights, the
// context's arena, this plan's uploaded host-known values, or only on the host), which layers run on the GPU,
// on the CPU fallback, or not at all (outputs known on the host), the fp32<->fp16 conversions between layers of
// different precision, and the arena layout by tensor liveness. Made once per signature, cached by the runner.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "backend/cuda/device_memory.h"
#include "backend/cuda/executor/cuda_engine_resources.h"

namespace inferrt {

enum class SlotKind { Host, Weight, Arena, PlanConstant };

struct TensorSlot {
  SlotKind kind = SlotKind::Host;
  uint64_t offset = 0;  // Arena / PlanConstant: byte offset in that block
  int root = -1;        // the tensor whose storage this one shares (itself unless a view aliases it)
};

enum class StepMode { Skip, View, Gpu, Cpu, Convert };

struct PlanStep {
  int layer = -1;  // -1 for Convert
  StepMode mode = StepMode::Skip;
  std::vector<int> reads;  // Gpu/View: per layer input, the tensor read on the device (a converted copy or the
                           // input itself); -1 where absent or read on the host
  int from = -1, to = -1;  // Convert: source tensor and its copy in the other float dtype
  // Gpu: what the kernel kept from an earlier run of this step (CudaLaunchEnv::kernelState). Mutable: the plan is
  // otherwise read-only while it runs, and only its own runner's thread touches it.
  mutable std::shared_ptr<const void> kernelState;
};

class RunPlan {
 public:
  // Resolves shapes for `inputDims` and the values of the inputs that feed shapes (`inputValues`: null for the
  // others) and lays out memory. No device calls. ShapeMismatch etc. from the shape rules; UnsupportedOp when a
  // shape still depends on values computed on the device (the runner then runs that signature on the CPU).
  RunPlan(const Network& network, const CudaEngineResources& resources, const std::vector<Dims>& inputDims,
          const std::vector<TensorPtr>& inputValues = {});

  // Network tensors first, then the converted copies. descs() holds IR dtypes and host values; storage() the
  // dtype of the bytes on the device.
  const std::vector<TensorDesc>& descs() const { return descs_; }
  DType storage(int t) const { return storage_[t]; }
  // The tensor whose bytes `t` shares (itself unless a view aliases it), and whether those are arena bytes.
  int root(int t) const { return slots_[t].root; }
  bool inArena(int t) const { return slots_[t].kind == SlotKind::Arena; }
  const std::vector<PlanStep>& steps() const { return steps_; }
  // Per network output: the tensor to copy back, holding the output in its own dtype (an fp16-stored float32
  // output gets a Convert step to an fp32 copy, so the host never converts).
  const std::vector<int>& outputReads() const { return outputReads_; }
  uint64_t arenaBytes() const { return arenaBytes_; }
  uint64_t constantBytes() const { return constantBytes_; }
  // Device address of tensor `t` for this plan, given the context's arena (null where it has no device bytes).
  void* address(int t, void* arena, const CudaEngineResources& resources) const;

  // Uploads the host-known values GPU layers read (once per plan, on the caller's thread, synchronously).
  void uploadConstants(int device);
  void* constants() const { return constants_ ? constants_->data() : nullptr; }

  // Layer `l`'s kernel cache slot (CudaKernelCache): what its kernel planned for this signature. The plan
  // belongs to one context, whose runs never overlap, so the slots need no lock.
  std::unique_ptr<CudaKernelCache>& kernelCache(size_t l) const { return kernelCaches_[l]; }

 private:
  int addCopy(int source, DType storage, SlotKind kind, int root);
  int readAs(int t, DType need, const CudaEngineResources& resources);
  void layoutArena(const Network& network);

  std::vector<TensorDesc> descs_;
  std::vector<DType> storage_;
  std::vector<TensorSlot> slots_;
  std::vector<PlanStep> steps_;
  std::vector<int> outputReads_;
  std::map<std::pair<int, DType>, int> copies_;
  uint64_t arenaBytes_ = 0;
  uint64_t constantBytes_ = 0;
  std::unique_ptr<DeviceMemory> constants_;
  mutable std::vector<std::unique_ptr<CudaKernelCache>> kernelCaches_;  // per layer
};

}  // namespace inferrt
