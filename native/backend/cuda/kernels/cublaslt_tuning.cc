#include "backend/cuda/kernels/cublaslt_tuning.h"

#include <algorithm>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_stream.h"
#include "backend/cuda/kernels/cublaslt_descriptors.h"
#include "ir/error.h"

namespace inferrt::cublaslt {

namespace {

// cublasLtMatmulTile_t and cublasLtMatmulStages_t names by value (values are never reused; later libraries
// append new ones, which are printed as numbers).
const char* const kTiles[] = {"undefined", "8x8",    "8x16",    "16x8",    "8x32",    "16x16",   "32x8",    "8x64",
                              "16x32",     "32x16",  "64x8",    "32x32",   "32x64",   "64x32",   "32x128",  "64x64",
                              "128x32",    "64x128", "128x64",  "64x256",  "128x128", "256x64",  "64x512",  "128x256",
                              "256x128",   "512x64", "64x96",   "96x64",   "96x128",  "128x160", "160x128", "192x128"};
const char* const kStages[] = {"undefined", "16x1", "16x2", "16x3", "16x4",  "16x5",  "16x6",  "32x1",
                               "32x2",      "32x3", "32x4", "32x5", "32x6",  "64x1",  "64x2",  "64x3",
                               "64x4",      "64x5", "64x6", "128x1", "128x2", "128x3", "128x4", "128x5",
                               "128x6",     "32x10", "8x4", "16x10", "8x5",   "16x80", "64x80"};

// A config attribute of any integer width up to 8 bytes (the widths differ between attributes and versions):
// ask for its size first, then read it into the low bytes of a zeroed word (CUDA hosts are little-endian).
bool configValue(const cublasLtMatmulAlgo_t& algo, cublasLtMatmulAlgoConfigAttributes_t attr, uint64_t* out) {
  size_t size = 0;
  if (cublasLtMatmulAlgoConfigGetAttribute(&algo, attr, nullptr, 0, &size) != CUBLAS_STATUS_SUCCESS || size == 0 ||
      size > sizeof(uint64_t))
    return false;
  uint64_t value = 0;
  size_t written = 0;
  if (cublasLtMatmulAlgoConfigGetAttribute(&algo, attr, &value, size, &written) != CUBLAS_STATUS_SUCCESS ||
      written != size)
    return false;
  *out = value;
  return true;
}

template <size_t N>
std::string named(const char* const (&names)[N], uint64_t id) {
  return id < N ? names[id] : "#" + std::to_string(id);
}

}  // namespace

uint64_t loadedCublasLtVersion() { return static_cast<uint64_t>(cublasLtGetVersion()); }

GemmTimer::GemmTimer(int device) {
  cublasLtHandle_t handle = nullptr;
  INFERRT_CUBLAS_CHECK(cublasLtCreate(&handle));
  handle_ = handle;
  try {
    stream_ = std::make_unique<CudaStream>(device);
  } catch (...) {
    cublasLtDestroy(handle);
    throw;
  }
}

GemmTimer::~GemmTimer() {
  if (stream_) stream_->blockUntilIdle();
  for (cudaEvent_t e : events_) ignoreCudaError(cudaEventDestroy(e));
  if (handle_) cublasLtDestroy(static_cast<cublasLtHandle_t>(handle_));
}

bool GemmTimer::firstChoice(const GemmShape& shape, GemmAlgoWords* algo) {
  GemmDescriptors d(shape);
  const auto results = gemmHeuristic(static_cast<cublasLtHandle_t>(handle_), d, shape, 1);
  if (results.empty()) return false;
  *algo = algoWords(results[0].algo);
  return true;
}

bool GemmTimer::check(const GemmShape& shape, const GemmAlgoWords& algo) {
  GemmDescriptors d(shape);
  size_t workspace = 0;
  return gemmAlgoCheck(static_cast<cublasLtHandle_t>(handle_), d, algoFromWords(algo), &workspace);
}

std::vector<TimedAlgo> GemmTimer::timeCandidates(const GemmShape& shape, const std::vector<GemmPointers>& calls,
                                                 void* workspace, int count, int warmup, int runs) {
  const auto handle = static_cast<cublasLtHandle_t>(handle_);
  const cudaStream_t stream = stream_->handle();
  while (events_.size() < static_cast<size_t>(runs) + 1) {
    cudaEvent_t e = nullptr;
    INFERRT_CUDA_CHECK(cudaEventCreate(&e));
    events_.push_back(e);
  }
  GemmDescriptors d(shape);
  std::vector<TimedAlgo> timed;
  for (const cublasLtMatmulHeuristicResult_t& candidate : gemmHeuristic(handle, d, shape, count)) {
    TimedAlgo t;
    t.algo = algoWords(candidate.algo);
    // cuBLASLt refusing an algorithm (a failed status, before any launch) only drops that candidate; CUDA
    // runtime failures (events, synchronization) still fail the build.
    auto run = [&] {
      try {
        enqueueGemm(handle, d, candidate.algo, calls, workspace, candidate.workspaceSize, stream, 1.0f);
        return true;
      } catch (const Error&) {
        return false;
      }
    };
    bool ok = true;
    for (int i = 0; i < warmup && ok; ++i) ok = run();
    if (ok) INFERRT_CUDA_CHECK(cudaEventRecord(events_[0], stream));
    for (int i = 0; i < runs && ok; ++i) {
      ok = run();
      if (ok) INFERRT_CUDA_CHECK(cudaEventRecord(events_[i + 1], stream));
    }
    INFERRT_CUDA_CHECK(cudaStreamSynchronize(stream));
    if (ok) {
      std::vector<float> ms(static_cast<size_t>(runs));
      for (int i = 0; i < runs; ++i) INFERRT_CUDA_CHECK(cudaEventElapsedTime(&ms[i], events_[i], events_[i + 1]));
      std::nth_element(ms.begin(), ms.begin() + runs / 2, ms.end());
      t.ms = ms[runs / 2];
    }
    timed.push_back(t);
  }
  return timed;
}

std::string describeAlgo(const GemmAlgoWords& words) {
  const cublasLtMatmulAlgo_t algo = algoFromWords(words);
  uint64_t id = 0, tile = 0, stages = 0, splitK = 0, reduction = 0, swizzle = 0, custom = 0;
  if (!configValue(algo, CUBLASLT_ALGO_CONFIG_ID, &id)) return "cuBLASLt algorithm (undecodable)";
  configValue(algo, CUBLASLT_ALGO_CONFIG_TILE_ID, &tile);
  configValue(algo, CUBLASLT_ALGO_CONFIG_STAGES_ID, &stages);
  configValue(algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitK);
  configValue(algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &reduction);
  configValue(algo, CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING, &swizzle);
  configValue(algo, CUBLASLT_ALGO_CONFIG_CUSTOM_OPTION, &custom);
  return "algo " + std::to_string(static_cast<int32_t>(id)) + ", tile " + named(kTiles, tile) + ", stages " +
         named(kStages, stages) + ", split-K " + std::to_string(splitK) + ", reduction " + std::to_string(reduction) +
         ", swizzle " + std::to_string(swizzle) + ", custom " + std::to_string(custom);
}

}  // namespace inferrt::cublaslt
