// The runtime's door to the CUDA backend, declared without CUDA headers so engine.cc and the addon compile in
// CPU-only builds; defined in native/backend/cuda/executor/ (CUDA builds only, INFERRT_WITH_CUDA).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "builder/build_config.h"
#include "ir/network.h"

namespace inferrt {

class Engine;
class ContextRunner;
class CudaEngineResources;  // weights on the device and where each layer runs; shared by all contexts

// Where a layer of a CUDA engine runs: its GPU kernel, or the CPU reference kernel (with copies) and why.
struct LayerPlacement {
  bool onGpu = false;
  std::string reason;  // why not on the GPU; empty when onGpu
};

// Decides placement, uploads the constants GPU layers read (once per engine). OUT_OF_MEMORY / CUDA_ERROR.
std::shared_ptr<CudaEngineResources> loadCudaEngineResources(const Network& network, const BuildConfig& config, int device);
const std::vector<LayerPlacement>& layerPlacements(const CudaEngineResources& resources);
uint64_t weightDeviceBytes(const CudaEngineResources& resources);
// Placement without a device (build time): what the build log reports.
std::vector<LayerPlacement> planLayerPlacement(const Network& network);

// Whether the CUDA backend has a GPU kernel (or needs none) for a layer kind.
bool cudaSupportsKind(const std::string& kind);
// The build log's line about where a CUDA plan's layers run ("backend cuda: 180 of 182 layers on the GPU; ...").
std::string placementSummary(const Network& network);

// A runner with its own stream, library handles and arena, for one context of `engine` (a CUDA engine).
std::unique_ptr<ContextRunner> makeCudaRunner(std::shared_ptr<const Engine> engine, int profile);

}  // namespace inferrt
