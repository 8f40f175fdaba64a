#include "runtime/engine.h"

#include "ir/error.h"
#include "ir/plugin_registry.h"
#include "runtime/devices.h"

namespace inferrt {

namespace {

// A plan runs only where its backend (and for CUDA, its GPU architecture) is available. Returns the CUDA
// device it runs on (the first with the plan's architecture), -1 for CPU plans.
int checkBackend(const PlanHeader& header) {
  const std::string built = "plan was built for backend " + header.backend +
                            (header.gpuArch.empty() ? "" : " " + header.gpuArch);
  if (header.backend == "cpu") {
    if (!header.gpuArch.empty()) fail(ErrorCode::BadPlan, built, " but cpu plans carry no GPU architecture");
    return -1;
  }
  if (header.backend != "cuda") fail(ErrorCode::BadPlan, "plan was built for backend '", header.backend, "', which this inferrt does not know");
  if (!cudaCompiled()) fail(ErrorCode::BadPlan, built, " but this inferrt was built without the CUDA backend");
  if (cudaDevices().empty()) fail(ErrorCode::BadPlan, built, " but no CUDA device is visible (", cudaUnavailableReason(), ")");
  std::string seen;
  for (const CudaDeviceInfo& d : cudaDevices()) {
    if (cudaArch(d) == header.gpuArch) return d.index;
    seen += (seen.empty() ? "" : ", ") + cudaArch(d) + " (" + d.name + ")";
  }
  fail(ErrorCode::BadPlan, built, " but the visible GPUs are ", seen, "; rebuild the plan on this machine");
}

const char* precisionName(LayerPrecision p) {
  switch (p) {
    case LayerPrecision::Float16: return "fp16";
    case LayerPrecision::Int8: return "int8";
    default: return "fp32";
  }
}

}  // namespace

std::shared_ptr<const Engine> Engine::load(const uint8_t* data, size_t size) {
  PlanModel plan = readPlan(data, size);
  const int device = checkBackend(plan.header);
  return std::shared_ptr<const Engine>(new Engine(std::move(plan), size, device));
}

std::shared_ptr<const Engine> Engine::fromModel(PlanModel plan) {
  const int device = checkBackend(plan.header);
  return std::shared_ptr<const Engine>(new Engine(std::move(plan), 0, device));
}

Engine::Engine(PlanModel plan, size_t planBytes, int device) : plan_(std::move(plan)) {
  info_.formatVersion = plan_.header.formatVersion;
  info_.libraryVersion = plan_.header.libraryVersion;
  info_.backend = plan_.header.backend;
  info_.gpuArch = plan_.header.gpuArch;
  info_.precision.push_back("fp32");
  if (plan_.config.tf32) info_.precision.push_back("tf32");
  if (plan_.config.fp16) info_.precision.push_back("fp16");
  if (plan_.config.int8) info_.precision.push_back("int8");
  info_.planBytes = planBytes;
  for (const TensorInfo& t : plan_.network.tensors())
    if (t.value) info_.weightBytes += t.value->byteSize();
  executor_ = std::make_unique<CpuExecutor>(plan_.network);
  info_.device = device;
#ifdef INFERRT_WITH_CUDA
  if (device >= 0) {
    cuda_ = loadCudaEngineResources(plan_.network, plan_.config, plan_.tactics, plan_.sparsity, device);
    info_.deviceMemorySize = weightDeviceBytes(*cuda_);
  }
#endif
  info_.cudnnChoices = plan_.cudnnChoices.entries.size();
  if (info_.cudnnChoices > 0) {
    if (device < 0) {
      info_.cudnnChoicesNote = "CPU engines run no cuDNN graphs";
    } else if (plan_.header.libraryVersion != libraryVersion()) {  // the graphs may be built differently
      info_.cudnnChoicesNote = "chosen by inferrt " + plan_.header.libraryVersion + ", this is inferrt " + libraryVersion();
    } else {
#ifdef INFERRT_WITH_CUDA
      info_.cudnnChoicesNote = adoptCudnnChoices(plan_.cudnnChoices, device);
#endif
    }
  }
}

std::vector<IOTensorInfo> Engine::ioTensors() const {
  std::vector<IOTensorInfo> out;
  const Network& net = plan_.network;
  for (int t : net.inputs()) {
    IOTensorInfo io{net.tensor(t).name, net.tensor(t).dtype, net.tensor(t).dims, true, {}};
    for (const OptimizationProfile& p : plan_.config.profiles) io.profiles.push_back(p.at(io.name));
    out.push_back(std::move(io));
  }
  for (int t : net.outputs()) out.push_back({net.tensor(t).name, net.tensor(t).dtype, net.tensor(t).dims, false, {}});
  return out;
}

std::vector<EngineLayerInfo> Engine::layers() const {
  std::vector<EngineLayerInfo> out;
  const Network& net = plan_.network;
  std::vector<const LayerTactic*> tactics(net.layers().size(), nullptr);
  for (const LayerTactic& t : plan_.tactics) tactics[t.layer] = &t;  // the reader checked the indices
  std::vector<const LayerSparsity*> sparsity(net.layers().size(), nullptr);
  for (const LayerSparsity& s : plan_.sparsity) sparsity[s.layer] = &s;  // checked by the reader too
  for (size_t i = 0; i < net.layers().size(); ++i) {
    const Layer& l = net.layers()[i];
    EngineLayerInfo info{l.name, l.kind, precisionName(l.precision), {}, {}, "cpu", "", ""};
    if (tactics[i]) info.tactic = tactics[i]->description;
    info.sparsity = sparsity[i];
#ifdef INFERRT_WITH_CUDA
    if (cuda_) {
      const LayerPlacement& p = layerPlacements(*cuda_)[i];
      info.runsOn = p.onGpu ? "cuda" : "cpu";
      info.fallbackReason = p.reason;
    }
#endif
    if (l.kind == "Plugin") {
      const PluginDef& plugin = pluginForLayer(l);  // registered: plan validation looked it up at load
      info.pluginName = plugin.name;
      info.pluginVersion = plugin.version;
      info.pluginAttributes = &l.attrs;
    }
    info.channelsLast = (l.kind == "Convolution" || l.kind == "QuantizedConvolution" || l.kind == "Pooling") &&
                        l.attrs.getInt("channels_last", 0) == 1;
    for (int t : l.inputs) info.inputs.push_back(t < 0 ? "" : net.tensor(t).name);
    for (int t : l.outputs) info.outputs.push_back(net.tensor(t).name);
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<TensorPtr> Engine::execute(const std::vector<TensorPtr>& inputs) const { return executor_->run(inputs); }

}  // namespace inferrt
