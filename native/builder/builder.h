// buildPlan: network + config -> plan bytes (TensorRT's buildSerializedNetwork). Runs the passes of
// builder/passes.h on a copy of the network, so the caller's network is never changed.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "builder/build_config.h"
#include "ir/network.h"

namespace inferrt {

// Called once per stage: stage name ("validate", "fold", "prune", "fuse", "precision", "layout", "tactics" (CUDA plans,
// several times: once per GEMM timed), "serialize", "done"), overall fraction done in [0, 1], and a line about
// it. May be called from a worker thread.
using BuildProgress = std::function<void(const std::string& stage, double fraction, const std::string& message)>;

struct BuildResult {
  std::vector<uint8_t> plan;
  std::vector<std::string> log;
};

BuildResult buildPlan(const Network& network, const BuildConfig& config, const BuildProgress& progress);

}  // namespace inferrt
