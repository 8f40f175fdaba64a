// What the builder may do (TensorRT's IBuilderConfig): precision flags, workspace, backend and the
// optimization profiles that bound each input's dynamic dims. Plans store a copy (with resolved profiles).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/dims.h"

namespace inferrt {

// The dims an input may take in one profile: min <= opt <= max per dim; opt is what tuning aims at.
struct ShapeRange {
  Dims min, opt, max;
};

// Input name -> range. After config validation every network input has an entry (static ones min=opt=max).
using OptimizationProfile = std::map<std::string, ShapeRange>;

// Whether the builder's channels-last pass runs (builder/channels_last.cc). Auto: on for the CUDA backend with fp16
// allowed, for the layers that run in fp16; On: for every eligible layer on any backend and precision.
enum class ChannelsLast : int32_t { Auto = 0, On = 1, Off = 2 };

// Packed-sequence BERT (builder/packed_bert.cc): when maxSeqLen > 0, a recognized BERT / RoBERTa encoder is
// rebuilt over packed tokens (inputs input_ids [T], segment_ids [T], cu_seqlens [B+1]) with these bounds.
// Build-time only: the plan records the resulting network and profile.
struct PackedSequenceOptions {
  int64_t maxSeqLen = 0;  // the longest sequence; 0: off
  int64_t maxBatch = 0;   // sequences per run
  int64_t maxTokens = 0;  // tokens per run (all sequences together)
  int64_t optTokens = 0, optBatch = 0;  // the shapes tuned for
  bool enabled() const { return maxSeqLen > 0; }
};

struct BuildConfig {
  bool fp16 = false;
  bool int8 = false;
  bool tf32 = false;
  bool sparseWeights = false;
  uint64_t workspaceBytes = 0;  // 0: no limit
  std::string backend = "cpu";  // "cpu" or "cuda"
  ChannelsLast channelsLast = ChannelsLast::Auto;  // a build-time choice: plans record its outcome, not the option
  std::vector<OptimizationProfile> profiles;
  // Build-time only (not stored in plans): time cuBLASLt algorithms per GEMM and record the fastest (CUDA
  // builds), and the timing cache file that keeps those timings across builds ("" for none).
  bool tacticTiming = true;
  std::string timingCache;
  // Build-time only: sparse-weight layers use the sparse kernel wherever it takes them, not only where faster.
  bool sparseForce = false;
  // Build-time only: INT8 activation scales (amax / 127) by tensor name, from a calibrator or a calibration cache.
  // Layers whose input has a scale here (or from the network's own Q/DQ pairs) may run in int8.
  std::map<std::string, float> int8Scales;
  PackedSequenceOptions packed;
  // Build-time only: fused exact GELUs become the tanh approximation (builder/gelu_approximation.cc).
  bool approximateGelu = false;
};

}  // namespace inferrt
