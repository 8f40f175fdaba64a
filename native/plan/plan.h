// Plan files: the serialized engine. Layout (all integers little-endian):
//   header: magic "INFERRT\0" | u32 format version | u32 header length | str library version | str backend |
//           str gpu arch ("" on cpu) | u64 body length | u32 CRC-32 of the body
//   body:   sections { char[4] tag | u32 section version | u64 length | payload }
// A str is u32 length + bytes. Readers skip unknown section tags (later work adds int8 scales, plugin data as new
// sections) and reject a missing required one, a newer format or section version, a bad checksum, or any length
// that runs past its container, with BAD_PLAN and the reason. Optional sections (the tactics, 'TCTC'; the
// sparsity records, 'SPRS') may be absent; a reader that predates one skips it, so adding one needs no new format
// version.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "builder/build_config.h"
#include "ir/network.h"
#include "plan/cudnn_choices.h"
#include "plan/sparsity.h"
#include "plan/tactics.h"

namespace inferrt {

constexpr uint32_t kPlanFormatVersion = 1;

struct PlanHeader {
  uint32_t formatVersion = kPlanFormatVersion;
  std::string libraryVersion;
  std::string backend;  // "cpu" or "cuda"
  std::string gpuArch;  // "sm_90"; "" for cpu plans
};

struct PlanModel {
  PlanHeader header;
  Network network;     // built: folded, pruned, every layer's precision resolved
  BuildConfig config;  // with the resolved profiles (every input in every profile)
  std::vector<LayerTactic> tactics;  // layers ascending, each at most once; empty unless a CUDA build timed them
  // Layers ascending, each at most once, each a MatMul or Convolution; empty unless a sparseWeights build.
  std::vector<LayerSparsity> sparsity;
  CudnnChoices cudnnChoices;  // empty unless a CUDA INT8 build ran cuDNN graphs at its opt shapes
};

// The library version this build writes into plans (package.json's version).
const char* libraryVersion();

std::vector<uint8_t> writePlan(const PlanModel& plan);
// Parses and checks a plan; throws BadPlan naming the fault. Does not check the backend against this machine
// (runtime/engine.cc does) but does re-validate the graph (plan_validation.cc).
PlanModel readPlan(const uint8_t* data, size_t size);

// Checks a parsed network the way the builder's output is known to be: indices, topological order, known kinds,
// constants that match their dims, and shape rules that agree with the declared dims. Throws BadPlan.
void validatePlanGraph(const Network& network, const std::vector<OptimizationProfile>& profiles);

}  // namespace inferrt
