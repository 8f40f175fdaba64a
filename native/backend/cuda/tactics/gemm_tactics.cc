// Build-time tactic selection for GEMM layers (MatMul and the FullyConnected plugin, ir/gemm_layers.h; TensorRT's
// tactic timing): at the first profile's opt shapes, each layer's GEMM is derived exactly as the kernel derives it
// (matmul_gemm.h), the algorithms cuBLASLt's heuristic offers for it are timed on pseudo-random operands, and the
// fastest is recorded for the layer.
// Identical GEMMs are timed once; the timing cache answers for GEMMs timed by earlier builds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_memory.h"
#include "backend/cuda/executor/cuda_engine_resources.h"
#include "backend/cuda/kernels/cublaslt_tuning.h"
#include "backend/cuda/kernels/matmul_gemm.h"
#include "backend/cuda/scoped_device.h"
#include "backend/cuda/tactics/tactic_log.h"
#include "builder/timing_cache.h"
#include "ir/error.h"
#include "ir/gemm_layers.h"
#include "ir/half.h"
#include "runtime/cuda_hooks.h"
#include "runtime/devices.h"
#include "runtime/shape_resolution.h"

namespace inferrt {

namespace {

constexpr int kCandidates = 16;  // algorithms asked of the heuristic per GEMM
constexpr int kWarmupRuns = 2;
constexpr int kTimedRuns = 15;  // the median of these is the algorithm's time
// The heuristic's first choice is replaced only by an algorithm at least this much faster: closer times are
// within the noise of a median of 15 runs, and keeping it keeps plans stable from build to build.
constexpr double kMinGain = 1.01;

// One distinct GEMM of the network (by key) and the layers that run it.
struct GemmToTune {
  cublaslt::GemmShape shape;    // the GEMM the kernel will run (with the fused epilogue where cuBLASLt has one)
  cudakernels::MatMulGemm derived;  // its calls' offsets
  Dims a, b, out;               // the first layer's operand dims at the opt shapes (for the operand buffers)
  GemmAlgoWords heuristicFirst{};
  std::vector<uint32_t> layers;
};

struct Outcome {
  bool ok = false;
  GemmAlgoWords algo{};
  double ms = 0;
  double gain = 1;  // the heuristic's first choice's time over the chosen one's (timed GEMMs only)
};

// Device memory holding `elements` pseudo-random values in [-0.5, 0.5) (fp16 or fp32): small magnitudes, so no
// GEMM overflows fp16 while the kernels still see realistic, non-zero data.
std::unique_ptr<DeviceMemory> randomOperand(int64_t elements, bool half, int device, uint32_t seed) {
  const size_t elem = half ? 2 : 4;
  auto memory = std::make_unique<DeviceMemory>(static_cast<size_t>(elements) * elem, device);
  if (elements == 0) return memory;
  std::vector<uint8_t> host(static_cast<size_t>(elements) * elem);
  uint32_t state = seed;
  for (int64_t i = 0; i < elements; ++i) {
    state = state * 1664525u + 1013904223u;
    const float v = static_cast<float>(state >> 8) / static_cast<float>(1u << 24) - 0.5f;
    if (half) {
      const uint16_t h = floatToHalf(v);
      std::memcpy(&host[static_cast<size_t>(i) * 2], &h, 2);
    } else {
      std::memcpy(&host[static_cast<size_t>(i) * 4], &v, 4);
    }
  }
  INFERRT_CUDA_CHECK(cudaMemcpy(memory->data(), host.data(), host.size(), cudaMemcpyHostToDevice));
  return memory;
}

// Times the heuristic's candidates for `g` and picks one (see kMinGain). Out of device memory: not timed.
Outcome timeGemm(cublaslt::GemmTimer& timer, const GemmToTune& g, int device) {
  Outcome outcome;
  const cublaslt::GemmShape& s = g.shape;
  const size_t elem = s.half ? 2 : 4;
  std::vector<std::unique_ptr<DeviceMemory>> buffers;
  try {
    buffers.push_back(randomOperand(volume(g.a), s.half, device, 1));
    buffers.push_back(randomOperand(volume(g.b), s.half, device, 2));
    buffers.push_back(std::make_unique<DeviceMemory>(static_cast<size_t>(volume(g.out)) * elem, device));
    buffers.push_back(randomOperand(s.hasBias() ? s.n : 0, s.half, device, 3));
    buffers.push_back(std::make_unique<DeviceMemory>(cublaslt::kGemmMaxWorkspace, device));
  } catch (const Error& e) {
    if (e.code() == ErrorCode::OutOfMemory) return outcome;
    throw;
  }
  std::vector<cublaslt::GemmPointers> calls(g.derived.aOffsets.size());
  for (size_t z = 0; z < calls.size(); ++z) {
    calls[z].a = static_cast<const char*>(buffers[0]->data()) + g.derived.aOffsets[z] * static_cast<int64_t>(elem);
    calls[z].b = static_cast<const char*>(buffers[1]->data()) + g.derived.bOffsets[z] * static_cast<int64_t>(elem);
    calls[z].d = static_cast<char*>(buffers[2]->data()) + static_cast<size_t>(static_cast<int64_t>(z) * s.m * s.n) * elem;
    calls[z].bias = s.hasBias() ? buffers[3]->data() : nullptr;
  }
  const std::vector<cublaslt::TimedAlgo> timed =
      timer.timeCandidates(s, calls, buffers[4]->data(), kCandidates, kWarmupRuns, kTimedRuns);
  const cublaslt::TimedAlgo* first = nullptr;
  const cublaslt::TimedAlgo* best = nullptr;
  for (const cublaslt::TimedAlgo& t : timed) {
    if (t.ms < 0) continue;
    if (t.algo == g.heuristicFirst) first = &t;
    if (!best || t.ms < best->ms) best = &t;
  }
  if (!best) return outcome;
  if (first && best->ms * kMinGain > first->ms) best = first;
  outcome.ok = true;
  outcome.algo = best->algo;
  outcome.ms = best->ms;
  outcome.gain = first && best->ms > 0 ? first->ms / best->ms : 1;
  return outcome;
}

const CudaDeviceInfo& deviceInfo(int device) {
  if (const CudaDeviceInfo* d = findCudaDevice(device)) return *d;
  fail(ErrorCode::Internal, "tactics: CUDA device ", device, " is not visible");
}

}  // namespace

std::vector<LayerTactic> selectGemmTactics(const Network& network, const BuildConfig& config, int device,
                                           TimingCache& cache, std::vector<std::string>& log,
                                           const std::function<void(size_t done, size_t total)>& progress) {
  const auto start = std::chrono::steady_clock::now();
  // Every tensor at the first profile's opt shapes (config validation already ran the shape rules there).
  std::vector<Dims> optDims;
  for (int t : network.inputs()) optDims.push_back(config.profiles.at(0).at(network.tensor(t).name).opt);
  const std::vector<TensorDesc> descs = resolveShapes(network, optDims);
  const std::vector<LayerPlacement> placements = planLayerPlacement(network);

  ScopedDevice on(device);
  cublaslt::GemmTimer timer(device);
  const CudaDeviceInfo& info = deviceInfo(device);
  TimingCacheKey cacheKey{timingCacheDeviceName(info.name), cudaArch(info), cublaslt::loadedCublasLtVersion(), ""};

  std::map<std::string, std::pair<bool, GemmAlgoWords>> firstChoices;  // by GEMM key: found, algorithm
  std::map<std::string, GemmToTune> gemms;
  std::vector<std::string> order;  // keys in the order layers first use them
  size_t matmuls = 0, elsewhere = 0;
  const auto& layers = network.layers();
  for (size_t l = 0; l < layers.size(); ++l) {
    const Layer& layer = layers[l];
    if (!runsFloatGemm(layer)) continue;
    ++matmuls;
    const TensorDesc& a = descs[layer.inputs[0]];
    const TensorDesc& b = descs[layer.inputs[1]];
    const TensorDesc& out = descs[layer.outputs[0]];
    const bool hasBias = layer.inputs.size() > 2 && layer.inputs[2] >= 0;
    // What the executor skips (known outputs), runs elsewhere (CPU placement, integer kernel) or runs without
    // cuBLASLt (empty products) gets no tactic.
    const bool onCublasLt = placements[l].onGpu && isFloat(a.dtype) && !out.value && isStatic(a.dims) &&
                            isStatic(b.dims) && isStatic(out.dims) && volume(out.dims) > 0;
    if (!onCublasLt) {
      ++elsewhere;
      continue;
    }
    const bool half = storageFor(layer, a.dtype) == DType::Float16;
    const cudakernels::MatMulGemm derived = cudakernels::deriveMatMulGemm(layer, a.dims, b.dims, hasBias, half, config.tf32, {});
    if (derived.shape.k == 0) {
      ++elsewhere;
      continue;
    }
    // The GEMM the kernel will run: the first cuBLASLt has an algorithm for (none: the kernel fails too).
    GemmAlgoWords first{};
    const cublaslt::GemmShape* chosen = nullptr;
    std::string key;
    const std::vector<cublaslt::GemmShape> shapes = cudakernels::gemmShapesToTry(derived);
    for (const cublaslt::GemmShape& s : shapes) {
      key = cublaslt::gemmKey(s);
      auto asked = firstChoices.find(key);
      if (asked == firstChoices.end()) {
        GemmAlgoWords algo{};
        const bool found = timer.firstChoice(s, &algo);
        asked = firstChoices.emplace(key, std::make_pair(found, algo)).first;
      }
      if (asked->second.first) {
        first = asked->second.second;
        chosen = &s;
        break;
      }
    }
    if (!chosen) {
      ++elsewhere;
      continue;
    }
    auto [it, added] = gemms.try_emplace(key);
    if (added) {
      it->second = GemmToTune{*chosen, derived, a.dims, b.dims, out.dims, first, {}};
      order.push_back(key);
    }
    it->second.layers.push_back(static_cast<uint32_t>(l));
  }

  std::vector<LayerTactic> tactics;
  size_t fromCache = 0, timed = 0, kept = 0, replaced = 0, untimed = 0;
  double bestGain = 1;
  for (size_t i = 0; i < order.size(); ++i) {
    const GemmToTune& g = gemms.at(order[i]);
    cacheKey.gemmKey = order[i];
    Outcome outcome;
    const TimingCacheEntry* hit = cache.find(cacheKey);
    if (hit && timer.check(g.shape, hit->algo)) {
      outcome.ok = true;
      outcome.algo = hit->algo;
      outcome.ms = hit->timeMs;
      ++fromCache;
    } else {
      outcome = timeGemm(timer, g, device);
      if (outcome.ok) {
        ++timed;
        bestGain = std::max(bestGain, outcome.gain);
        cache.put(cacheKey, {outcome.algo, outcome.ms});
      }
    }
    if (progress) progress(i + 1, order.size());
    if (!outcome.ok) {
      ++untimed;
      continue;
    }
    ++(outcome.algo == g.heuristicFirst ? kept : replaced);
    const std::string description = cublaslt::describeAlgo(outcome.algo);
    for (uint32_t l : g.layers)
      tactics.push_back({l, order[i], outcome.algo, cacheKey.cublasLtVersion, outcome.ms, description});
  }
  std::sort(tactics.begin(), tactics.end(), [](const LayerTactic& x, const LayerTactic& y) { return x.layer < y.layer; });

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char gain[32];
  std::snprintf(gain, sizeof(gain), "%.2fx", bestGain);
  std::string line = "tactics: " + std::to_string(matmuls) + " GEMM layers, " + std::to_string(order.size()) +
                     " distinct GEMMs (" + std::to_string(timed) + " timed, " + std::to_string(fromCache) +
                     " from the timing cache) in " + formatSeconds(seconds) + "; heuristic's first choice kept for " +
                     std::to_string(kept) + ", replaced for " + std::to_string(replaced) +
                     (bestGain > 1 ? std::string(" (best gain ") + gain + ")" : "");
  if (elsewhere) line += "; " + std::to_string(elsewhere) + " GEMM layers not on cuBLASLt at the opt shapes";
  if (untimed) line += "; " + std::to_string(untimed) + " GEMMs left to the heuristic (out of memory or no algorithm ran)";
  log.push_back(line);
  return tactics;
}

}  // namespace inferrt
