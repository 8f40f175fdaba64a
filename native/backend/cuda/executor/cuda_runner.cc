#include "backend/cuda/executor/cuda_runner.h"

#include <cstring>

#include "backend/cpu/executor.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/executor/float_conversion.h"
#include "backend/cuda/scoped_device.h"
#include "ir/error.h"

namespace inferrt {

namespace {

constexpr size_t kMaxCachedPlans = 64;  // one per input-shape signature; the least recently used goes first

size_t alignUp(size_t n) { return (n + 255) / 256 * 256; }

std::vector<Dims> profileMaxDims(const Engine& engine, int profile) {
  std::vector<Dims> dims;
  const Network& net = engine.network();
  for (int t : net.inputs()) dims.push_back(engine.profiles().at(profile).at(net.tensor(t).name).max);
  return dims;
}

}  // namespace

CudaRunner::CudaRunner(std::shared_ptr<const Engine> engine, int profile)
    : engine_(std::move(engine)), resources_(*engine_->cudaResources()), device_(resources_.device()) {
  // What the largest shapes of the profile need, so contexts report their memory before the first run.
  try {
    plannedArenaBytes_ = RunPlan(engine_->network(), resources_, profileMaxDims(*engine_, profile)).arenaBytes();
  } catch (const Error&) {
    plannedArenaBytes_ = 0;  // shapes that only resolve with real values: sized at the first run instead
  }
}

CudaRunner::~CudaRunner() {
  if (stream_) stream_->blockUntilIdle();  // nothing may still use the arena when it is released
  if (done_) ignoreCudaError(cudaEventDestroy(done_));
  for (cudaEvent_t e : stepEvents_) ignoreCudaError(cudaEventDestroy(e));
}

uint64_t CudaRunner::deviceMemorySize() const {
  uint64_t bytes = arena_ ? arena_->size() : plannedArenaBytes_;
  if (scratch_) bytes += scratch_->size();
  for (const auto& [key, entry] : plans_)
    if (entry.plan) bytes += entry.plan->constantBytes();
  return bytes;
}

CudaRunner::PlanEntry& CudaRunner::planFor(const std::vector<TensorPtr>& inputs) {
  PlanKey key;
  std::vector<TensorPtr> values(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    key.first.push_back(inputs[i]->dims());
    if (!resources_.hostValueInputs()[i]) continue;
    values[i] = inputs[i];
    const uint8_t* bytes = static_cast<const uint8_t*>(inputs[i]->raw());
    key.second.emplace_back(bytes, bytes + inputs[i]->byteSize());
  }
  auto it = plans_.find(key);
  if (it != plans_.end()) {
    planOrder_.remove(key);
    planOrder_.push_back(key);
    return it->second;
  }
  if (plans_.size() >= kMaxCachedPlans) {
    plans_.erase(planOrder_.front());  // the stream is idle between runs: its constants are unused
    planOrder_.pop_front();
  }
  std::unique_ptr<RunPlan> plan;
  try {
    plan = std::make_unique<RunPlan>(engine_->network(), resources_, key.first, values);
    plan->uploadConstants(device_);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::UnsupportedOp) throw;
    plan.reset();  // shapes that need device data to resolve: the CPU executor runs this signature
  }
  planOrder_.push_back(key);
  PlanEntry& entry = plans_[key];
  entry.plan = std::move(plan);
  return entry;
}

void CudaRunner::ensureArena(uint64_t bytes) {
  if (arena_ && arena_->size() >= bytes) return;
  arena_.reset();  // between runs: nothing in flight uses it
  arena_ = std::make_unique<DeviceMemory>(std::max<uint64_t>(bytes, plannedArenaBytes_), device_);
}

void* CudaRunner::scratch(size_t bytes) {
  if (!scratch_ || scratch_->size() < bytes) {
    // Earlier layers of this run may still read the old block: keep it until the run has finished.
    if (scratch_) retiredScratch_.push_back(std::move(scratch_));
    scratch_ = std::make_unique<DeviceMemory>(alignUp(bytes), device_);
  }
  return scratch_->data();
}

void* CudaRunner::pinned(std::unique_ptr<PinnedHostMemory>& block, size_t bytes) {
  if (!block || block->size() < bytes) {
    block.reset();
    block = std::make_unique<PinnedHostMemory>(alignUp(bytes));
  }
  return block->data();
}

void CudaRunner::synchronize() {
  synced_ = true;
  INFERRT_CUDA_CHECK(cudaEventRecord(done_, stream_->handle()));
  INFERRT_CUDA_CHECK(cudaEventSynchronize(done_));
}

