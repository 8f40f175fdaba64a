#include "builder/builder.h"

#include "builder/int8_passes.h"
#include "builder/passes.h"
#include "builder/timing_cache.h"
#include "ir/error.h"
#include "plan/plan.h"
#include "runtime/cuda_hooks.h"
#include "runtime/devices.h"

namespace inferrt {

namespace {

std::string summary(const Network& network) {
  size_t weightBytes = 0;
  for (const TensorInfo& t : network.tensors())
    if (t.value && t.producer < 0) weightBytes += t.value->byteSize();
  return std::to_string(network.inputs().size()) + " inputs, " + std::to_string(network.outputs().size()) +
         " outputs, " + std::to_string(network.layers().size()) + " layers, " + std::to_string(weightBytes) +
         " bytes of weights";
}

std::string gpuArchFor(const std::string& backend) {
  if (backend != "cuda") return "";
  return cudaArch(cudaDevices().front());  // validateConfig checked that a device is visible
}

#ifdef INFERRT_WITH_CUDA
// The tactics stage: times GEMM algorithms on the device the plan is built for (fraction 0.65 .. 0.8).
std::vector<LayerTactic> selectTactics(const PlanModel& plan, TimingCache& cache, BuildLog& log,
                                       const std::function<void(const char*, double, const std::string&)>& report) {
  if (!plan.config.tacticTiming) {
    log.push_back("tactics: timing off (tacticTiming: false); cuBLASLt's heuristic picks each GEMM's algorithm at run time");
    return {};
  }
  report("tactics", 0.65, "timing GEMM algorithms at the first profile's opt shapes");
  return selectGemmTactics(plan.network, plan.config, cudaDevices().front().index, cache, log,
                           [&](size_t done, size_t total) {
                             report("tactics", 0.65 + 0.15 * static_cast<double>(done) / static_cast<double>(total),
                                    "timed " + std::to_string(done) + " of " + std::to_string(total) + " GEMMs");
                           });
}

// The sparse-weight stage: times cuSPARSELt against dense for the eligible layers (fraction 0.8 .. 0.85).
void selectSparse(PlanModel& plan, BuildLog& log,
                  const std::function<void(const char*, double, const std::string&)>& report) {
  report("sparsity", 0.8, "timing 2:4 sparse kernels against dense");
  selectSparseTactics(plan.network, plan.config, plan.tactics, cudaDevices().front().index, plan.sparsity, log,
                      [&](size_t done, size_t total) {
                        report("sparsity", 0.8 + 0.05 * static_cast<double>(done) / static_cast<double>(total),
                               "compressed and timed " + std::to_string(done) + " of " + std::to_string(total) +
                                   " eligible layers");
                      });
}

// Whether the cuDNN plan stage runs: CUDA INT8 builds that time tactics and have INT8 GEMMs or convolutions (the
// kernels that may take cuDNN graphs; the opt-shape run finds out which do).
bool runsCudnnGraphs(const PlanModel& plan) {
  if (plan.config.backend != "cuda" || !plan.config.int8 || !plan.config.tacticTiming) return false;
  for (const Layer& layer : plan.network.layers())
    if (layer.kind == "QuantizedMatMul" || layer.kind == "QuantizedConvolution") return true;
  return false;
}
#endif

}  // namespace

BuildResult buildPlan(const Network& source, const BuildConfig& config, const BuildProgress& progress) {
  auto report = [&](const char* stage, double fraction, const std::string& message) {
    if (progress) progress(stage, fraction, message);
  };
  BuildResult result;
  BuildLog& log = result.log;
  report("validate", 0.0, "checking the network and the config");
  // Read first, so a malformed cache fails the build before any work.
  TimingCache cache = config.timingCache.empty() ? TimingCache() : readTimingCacheFile(config.timingCache);
  PlanModel plan;
  plan.network = source;
  plan.config = config;
  plan.config.profiles = validateConfig(plan.network, config, log);
  log.push_back("network: " + summary(plan.network));

  // Explicit Q/DQ layers become scales first, before constant folding turns quantized weights into plain floats.
  const QuantizationTable int8Table = config.int8 ? absorbQdqPairs(plan.network, log) : QuantizationTable();
  report("fold", 0.2, "folding constants");
  foldConstants(plan.network, log);
  if (const size_t folded = foldReshapeTransposes(plan.network))
    log.push_back("transposes: " + std::to_string(folded) + " reshape-transpose-reshape chain" +
                  (folded == 1 ? "" : "s") + " folded into one Transpose");
  report("prune", 0.5, "removing layers no output depends on");
  eliminateDeadLayers(plan.network, log);
  report("fuse", 0.55, "fusing layer norms, GEMM epilogues and attention blocks");
  fuseLayers(plan.network, log);
  if (config.packed.enabled()) {
    report("pack", 0.57, "rewriting the BERT encoder for packed sequences");
    packBertEncoder(plan.network, plan.config, log);
  }
  if (config.approximateGelu) {
    const size_t gelus = approximateGelus(plan.network);
    log.push_back("approximateGelu: " + std::to_string(gelus) + " fused GELU" + (gelus == 1 ? "" : "s") +
                  " computed with the tanh approximation");
  }
  if (config.int8) {
    report("int8", 0.58, "quantizing MatMul and Convolution layers that have INT8 scales");
    quantizeLayers(plan.network, config, int8Table, log);
  }
  if (const size_t merged = eliminateCommonSubexpressions(plan.network))
    log.push_back("common subexpressions: " + std::to_string(merged) + " layer" + (merged == 1 ? "" : "s") +
                  " merged into earlier identical ones");
  report("precision", 0.6, config.fp16 ? "assigning fp16 where allowed" : "assigning precisions");
  assignPrecision(plan.network, config, log);
  report("layout", 0.62, "choosing channels-last layouts");
  convertToChannelsLast(plan.network, config, log);
  if (config.int8) {
    const Int8OutputFusions f = fuseInt8Outputs(plan.network);
    auto counted = [](size_t n, const std::string& what) {
      return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
    };
    std::vector<std::string> kinds;
    if (f.outputs) kinds.push_back(counted(f.outputs, "channels-last convolution"));
    if (f.gemmOutputs) kinds.push_back(counted(f.gemmOutputs, "fp16-engine GEMM"));
    if (f.layerNormOutputs) kinds.push_back(counted(f.layerNormOutputs, "layer normalization"));
    if (f.attentionOutputs) kinds.push_back(counted(f.attentionOutputs, "attention layer"));
    if (f.maxPoolOutputs) kinds.push_back(counted(f.maxPoolOutputs, "max pooling"));
    std::string writers;  // "a", "a and b", "a, b and c"
    for (size_t i = 0; i < kinds.size(); ++i)
      writers += (i == 0 ? "" : i + 1 == kinds.size() ? " and " : ", ") + kinds[i];
    if (!writers.empty())
      log.push_back("int8 outputs: " + writers + " write int8 for the QuantizeLinear layers that read them" +
                    (f.residuals ? "; of those convolutions, " + std::to_string(f.residuals) +
                                       " write no float output, their readers taking the int8 one as residual"
                                 : ""));
    if (f.geluHandoffs)
      log.push_back("int8 GELU: " + counted(f.geluHandoffs, "fp16-engine GEMM") +
                    " write the pre-activation in fp16 and the QuantizeLinear after each applies the exact GELU");
  }
  plan.network.validate();
  // Layer indices are final from here on: the sparsity records and tactics name layers by index.
  if (config.sparseWeights) {
    report("sparsity", 0.63, "checking constant weights for the 2:4 pattern");
    plan.sparsity = reportSparsity(plan.network, config, log);
  }
#ifdef INFERRT_WITH_CUDA
  if (config.backend == "cuda") {
    log.push_back(placementSummary(plan.network));
    plan.tactics = selectTactics(plan, cache, log, report);
    if (config.sparseWeights) selectSparse(plan, log, report);
  }
#endif

  plan.header.libraryVersion = libraryVersion();
  plan.header.backend = config.backend;
  plan.header.gpuArch = gpuArchFor(config.backend);
#ifdef INFERRT_WITH_CUDA
  if (runsCudnnGraphs(plan)) {
    report("cudnn", 0.85, "running the engine once at the opt shapes to choose its cuDNN INT8 plans");
    plan.cudnnChoices = chooseCudnnPlans(plan, log);
  }
#endif
  report("serialize", 0.9, "writing the plan");
  result.plan = writePlan(plan);
  log.push_back("engine: " + summary(plan.network));
  log.push_back("plan: " + std::to_string(result.plan.size()) + " bytes, format version " +
                std::to_string(kPlanFormatVersion) + ", backend " + config.backend +
                (plan.header.gpuArch.empty() ? "" : " " + plan.header.gpuArch));
  if (!config.timingCache.empty()) {
    writeTimingCacheFile(config.timingCache, cache);
    log.push_back("timing cache: " + std::to_string(cache.entries().size()) + " entries written to '" +
                  config.timingCache + "'");
  }
  report("done", 1.0, "plan of " + std::to_string(result.plan.size()) + " bytes");
  return result;
}

}  // namespace inferrt
