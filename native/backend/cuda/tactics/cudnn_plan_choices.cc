// Build-time choice of the cuDNN execution plans of a CUDA INT8 engine (plan/cudnn_choices.h): rather than derive
// each cuDNN problem again here, the builder runs the engine it is about to write once, on zero inputs at the first
// profile's opt shapes, so the plan cache searches exactly the problems the kernels pose; what the cache chose for
// them goes into the plan. At load, a plan's choices seed the cache when the GPU model and cuDNN version match (and
// the inferrt version: engine.cc checks that).
#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "backend/cuda/kernels/cudnn_int8_convolution.h"
#include "backend/cuda/tactics/tactic_log.h"
#include "ir/error.h"
#include "runtime/context_runner.h"
#include "runtime/cuda_hooks.h"
#include "runtime/devices.h"
#include "runtime/engine.h"

namespace inferrt {

namespace {

std::string deviceName(int device) {
  const CudaDeviceInfo* d = findCudaDevice(device);
  return d ? d->name : "";
}

std::string versionText(uint64_t version) {  // cuDNN 9 numbers its versions major * 10000 + minor * 100 + patch
  return std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "." + std::to_string(version % 100);
}

}  // namespace

CudnnChoices chooseCudnnPlans(const PlanModel& plan, std::vector<std::string>& log) {
  const auto start = std::chrono::steady_clock::now();
  CudnnChoices out;
  out.cudnnVersion = cudnnint8::cudnnVersion();
  if (out.cudnnVersion == 0) return out;
  int device = -1;
  std::string failure;
  cudnnint8::ChoiceRecording recording;  // this thread's lookups: the run below launches its kernels here
  try {
    std::shared_ptr<const Engine> engine = Engine::fromModel(plan);  // a copy: the weights' storage is shared
    device = engine->info().device;
    const Network& network = engine->network();
    std::vector<TensorPtr> inputs;
    for (int t : network.inputs()) {
      const TensorInfo& info = network.tensor(t);
      inputs.push_back(std::make_shared<const Tensor>(info.dtype, engine->profiles().front().at(info.name).opt));
    }
    makeCudaRunner(engine, 0)->run(inputs);
  } catch (const std::exception& e) {  // an Error (OOM, a device-side fault) or bad_alloc
    failure = e.what();
  }
  out.device = deviceName(device);
  if (device >= 0 && !out.device.empty()) out.entries = recording.choices(device);  // what ran before any failure too
  if (!failure.empty())
    log.push_back("cuDNN plans: the opt-shape run failed (" + failure + "); " +
                  (out.entries.empty() ? std::string("the first run chooses them")
                                       : "the plan keeps the " + std::to_string(out.entries.size()) +
                                             " chosen before that, the first run chooses the rest"));
  if (out.entries.empty()) return {};
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (failure.empty())
    log.push_back("cuDNN plans: " + std::to_string(out.entries.size()) + " INT8 graph problems chosen by an opt-shape " +
                  "run of " + formatSeconds(seconds) + " (cuDNN " + versionText(out.cudnnVersion) + ", " + out.device +
                  "); engines on the same GPU model with this cuDNN replay them instead of searching at their first run");
  return out;
}

std::string adoptCudnnChoices(const CudnnChoices& choices, int device) {
  const std::string here = deviceName(device);
  const uint64_t version = cudnnint8::cudnnVersion();
  if (version == 0) return "this inferrt was built without cuDNN";
  if (choices.device != here) return "chosen on " + choices.device + ", this engine runs on " + here;
  if (choices.cudnnVersion != version)
    return "chosen with cuDNN " + versionText(choices.cudnnVersion) + ", this process has " + versionText(version);
  cudnnint8::adoptChoices(choices.entries, device);
  return "";
}

}  // namespace inferrt