TensorPtr CudaRunner::download(const RunPlan& plan, int t) {
  const TensorDesc& d = plan.descs()[t];
  if (d.value) return d.value;
  Tensor host(plan.storage(t), d.dims);
  if (host.byteSize() > 0) {
    void* src = plan.address(t, arena_ ? arena_->data() : nullptr, resources_);
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
  void* arena = arena_ ? arena_->data() : nullptr;
  std::vector<DeviceTensor> ins(layer.inputs.size());
  CudaKernelArgs args{layer, {}, {}, {}, env};
  for (size_t i = 0; i < layer.inputs.size(); ++i) {
    const int t = layer.inputs[i];
    args.inputs.push_back(t < 0 ? nullptr : &ins[i]);
    args.hostInputs.push_back(t < 0 ? nullptr : plan.descs()[t].value);
    if (t < 0) continue;
    const int read = step.reads[i] >= 0 ? step.reads[i] : t;  // the device copy in the dtype this layer wants
    ins[i] = {plan.storage(read), plan.descs()[t].dims, plan.address(read, arena, resources_)};
    // A host input whose value depends on data computed on the device: wait for it (rare; not graph-able).
    if ((kernel->hostInputMask & (1u << i)) && !args.hostInputs[i]) args.hostInputs[i] = download(plan, t);
  }
  for (int t : layer.outputs) args.outputs.push_back({plan.storage(t), plan.descs()[t].dims, plan.address(t, arena, resources_)});
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
    void* dst = plan.address(t, arena_ ? arena_->data() : nullptr, resources_);
    if (outputs[o]->byteSize() == 0 || !dst) continue;
    INFERRT_CUDA_CHECK(cudaMemcpyAsync(dst, outputs[o]->raw(), outputs[o]->byteSize(), cudaMemcpyHostToDevice, stream_->handle()));
  }
  synchronize();  // the host tensors go out of scope here
}

void CudaRunner::convert(const RunPlan& plan, const PlanStep& step) {
  void* arena = arena_ ? arena_->data() : nullptr;
  const void* src = plan.address(step.from, arena, resources_);
  void* dst = plan.address(step.to, arena, resources_);
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
    layerTimes_[kind] += ms;
  }
  ++profiledRuns_;
}

void CudaRunner::checkDeviceErrors(const int32_t* flags) const {
  const auto& layers = engine_->network().layers();
  for (size_t l = 0; l < layers.size(); ++l) {
    if (flags[l] == static_cast<int32_t>(DeviceErrorCode::None)) continue;
    const char* what = flags[l] == static_cast<int32_t>(DeviceErrorCode::IndexOutOfRange) ? "an index is out of range"
                                                                                            : "the kernel reported bad input data";
    fail(ErrorCode::InvalidArgument, "layer '", layers[l].name, "' (", layers[l].kind, ", CUDA): ", what,
         " (indices must be in [-n, n-1] for an axis of size n)");
  }
}

