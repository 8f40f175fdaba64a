#include "backend/cuda/executor/cuda_runner.h"

#include <cstring>

#include "backend/cuda/cuda_check.h"
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
  const Network& net = engine_->network();
  inputPosition_.assign(net.tensors().size(), -1);
  for (size_t i = 0; i < net.inputs().size(); ++i) inputPosition_[net.inputs()[i]] = static_cast<int>(i);
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
  if (callerReady_) ignoreCudaError(cudaEventDestroy(callerReady_));
  if (runDone_) ignoreCudaError(cudaEventDestroy(runDone_));
  for (cudaEvent_t e : stepEvents_) ignoreCudaError(cudaEventDestroy(e));
}

uint64_t CudaRunner::deviceMemorySize() const {
  uint64_t bytes = arena_ ? arena_->size() : plannedArenaBytes_;
  if (scratch_) bytes += scratch_->size();
  for (const auto& [key, entry] : plans_)
    if (entry.plan) bytes += entry.plan->constantBytes();
  return bytes;
}

CudaRunner::PlanEntry& CudaRunner::planFor(const std::vector<Dims>& dims, const std::vector<TensorPtr>& values) {
  PlanKey key;
  key.first = dims;
  for (const TensorPtr& v : values) {
    if (!v) continue;
    const uint8_t* bytes = static_cast<const uint8_t*>(v->raw());
    key.second.emplace_back(bytes, bytes + v->byteSize());
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

void CudaRunner::ensureStream() {
  if (stream_) return;
  stream_ = std::make_unique<CudaStream>(device_);
  handles_ = std::make_unique<LibraryHandles>(device_, stream_->handle(), resources_.hasSparseLayers());
  INFERRT_CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventBlockingSync | cudaEventDisableTiming));
  INFERRT_CUDA_CHECK(cudaEventCreateWithFlags(&callerReady_, cudaEventDisableTiming));
  INFERRT_CUDA_CHECK(cudaEventCreateWithFlags(&runDone_, cudaEventDisableTiming));
  const size_t layerCount = engine_->network().layers().size();
  errorFlags_ = std::make_unique<DeviceMemory>(std::max<size_t>(layerCount, 1) * sizeof(int32_t), device_);
}

namespace {

// Grown-out scratch blocks go once the stream has finished with them (also when a run fails).
struct RetireScratch {
  std::vector<std::unique_ptr<DeviceMemory>>& retired;
  CudaStream& stream;
  ~RetireScratch() {
    if (!retired.empty()) stream.blockUntilIdle();
    retired.clear();
  }
};

}  // namespace

std::vector<TensorPtr> CudaRunner::run(const std::vector<TensorPtr>& inputs) {
  ScopedDevice on(device_);
  const Network& net = engine_->network();
  const size_t layerCount = net.layers().size();
  ensureStream();
  throwPendingDeviceError();
  std::vector<Dims> dims;
  std::vector<TensorPtr> values(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    dims.push_back(inputs[i]->dims());
    if (resources_.hostValueInputs()[i]) values[i] = inputs[i];
  }
  PlanEntry& entry = planFor(dims, values);
  if (!entry.plan) return engine_->execute(inputs);
  const RunPlan& plan = *entry.plan;
  ensureArena(plan.arenaBytes());
  RetireScratch retire{retiredScratch_, *stream_};
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
    for (int t : plan.outputReads()) {
      layout.outputOffsets.push_back(outBytes);
      outBytes += alignUp(static_cast<size_t>(volume(plan.descs()[t].dims)) * dtypeSize(plan.storage(t)));
    }
    const uint8_t* out = static_cast<const uint8_t*>(pinned(stagingOut_, outBytes));
    runOnce(entry, layout, inputs, nullptr);
    synchronize();
    const int32_t* flags = reinterpret_cast<const int32_t*>(out);
    const int flagged = firstFlaggedLayer(flags);
    if (flagged >= 0) throwDeviceError(flagged, flags[flagged]);
    if (profiling_) collectProfile(plan);
    std::vector<TensorPtr> outputs;
    for (size_t o = 0; o < net.outputs().size(); ++o) {
      const int t = plan.outputReads()[o];
      const TensorDesc& d = plan.descs()[t];
      if (d.value) {
        outputs.push_back(d.value);
        continue;
      }
      const size_t bytes = static_cast<size_t>(volume(d.dims)) * dtypeSize(plan.storage(t));
      outputs.push_back(std::make_shared<const Tensor>(Tensor::fromBytes(plan.storage(t), d.dims, out + layout.outputOffsets[o], bytes)));
    }
    return outputs;
  } catch (...) {
    stream_->blockUntilIdle();  // a failed run leaves nothing in flight on the arena or staging
    throw;
  }
}

void CudaRunner::enqueue(const EnqueueRequest& request, void* callerStream) {
  ScopedDevice on(device_);
  const Network& net = engine_->network();
  ensureStream();
  throwPendingDeviceError();
  const cudaStream_t caller = static_cast<cudaStream_t>(callerStream);
  // Inputs that feed shapes are read back (they are small): the plan depends on their values.
  std::vector<TensorPtr> values(net.inputs().size());
  for (size_t i = 0; i < net.inputs().size(); ++i) {
    if (!resources_.hostValueInputs()[i]) continue;
    Tensor host(net.tensor(net.inputs()[i]).dtype, request.inputDims[i]);
    if (host.byteSize() > 0) {
      INFERRT_CUDA_CHECK(cudaMemcpyAsync(host.raw(), request.inputs[i].address, host.byteSize(), cudaMemcpyDeviceToHost, caller));
      INFERRT_CUDA_CHECK(cudaStreamSynchronize(caller));
    }
    values[i] = std::make_shared<const Tensor>(std::move(host));
  }
  PlanEntry& entry = planFor(request.inputDims, values);
  if (!entry.plan)
    fail(ErrorCode::UnsupportedOp, "enqueue: the output shapes of this engine depend on values computed on the device; use infer()");
  ensureArena(entry.plan->arenaBytes());
  pinned(enqueueFlags_, alignUp(net.layers().size() * sizeof(int32_t)));
  RetireScratch retire{retiredScratch_, *stream_};
  // Our stream starts after what the caller queued so far; the caller's stream continues after our run.
  INFERRT_CUDA_CHECK(cudaEventRecord(callerReady_, caller));
  INFERRT_CUDA_CHECK(cudaStreamWaitEvent(stream_->handle(), callerReady_, 0));
  for (const TensorBinding& b : request.inputs) boundInputs_.push_back(b.address);
  try {
    runOnce(entry, StagingLayout{}, {}, &request);
  } catch (...) {
    boundInputs_.clear();
    stream_->blockUntilIdle();
    throw;
  }
  boundInputs_.clear();
  INFERRT_CUDA_CHECK(cudaEventRecord(runDone_, stream_->handle()));
  INFERRT_CUDA_CHECK(cudaStreamWaitEvent(caller, runDone_, 0));
}

std::unique_ptr<ContextRunner> makeCudaRunner(std::shared_ptr<const Engine> engine, int profile) {
  return std::make_unique<CudaRunner>(std::move(engine), profile);
}

}  // namespace inferrt
