// The runtime's door to the CUDA backend, declared without CUDA headers so engine.cc and the addon compile in
// CPU-only builds; defined in native/backend/cuda/executor/ (CUDA builds only, INFERRT_WITH_CUDA).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "builder/build_config.h"
#include "ir/network.h"
#include "plan/cudnn_choices.h"
#include "plan/sparsity.h"
#include "plan/tactics.h"

namespace inferrt {

class Engine;
class ContextRunner;
class CudaEngineResources;  // weights on the device and where each layer runs; shared by all contexts
class TimingCache;
struct PlanModel;

// Where a layer of a CUDA engine runs: its GPU kernel, or the CPU reference kernel (with copies) and why.
struct LayerPlacement {
  bool onGpu = false;
  std::string reason;  // why not on the GPU; empty when onGpu
};

// Decides placement, uploads the constants GPU layers read (once per engine) and the compressed weights of
// sparse layers, and keeps the plan's tactics for the kernels. OUT_OF_MEMORY / CUDA_ERROR.
std::shared_ptr<CudaEngineResources> loadCudaEngineResources(const Network& network, const BuildConfig& config,
                                                             const std::vector<LayerTactic>& tactics,
                                                             const std::vector<LayerSparsity>& sparsity, int device);
const std::vector<LayerPlacement>& layerPlacements(const CudaEngineResources& resources);
uint64_t weightDeviceBytes(const CudaEngineResources& resources);
// Placement without a device (build time): what the build log reports.
std::vector<LayerPlacement> planLayerPlacement(const Network& network);

// Whether the CUDA backend has a GPU kernel (or needs none) for a layer kind.
bool cudaSupportsKind(const std::string& kind);
// The build log's line about where a CUDA plan's layers run ("backend cuda: 180 of 182 layers on the GPU; ...").
std::string placementSummary(const Network& network);

// Build time, CUDA plans (after precision assignment): for each MatMul layer that runs on cuBLASLt, times the
// algorithms cuBLASLt's heuristic offers for its GEMM at the first profile's opt shapes on `device` and returns
// the fastest per layer (layers ascending). Identical GEMMs are timed once; entries of `cache` for this device
// and cuBLASLt version are used instead of timing, and what was timed is added to it. Adds a "tactics: ..."
// line to `log`; `progress(done, total)` after each distinct GEMM. (native/backend/cuda/tactics/)
std::vector<LayerTactic> selectGemmTactics(const Network& network, const BuildConfig& config, int device,
                                           TimingCache& cache, std::vector<std::string>& log,
                                           const std::function<void(size_t done, size_t total)>& progress);

// Build time, sparseWeights CUDA plans (after selectGemmTactics): for each eligible MatMul record that runs as
// one fp16 GEMM at the first profile's opt shapes, compresses the weight with cuSPARSELt, searches its kernels
// and times the best against the dense GEMM (the layer's tactic's time when `tactics` has one); faster sparse
// layers get sparse = true, the algorithm and the compressed weight, the rest a note saying why they stay dense.
// Adds a "sparse weights: ..." line to `log`. (native/backend/cuda/tactics/sparse_tactics.cc)
void selectSparseTactics(const Network& network, const BuildConfig& config, const std::vector<LayerTactic>& tactics,
                         int device, std::vector<LayerSparsity>& records, std::vector<std::string>& log,
                         const std::function<void(size_t done, size_t total)>& progress);

// Build time, CUDA INT8 plans: makes an engine of `plan` (its header set, its weights shared), runs it once on zero
// inputs at the first profile's opt shapes (which makes the cuDNN plan cache search each distinct INT8 graph
// problem) and returns what was chosen for them, with a "cuDNN plans: ..." line in `log`; empty when no layer ran a
// cuDNN graph. Where the run fails, the choices made before the failure (the log says so).
// (native/backend/cuda/tactics/cudnn_plan_choices.cc)
CudnnChoices chooseCudnnPlans(const PlanModel& plan, std::vector<std::string>& log);
// Load time: gives a plan's cuDNN choices to the plan cache for `device` when they were made on the same GPU model
// with the same cuDNN version. Returns "" when it did, else why not.
std::string adoptCudnnChoices(const CudnnChoices& choices, int device);

// A runner with its own stream, library handles and arena, for one context of `engine` (a CUDA engine).
std::unique_ptr<ContextRunner> makeCudaRunner(std::shared_ptr<const Engine> engine, int profile);

}  // namespace inferrt