void CudaRunner::enqueueRun(const RunPlan& plan, const StagingLayout& layout, const std::vector<TensorPtr>& inputs) {
  const Network& net = engine_->network();
  const cudaStream_t s = stream_->handle();
  void* arena = arena_ ? arena_->data() : nullptr;
  const size_t layerCount = net.layers().size();
  INFERRT_CUDA_CHECK(cudaMemsetAsync(errorFlags_->data(), 0, layerCount * sizeof(int32_t), s));
  const uint8_t* in = static_cast<const uint8_t*>(stagingIn_ ? stagingIn_->data() : nullptr);
  for (size_t i = 0; i < inputs.size(); ++i) {
    void* dst = plan.address(net.inputs()[i], arena, resources_);
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
  // Outputs and the error flags come back through pinned memory, in the same wait.
  uint8_t* out = static_cast<uint8_t*>(stagingOut_->data());
  INFERRT_CUDA_CHECK(cudaMemcpyAsync(out, errorFlags_->data(), layerCount * sizeof(int32_t), cudaMemcpyDeviceToHost, s));
  for (size_t o = 0; o < net.outputs().size(); ++o) {
    const int t = net.outputs()[o];
    const TensorDesc& d = plan.descs()[t];
    const size_t bytes = static_cast<size_t>(volume(d.dims)) * dtypeSize(plan.storage(t));
    void* src = plan.address(t, arena, resources_);
    if (!d.value && bytes > 0 && src)
      INFERRT_CUDA_CHECK(cudaMemcpyAsync(out + layout.outputOffsets[o], src, bytes, cudaMemcpyDeviceToHost, s));
  }
}

void CudaRunner::runOnce(PlanEntry& entry, const StagingLayout& layout, const std::vector<TensorPtr>& inputs) {
  const RunPlan& plan = *entry.plan;
  if (useGraphs_ && !profiling_ && entry.graphable && entry.eagerRuns > 0) {
    // A graph replays fixed addresses: a grown arena, scratch or staging block needs a new capture.
    std::vector<const void*> addresses{arena_ ? arena_->data() : nullptr, scratch_ ? scratch_->data() : nullptr,
                                       stagingIn_ ? stagingIn_->data() : nullptr, stagingOut_->data(), plan.constants()};
    if (!entry.graph || entry.graph->addresses() != addresses)
      entry.graph = CapturedGraph::capture(stream_->handle(), [&] { enqueueRun(plan, layout, inputs); }, addresses);
    if (entry.graph) {
      entry.graph->launch(stream_->handle());
      return;
    }
    entry.graphable = false;  // not capturable: stay eager for this signature
  }
  synced_ = false;
  enqueueRun(plan, layout, inputs);
  ++entry.eagerRuns;
  if (synced_) entry.graphable = false;
}

std::vector<TensorPtr> CudaRunner::run(const std::vector<TensorPtr>& inputs) {
  ScopedDevice on(device_);
  const Network& net = engine_->network();
  const size_t layerCount = net.layers().size();
  if (!stream_) {
    stream_ = std::make_unique<CudaStream>(device_);
    handles_ = std::make_unique<LibraryHandles>(device_, stream_->handle());
    INFERRT_CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventBlockingSync | cudaEventDisableTiming));
    errorFlags_ = std::make_unique<DeviceMemory>(std::max<size_t>(layerCount, 1) * sizeof(int32_t), device_);
  }
  PlanEntry& entry = planFor(inputs);
  if (!entry.plan) return engine_->execute(inputs);
  const RunPlan& plan = *entry.plan;
  ensureArena(plan.arenaBytes());
  struct Retire {  // grown-out scratch blocks go once the stream has finished with them (also on failure)
    CudaRunner* self;
    ~Retire() {
      if (!self->retiredScratch_.empty()) self->stream_->blockUntilIdle();
      self->retiredScratch_.clear();
    }
  } retire{this};
  try {
    StagingLayout layout;
    size_t inBytes = 0;
    for (const TensorPtr& in : inputs) {
      layout.inputOffsets.push_back(inBytes);
      inBytes += alignUp(in->byteSize());
    }
    uint8_t* staging = static_cast<uint8_t*>(pinned(stagingIn_, inBytes));
    for (size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i]->byteSize() > 0) std::memcpy(staging + layout.inputOffsets[i], inputs[i]->raw(), inputs[i]->byteSize());
    layout.flagBytes = alignUp(layerCount * sizeof(int32_t));
    size_t outBytes = layout.flagBytes;
    for (int t : net.outputs()) {
      layout.outputOffsets.push_back(outBytes);
      outBytes += alignUp(static_cast<size_t>(volume(plan.descs()[t].dims)) * dtypeSize(plan.storage(t)));
    }
    const uint8_t* out = static_cast<const uint8_t*>(pinned(stagingOut_, outBytes));
    runOnce(entry, layout, inputs);
    synchronize();
    checkDeviceErrors(reinterpret_cast<const int32_t*>(out));
    if (profiling_) collectProfile(plan);
    std::vector<TensorPtr> outputs;
    for (size_t o = 0; o < net.outputs().size(); ++o) {
      const int t = net.outputs()[o];
      const TensorDesc& d = plan.descs()[t];
      if (d.value) {
        outputs.push_back(d.value);
        continue;
      }
      const size_t bytes = static_cast<size_t>(volume(d.dims)) * dtypeSize(plan.storage(t));
      Tensor host = Tensor::fromBytes(plan.storage(t), d.dims, out + layout.outputOffsets[o], bytes);
      if (host.dtype() != d.dtype) host = fromFloat32(toFloat32(host), d.dtype);  // fp16-stored float32 output
      outputs.push_back(std::make_shared<const Tensor>(std::move(host)));
    }
    return outputs;
  } catch (...) {
    stream_->blockUntilIdle();  // a failed run leaves nothing in flight on the arena or staging
    throw;
  }
}

std::unique_ptr<ContextRunner> makeCudaRunner(std::shared_ptr<const Engine> engine, int profile) {
  return std::make_unique<CudaRunner>(std::move(engine), profile);
}

}  // namespace inferrt
