// The per-step half of CudaRunner: how one run's device work is enqueued (kernels, conversions, CPU-placed
// layers between copies, the copies in and out), replayed from a CUDA graph, and checked for device-side errors.
#include <cstring>
#include <string>

#include "backend/cpu/executor.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/executor/cuda_runner.h"
#include "backend/cuda/executor/float_conversion.h"
#include "ir/error.h"

namespace inferrt {

TensorPtr CudaRunner::download(const RunPlan& plan, int t) {
  const TensorDesc& d = plan.descs()[t];
  if (d.value) return d.value;
  Tensor host(plan.storage(t), d.dims);
  if (host.byteSize() > 0) {
    void* src = addressOf(plan, t);
    if (!src) fail(ErrorCode::Internal, "tensor '", engine_->network().tensor(t).name, "' has no device storage");
    INFERRT_CUDA_CHECK(cudaMemcpyAsync(host.raw(), src, host.byteSize(), cudaMemcpyDeviceToHost, stream_->handle()));
    synchronize();
  }
  // An fp16-stored float32 tensor goes back to float32 (its values are what an fp16 layer produced).
  if (host.dtype() != d.dtype) host = fromFloat32(toFloat32(host), d.dtype);
  return std::make_shared<const Tensor>(std::move(host));
}

void CudaRunner::runOnGpu(const RunPlan& plan, const PlanStep& step) {
  const size_t l = static_cast<size_t>(step.layer);
  const Layer& layer = engine_->network().layers()[l];
  const CudaKernelDef* kernel = resources_.kernel(l);
  CudaLaunchEnv env;
  env.stream = stream_->handle();
  env.device = device_;
  env.multiProcessors = resources_.multiProcessors();
  env.allowTf32 = resources_.allowTf32();
  env.scratch = [this](size_t bytes) { return scratch(bytes); };
  env.deviceError = static_cast<int32_t*>(errorFlags_->data()) + l;
  env.blasLt = handles_->blasLt();
  env.cudnn = handles_->cudnn();
  env.sparseLt = handles_->sparseLt();
  env.kernelState = &step.kernelState;
  std::vector<DeviceTensor> ins(layer.inputs.size());
  CudaKernelArgs args{layer, {}, {}, {}, env, &plan.kernelCache(l), resources_.tactic(l), resources_.sparse(l)};
  for (size_t i = 0; i < layer.inputs.size(); ++i) {
    const int t = layer.inputs[i];
    args.inputs.push_back(t < 0 ? nullptr : &ins[i]);
    args.hostInputs.push_back(t < 0 ? nullptr : plan.descs()[t].value);
    if (t < 0) continue;
    const int read = step.reads[i] >= 0 ? step.reads[i] : t;  // the device copy in the dtype this layer wants
    ins[i] = {plan.storage(read), plan.descs()[t].dims, addressOf(plan, read)};
    // A host input whose value depends on data computed on the device: wait for it (rare; not graph-able).
    if ((kernel->hostInputMask & (1u << i)) && !args.hostInputs[i]) args.hostInputs[i] = download(plan, t);
  }
  for (int t : layer.outputs) args.outputs.push_back({plan.storage(t), plan.descs()[t].dims, addressOf(plan, t)});
  for (DeviceTensor& o : args.outputs)
    if (o.numel() == 0) o.data = nullptr;
  try {
    kernel->run(args);
  } catch (const Error& e) {
    fail(e.code(), "layer '", layer.name, "' (", layer.kind, ", CUDA): ", e.what());
  }
}

void CudaRunner::runOnCpu(const RunPlan& plan, size_t l) {
  const Layer& layer = engine_->network().layers()[l];
  std::vector<TensorPtr> inputs(layer.inputs.size());
  for (size_t i = 0; i < layer.inputs.size(); ++i)
    if (layer.inputs[i] >= 0) inputs[i] = download(plan, layer.inputs[i]);
  std::vector<TensorDesc> outDescs;
  for (int t : layer.outputs) outDescs.push_back(plan.descs()[t]);
  const std::vector<TensorPtr> outputs = inferrt::runCpuLayer(layer, inputs, outDescs);
  for (size_t o = 0; o < outputs.size(); ++o) {
    const int t = layer.outputs[o];
    void* dst = addressOf(plan, t);
    if (outputs[o]->byteSize() == 0 || !dst) continue;
    INFERRT_CUDA_CHECK(cudaMemcpyAsync(dst, outputs[o]->raw(), outputs[o]->byteSize(), cudaMemcpyHostToDevice, stream_->handle()));
  }
  synchronize();  // the host tensors go out of scope here
}

void CudaRunner::convert(const RunPlan& plan, const PlanStep& step) {
  const void* src = addressOf(plan, step.from);
  void* dst = addressOf(plan, step.to);
  const int64_t n = volume(plan.descs()[step.to].dims);
  if (n == 0) return;
  if (plan.storage(step.to) == DType::Float16)
    launchFloatToHalf(static_cast<const float*>(src), static_cast<uint16_t*>(dst), n, stream_->handle());
  else
    launchHalfToFloat(static_cast<const uint16_t*>(src), static_cast<float*>(dst), n, stream_->handle());
  INFERRT_CUDA_CHECK(cudaGetLastError());
}

void CudaRunner::collectProfile(const RunPlan& plan) {
  const auto& layers = engine_->network().layers();
  for (size_t i = 0; i < plan.steps().size(); ++i) {
    const PlanStep& step = plan.steps()[i];
    if (step.mode == StepMode::Skip || step.mode == StepMode::View) continue;
    float ms = 0;
    INFERRT_CUDA_CHECK(cudaEventElapsedTime(&ms, stepEvents_[i], stepEvents_[i + 1]));
    const std::string kind = step.mode == StepMode::Convert ? "fp32<->fp16 conversion"
                             : step.mode == StepMode::Cpu   ? layers[step.layer].kind + " (CPU fallback)"
                                                            : layers[step.layer].kind;
    layerTimes_.msByKind[kind] += ms;
    layerTimes_.msByLayer[step.mode == StepMode::Convert ? kind : layers[step.layer].name] += ms;
  }
  ++layerTimes_.runs;
}

int CudaRunner::firstFlaggedLayer(const int32_t* flags) const {
  const size_t count = engine_->network().layers().size();
  for (size_t l = 0; l < count; ++l)
    if (flags[l] != static_cast<int32_t>(DeviceErrorCode::None)) return static_cast<int>(l);
  return -1;
}

namespace {

// What the DeviceErrorCode `code` that `layer` flagged means, for the messages below.
std::string deviceErrorMeaning(const Layer& layer, int32_t code) {
  switch (static_cast<DeviceErrorCode>(code)) {
    case DeviceErrorCode::IndexOutOfRange:
      // Plugins flag it for ids that select table rows (PackedEmbLayerNorm), which have no negative form.
      if (layer.kind == "Plugin") return "an id is out of range (ids must be in [0, n-1] for a table of n rows)";
      return "an index is out of range (indices must be in [-n, n-1] for an axis of size n)";
    case DeviceErrorCode::InvalidSequenceOffsets: {
      std::string limit, shortest;
      try {
        if (layer.attrs.has("max_seq_len")) limit = " " + std::to_string(layer.attrs.getInt("max_seq_len"));
        if (layer.attrs.getInt("min_seq_len", 0) > 0)
          shortest = " or shorter than min_seq_len " + std::to_string(layer.attrs.getInt("min_seq_len"));
      } catch (const Error&) {
        // a malformed attribute: the message goes without the number
      }
      return "cu_seqlens is invalid (must start at 0, never decrease, end at the token count, and no sequence may "
             "be longer than max_seq_len" + limit + shortest + ")";
    }
    default: return "a device-side check failed (error code " + std::to_string(code) + ")";
  }
}

// pendingDeviceError_ holds a flagged layer and its code in one atomic word: layer << 32 | code (-1: none).
int64_t packDeviceError(int layer, int32_t code) {
  return (static_cast<int64_t>(layer) << 32) | static_cast<int64_t>(static_cast<uint32_t>(code));
}

}  // namespace

void CudaRunner::throwDeviceError(int l, int32_t code) const {
  const Layer& layer = engine_->network().layers()[l];
  fail(ErrorCode::InvalidArgument, "layer '", layer.name, "' (", layer.kind, ", CUDA): ",
       deviceErrorMeaning(layer, code));
}

// enqueue() cannot fail after it has returned: what its kernels flagged is reported by the next call.
void CudaRunner::throwPendingDeviceError() {
  const int64_t pending = pendingDeviceError_.exchange(-1);
  if (pending < 0) return;
  const int l = static_cast<int>(pending >> 32);
  const int32_t code = static_cast<int32_t>(static_cast<uint32_t>(pending & 0xffffffff));
  const Layer& layer = engine_->network().layers()[l];
  fail(ErrorCode::InvalidArgument, "an earlier enqueue() on this context: layer '", layer.name, "' (", layer.kind,
       ", CUDA): ", deviceErrorMeaning(layer, code), "; its outputs were wrong");
}

void CUDART_CB CudaRunner::noteEnqueuedErrors(void* runner) {
  auto* self = static_cast<CudaRunner*>(runner);
  const int32_t* flags = static_cast<const int32_t*>(self->enqueueFlags_->data());
  const int l = self->firstFlaggedLayer(flags);
  if (l >= 0) self->pendingDeviceError_.store(packDeviceError(l, flags[l]));
}

void* CudaRunner::addressOf(const RunPlan& plan, int t) const {
  // enqueue(): network inputs (and views of them) are read in place from the caller's buffers.
  if (!boundInputs_.empty() && plan.inArena(t)) {
    const int root = plan.root(t);
    if (root < static_cast<int>(inputPosition_.size()) && inputPosition_[root] >= 0) return boundInputs_[inputPosition_[root]];
  }
  return plan.address(t, arena_ ? arena_->data() : nullptr, resources_);
}

void CudaRunner::enqueueRun(const RunPlan& plan, const StagingLayout& layout, const std::vector<TensorPtr>& inputs,
                            const EnqueueRequest* request) {
  const Network& net = engine_->network();
  const cudaStream_t s = stream_->handle();
  const size_t layerCount = net.layers().size();
  INFERRT_CUDA_CHECK(cudaMemsetAsync(errorFlags_->data(), 0, layerCount * sizeof(int32_t), s));
  const uint8_t* in = static_cast<const uint8_t*>(stagingIn_ ? stagingIn_->data() : nullptr);
  for (size_t i = 0; i < inputs.size() && !request; ++i) {
    void* dst = addressOf(plan, net.inputs()[i]);
    if (inputs[i]->byteSize() > 0 && dst)
      INFERRT_CUDA_CHECK(cudaMemcpyAsync(dst, in + layout.inputOffsets[i], inputs[i]->byteSize(), cudaMemcpyHostToDevice, s));
  }
  if (profiling_ && stepEvents_.size() < plan.steps().size() + 1) {
    for (size_t i = stepEvents_.size(); i < plan.steps().size() + 1; ++i) {
      cudaEvent_t e = nullptr;
      INFERRT_CUDA_CHECK(cudaEventCreate(&e));
      stepEvents_.push_back(e);
    }
  }
  for (size_t i = 0; i < plan.steps().size(); ++i) {
    const PlanStep& step = plan.steps()[i];
    if (profiling_) INFERRT_CUDA_CHECK(cudaEventRecord(stepEvents_[i], s));
    if (step.mode == StepMode::Gpu) runOnGpu(plan, step);
    else if (step.mode == StepMode::Cpu) runOnCpu(plan, step.layer);
    else if (step.mode == StepMode::Convert) convert(plan, step);
  }
  if (profiling_) INFERRT_CUDA_CHECK(cudaEventRecord(stepEvents_[plan.steps().size()], s));
  // infer(): outputs and the error flags come back through pinned memory, in the same wait. enqueue(): outputs
  // go to the caller's buffers; the flags are looked at by a host callback.
  uint8_t* flags = static_cast<uint8_t*>(request ? enqueueFlags_->data() : stagingOut_->data());
  INFERRT_CUDA_CHECK(cudaMemcpyAsync(flags, errorFlags_->data(), layerCount * sizeof(int32_t), cudaMemcpyDeviceToHost, s));
  for (size_t o = 0; o < net.outputs().size(); ++o) {
    const int t = plan.outputReads()[o];
    const TensorDesc& d = plan.descs()[t];
    const size_t bytes = static_cast<size_t>(volume(d.dims)) * dtypeSize(plan.storage(t));
    if (bytes == 0) continue;
    if (request) {
      // A host-known output (a shape, say) is uploaded from its value; anything else copied from the arena.
      const void* src = d.value ? d.value->raw() : addressOf(plan, t);
      INFERRT_CUDA_CHECK(cudaMemcpyAsync(request->outputs[o].address, src, bytes, cudaMemcpyDefault, s));
      continue;
    }
    void* src = addressOf(plan, t);
    if (!d.value && src) INFERRT_CUDA_CHECK(cudaMemcpyAsync(flags + layout.outputOffsets[o], src, bytes, cudaMemcpyDeviceToHost, s));
  }
  if (request) {
    // No owned closure here: a captured graph replays this host node on every launch with the same pointer.
    INFERRT_CUDA_CHECK(cudaLaunchHostFunc(s, &CudaRunner::noteEnqueuedErrors, this));
  }
}

void CudaRunner::runOnce(PlanEntry& entry, const StagingLayout& layout, const std::vector<TensorPtr>& inputs,
                         const EnqueueRequest* request) {
  const RunPlan& plan = *entry.plan;
  if (useGraphs_ && !profiling_ && entry.graphable && entry.eagerRuns > 0) {
    // A graph replays fixed addresses: a grown arena, scratch or staging block, or other caller buffers, need a
    // new capture.
    std::vector<const void*> addresses{arena_ ? arena_->data() : nullptr, scratch_ ? scratch_->data() : nullptr,
                                       stagingIn_ ? stagingIn_->data() : nullptr,
                                       stagingOut_ ? stagingOut_->data() : nullptr,
                                       enqueueFlags_ ? enqueueFlags_->data() : nullptr, plan.constants()};
    if (request) {
      for (const TensorBinding& b : request->inputs) addresses.push_back(b.address);
      for (const TensorBinding& b : request->outputs) addresses.push_back(b.address);
    }
    std::unique_ptr<CapturedGraph>& graph = request ? entry.enqueueGraph : entry.graph;
    if (!graph || graph->addresses() != addresses)
      graph = CapturedGraph::capture(stream_->handle(), [&] { enqueueRun(plan, layout, inputs, request); }, addresses);
    if (graph) {
      graph->launch(stream_->handle());
      return;
    }
    entry.graphable = false;  // not capturable: stay eager for this signature
  }
  synced_ = false;
  enqueueRun(plan, layout, inputs, request);
  ++entry.eagerRuns;
  if (synced_) entry.graphable = false;
}

}  // namespace inferrt
