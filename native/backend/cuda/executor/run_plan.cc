#include "backend/cuda/executor/run_plan.h"

#include <cuda_runtime_api.h>

#include <algorithm>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/scoped_device.h"
#include "ir/error.h"
#include "runtime/arena_planner.h"
#include "runtime/shape_resolution.h"

namespace inferrt {

namespace {

uint64_t alignedBytes(const Dims& dims, DType dtype) {
  const uint64_t bytes = static_cast<uint64_t>(volume(dims)) * dtypeSize(dtype);
  return (bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
}

bool allOutputsKnown(const Layer& layer, const std::vector<TensorDesc>& descs) {
  for (int t : layer.outputs)
    if (!descs[t].value) return false;
  return true;
}

}  // namespace

int RunPlan::addCopy(int source, DType storage, SlotKind kind, int root) {
  const int v = static_cast<int>(descs_.size());
  descs_.push_back(descs_[source]);
  storage_.push_back(storage);
  TensorSlot slot;
  slot.kind = kind;
  slot.root = root < 0 ? v : root;
  slots_.push_back(slot);
  copies_[{source, storage}] = v;
  return v;
}

// The tensor a GPU step reads for `t` when it wants bytes of dtype `need`: `t` itself, or a copy — the
// engine's fp16 weights, a converted upload of a host-known value, or a Convert step's output.
int RunPlan::readAs(int t, DType need, const CudaEngineResources& resources) {
  if (storage_[t] == need) return t;
  auto found = copies_.find({t, need});
  if (found != copies_.end()) return found->second;
  const TensorSlot slot = slots_[t];
  if (slot.kind == SlotKind::Weight && resources.weight(slot.root, need)) return addCopy(t, need, SlotKind::Weight, slot.root);
  if (slot.kind == SlotKind::Host) return addCopy(t, need, SlotKind::Host, -1);
  const int v = addCopy(t, need, SlotKind::Arena, -1);
  PlanStep convert;
  convert.mode = StepMode::Convert;
  convert.from = t;
  convert.to = v;
  steps_.push_back(convert);
  return v;
}

RunPlan::RunPlan(const Network& network, const CudaEngineResources& resources, const std::vector<Dims>& inputDims,
                 const std::vector<TensorPtr>& inputValues)
    : descs_(resolveShapes(network, inputDims, inputValues)), kernelCaches_(network.layers().size()) {
  const auto& layers = network.layers();
  const auto& tensors = network.tensors();
  slots_.resize(tensors.size());
  for (size_t t = 0; t < tensors.size(); ++t) {
    storage_.push_back(descs_[t].dtype);
    slots_[t].root = static_cast<int>(t);
    const bool constant = tensors[t].producer < 0 && !tensors[t].isInput && tensors[t].value;
    slots_[t].kind = constant ? SlotKind::Weight : descs_[t].value ? SlotKind::Host : SlotKind::Arena;
  }

  for (size_t l = 0; l < layers.size(); ++l) {
    const Layer& layer = layers[l];
    PlanStep step;
    step.layer = static_cast<int>(l);
    if (!allOutputsKnown(layer, descs_)) {
      if (!resources.placements()[l].onGpu) step.mode = StepMode::Cpu;
      else step.mode = isViewKind(layer.kind) ? StepMode::View : StepMode::Gpu;
      for (int t : layer.outputs)
        if (!isStatic(descs_[t].dims))
          fail(ErrorCode::UnsupportedOp, "layer '", layer.name, "' (", layer.kind, "): its output shape ",
               dimsToString(descs_[t].dims), " depends on values computed on the device");
    }
    if (step.mode == StepMode::Gpu || step.mode == StepMode::View) {
      step.reads.assign(layer.inputs.size(), -1);
      for (size_t i = 0; i < layer.inputs.size(); ++i) {
        if (!readsOnDevice(layer, resources.kernel(l), i)) continue;
        const int t = layer.inputs[i];
        const CudaKernelDef* kernel = resources.kernel(l);
        const bool asStored = kernel && (kernel->storedFloatInputMask & (1u << i)) && isFloat(storage_[t]);
        step.reads[i] = readAs(t, asStored ? storage_[t] : storageFor(layer, descs_[t].dtype), resources);
      }
    }
    if (step.mode == StepMode::View) {
      const int out = layer.outputs[0], in = step.reads[0];
      slots_[out] = slots_[in];  // same storage: kind, root and (for non-arena kinds) offset
      storage_[out] = storage_[in];
    } else if (step.mode == StepMode::Gpu) {
      for (int t : layer.outputs) storage_[t] = outputStorageFor(layer, descs_[t].dtype);
    }
    steps_.push_back(std::move(step));
  }

  for (int t : network.outputs())
    outputReads_.push_back(descs_[t].value ? t : readAs(t, descs_[t].dtype, resources));

  // Host-known values read on the device get a place in this plan's constants block.
  std::vector<bool> readOnDevice(descs_.size(), false);
  for (const PlanStep& step : steps_)
    for (int t : step.reads)
      if (t >= 0) readOnDevice[t] = true;
  for (size_t t = 0; t < descs_.size(); ++t) {
    TensorSlot& s = slots_[t];
    if (s.root != static_cast<int>(t) || s.kind != SlotKind::Host || !readOnDevice[t]) continue;
    s.kind = SlotKind::PlanConstant;
    s.offset = constantBytes_;
    constantBytes_ += alignedBytes(descs_[t].dims, storage_[t]);
  }
  for (size_t t = 0; t < descs_.size(); ++t)  // views of such values share their offset
    if (slots_[t].root != static_cast<int>(t) && slots_[slots_[t].root].kind == SlotKind::PlanConstant)
      slots_[t] = slots_[slots_[t].root];
  layoutArena(network);
}

// One request per arena root, alive from the step that writes it to its last reader (views extend it).
void RunPlan::layoutArena(const Network& network) {
  const auto& layers = network.layers();
  const int end = static_cast<int>(steps_.size()) + 1;
  std::vector<int> first(descs_.size(), -1), last(descs_.size(), -1);
  for (int t : network.inputs()) first[t] = 0;
  auto write = [&](int t, int at) {
    const int r = slots_[t].root;
    if (first[r] < 0) first[r] = at;
    last[r] = std::max(last[r], at);
  };
  auto read = [&](int t, int at) {
    if (t >= 0) last[slots_[t].root] = std::max(last[slots_[t].root], at);
  };
  for (size_t s = 0; s < steps_.size(); ++s) {
    const PlanStep& step = steps_[s];
    const int at = static_cast<int>(s) + 1;
    if (step.mode == StepMode::Convert) {
      read(step.from, at);
      write(step.to, at);
      continue;
    }
    if (step.mode == StepMode::Skip) continue;
    const Layer& layer = layers[step.layer];
    for (int t : layer.outputs) write(t, at);
    for (int t : layer.inputs) read(t, at);
    for (int t : step.reads) read(t, at);
  }
  for (int t : outputReads_) last[slots_[t].root] = end;
  std::vector<ArenaRequest> requests;
  std::vector<int> owners;
  for (size_t t = 0; t < descs_.size(); ++t) {
    if (slots_[t].kind != SlotKind::Arena || slots_[t].root != static_cast<int>(t) || first[t] < 0) continue;
    requests.push_back({alignedBytes(descs_[t].dims, storage_[t]), first[t], std::max(last[t], first[t])});
    owners.push_back(static_cast<int>(t));
  }
  const ArenaLayout layout = planArena(requests);
  arenaBytes_ = layout.totalBytes;
  for (size_t r = 0; r < owners.size(); ++r) slots_[owners[r]].offset = layout.offsets[r];
  for (size_t t = 0; t < descs_.size(); ++t)
    if (slots_[t].kind == SlotKind::Arena) slots_[t].offset = slots_[slots_[t].root].offset;
}

void* RunPlan::address(int t, void* arena, const CudaEngineResources& resources) const {
  const TensorSlot& s = slots_[t];
  switch (s.kind) {
    case SlotKind::Weight: return resources.weight(s.root, storage_[t]);
    case SlotKind::Arena: return arena ? static_cast<uint8_t*>(arena) + s.offset : nullptr;
    case SlotKind::PlanConstant: return constants_ ? static_cast<uint8_t*>(constants_->data()) + s.offset : nullptr;
    default: return nullptr;
  }
}

void RunPlan::uploadConstants(int device) {
  if (constantBytes_ == 0 || constants_) return;
  constants_ = std::make_unique<DeviceMemory>(constantBytes_, device);
  ScopedDevice on(device);
  for (size_t t = 0; t < slots_.size(); ++t) {
    const TensorSlot& s = slots_[t];
    if (s.kind != SlotKind::PlanConstant || s.root != static_cast<int>(t) || !descs_[t].value) continue;
    const Tensor& v = *descs_[t].value;
    if (v.numel() == 0) continue;
    const Tensor stored = storage_[t] == v.dtype() ? v : fromFloat32(toFloat32(v), storage_[t]);
    INFERRT_CUDA_CHECK(cudaMemcpy(static_cast<uint8_t*>(constants_->data()) + s.offset, stored.raw(), stored.byteSize(),
                                  cudaMemcpyHostToDevice));
  }
}

}  // namespace inferrt
