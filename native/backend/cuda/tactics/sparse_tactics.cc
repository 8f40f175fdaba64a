// Build-time sparse-weight tactic selection (TensorRT's kSPARSE_WEIGHTS): for each MatMul layer (and 1x1
// channels-last Convolution: a plain GEMM; and QuantizedMatMul: an int8 GEMM) whose constant weight is 2:4 along the
// reduction dimension, at the first profile's opt shapes, cuSPARSELt compresses the weight, each of its kernel
// configurations is timed, and the fastest is compared with the dense cuBLASLt GEMM (cuDNN convolution, cuBLASLt
// int8 GEMM, or cuDNN's fused int8 graph for fp16-engine QuantizedMatMuls) the layer would otherwise run; the layer
// goes sparse only when that is faster. The compressed weight and the configuration go into the plan.
// Identical GEMMs are timed once. (Our own sweep rather than cusparseLtMatmulSearch: the sweep times exactly the
// plans a load makes, with CUDA events like the dense tuner; and on an H100 with cuSPARSELt 0.8.0 the search itself
// stopped on an illegal instruction, as did configurations 36-49 of each BERT-large GEMM.)
// A tanh GELU that the dense GEMM applies in cuBLASLt's epilogue costs the sparse path a pass of its own
// (cuSPARSELt 0.8 has GELU epilogues for int8 and fp8 outputs only): that pass is timed and counted on its side.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_stream.h"
#include "backend/cuda/device_memory.h"
#include "backend/cuda/executor/cuda_engine_resources.h"
#include "backend/cuda/executor/library_handles.h"
#include "backend/cuda/kernels/cublaslt_tuning.h"
#include "backend/cuda/kernels/cudnn_convolution.h"
#include "backend/cuda/kernels/matmul_gemm.h"
#include "backend/cuda/kernels/matmul_launch.h"
#include "backend/cuda/kernels/cudnn_int8_convolution.h"
#include "backend/cuda/kernels/quantized_gemm.h"
#include "backend/cuda/kernels/quantized_launch.h"
#include "backend/cuda/kernels/quantized_matmul_cudnn.h"
#include "backend/cuda/scoped_device.h"
#include "backend/cuda/sparse/sparse_matmul.h"
#include "ir/error.h"
#include "ir/gemm_layers.h"
#include "ir/half.h"
#include "runtime/cuda_hooks.h"
#include "runtime/shape_resolution.h"

namespace inferrt {

namespace {

constexpr int kWarmupRuns = 3;
constexpr int kTimedRuns = 15;
// Kernel configurations timed per distinct sparse GEMM (each plan takes ~0.5 s). On an H100 (cuSPARSELt 0.8.0) none
// of ids 16-35 beat the best of 0-15 for any BERT-large GEMM, and ids 36-49 died with an illegal instruction.
constexpr int32_t kMaxConfigs = 16;
constexpr int kSweepWarmupRuns = 1;
constexpr int kSweepRuns = 3;
constexpr size_t kDenseLinesInLog = 5;
// Sparse must beat dense by this much: closer times are within the noise, and dense needs no second weight copy.
constexpr double kMinGain = 1.02;

// Pseudo-random fp16 values in [-0.5, 0.5).
std::vector<uint16_t> randomHalfValues(int64_t elements, uint32_t seed) {
  std::vector<uint16_t> host(static_cast<size_t>(elements));
  uint32_t state = seed;
  for (uint16_t& h : host) {
    state = state * 1664525u + 1013904223u;
    h = floatToHalf(static_cast<float>(state >> 8) / static_cast<float>(1u << 24) - 0.5f);
  }
  return host;
}

// Pseudo-random int8 values in [-128, 127] (operands of the int8 GEMMs; exact int32 sums, any values do).
std::vector<uint8_t> randomInt8Values(int64_t elements, uint32_t seed) {
  std::vector<uint8_t> host(static_cast<size_t>(elements));
  uint32_t state = seed;
  for (uint8_t& b : host) {
    state = state * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(state >> 24);
  }
  return host;
}

// Random operand bytes of `elements` values of the GEMM's operand type.
std::vector<uint8_t> randomOperandBytes(sparselt::SparseType type, int64_t elements, uint32_t seed) {
  if (type == sparselt::SparseType::Int8) return randomInt8Values(elements, seed);
  const std::vector<uint16_t> halves = randomHalfValues(elements, seed);
  std::vector<uint8_t> bytes(halves.size() * 2);
  if (!bytes.empty()) std::memcpy(bytes.data(), halves.data(), bytes.size());
  return bytes;
}

// Device memory holding them (operands of the dense GEMM and convolution).
std::unique_ptr<DeviceMemory> randomHalves(int64_t elements, int device, uint32_t seed) {
  auto memory = std::make_unique<DeviceMemory>(static_cast<size_t>(elements) * 2, device);
  const std::vector<uint16_t> host = randomHalfValues(elements, seed);
  if (elements > 0)
    INFERRT_CUDA_CHECK(cudaMemcpy(memory->data(), host.data(), host.size() * 2, cudaMemcpyHostToDevice));
  return memory;
}

// Median milliseconds of `runs` enqueues of `launch` on `stream`, after `warmup` untimed ones.
template <typename Launch>
double medianMs(cudaStream_t stream, int warmup, int runs, Launch launch) {
  for (int i = 0; i < warmup; ++i) launch();
  std::vector<cudaEvent_t> events(static_cast<size_t>(runs) + 1);
  for (cudaEvent_t& e : events) INFERRT_CUDA_CHECK(cudaEventCreate(&e));
  INFERRT_CUDA_CHECK(cudaEventRecord(events[0], stream));
  for (int i = 0; i < runs; ++i) {
    launch();
    INFERRT_CUDA_CHECK(cudaEventRecord(events[static_cast<size_t>(i) + 1], stream));
  }
  INFERRT_CUDA_CHECK(cudaStreamSynchronize(stream));
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    float t = 0;
    INFERRT_CUDA_CHECK(cudaEventElapsedTime(&t, events[static_cast<size_t>(i)], events[static_cast<size_t>(i) + 1]));
    ms.push_back(t);
  }
  for (cudaEvent_t e : events) ignoreCudaError(cudaEventDestroy(e));
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// What one distinct sparse GEMM measured: its algorithm and time, and the dense GEMM's time.
struct SparseTiming {
  bool ok = false;
  std::string failure;  // when not ok
  sparselt::SparseAlgo algo;
  int32_t configs = 0;  // kernel configurations timed
  double sparseMs = 0, denseMs = 0;
  double geluPassMs = 0;  // counted in sparseMs: the GELU pass the sparse path adds where dense fuses it
  double epiloguePassMs = 0;  // counted in sparseMs: an INT8 layer's epilogue pass, where dense fuses it (cuDNN)
};

// A dense GEMM's time, and whether it applies the layer's whole epilogue (bias, activation) inside cuBLASLt.
struct DenseTiming {
  double ms = 0;
  bool wholeEpilogue = false;
};

// The dense cuBLASLt GEMM's time: the layer's tactic's when the tactic stage timed it, else the heuristic's
// first choice timed here. Only the first GEMM of gemmShapesToTry carries the whole epilogue (the others leave it
// to our epilogue kernel).
DenseTiming denseTime(cublaslt::GemmTimer& timer, const cudakernels::MatMulGemm& derived, const LayerTactic* tactic,
                      int device) {
  if (tactic && tactic->timeMs > 0) return {tactic->timeMs, tactic->gemmKey == cublaslt::gemmKey(derived.shape)};
  const cublaslt::GemmShape& s = derived.shape;
  auto a = randomHalves(s.m * s.k, device, 11);
  auto b = randomHalves(s.k * s.n, device, 12);
  auto bias = randomHalves(s.n, device, 13);
  DeviceMemory d(static_cast<size_t>(s.m * s.n) * 2, device);
  DeviceMemory workspace(cublaslt::kGemmMaxWorkspace, device);
  const std::vector<cublaslt::GemmShape> shapes = cudakernels::gemmShapesToTry(derived);
  for (size_t i = 0; i < shapes.size(); ++i) {
    const cublaslt::GemmShape& shape = shapes[i];
    cublaslt::GemmPointers call{a->data(), b->data(), d.data(), shape.hasBias() ? bias->data() : nullptr};
    const std::vector<cublaslt::TimedAlgo> timed =
        timer.timeCandidates(shape, {call}, workspace.data(), 1, kWarmupRuns, kTimedRuns);
    if (!timed.empty() && timed[0].ms >= 0) return {timed[0].ms, i == 0};
  }
  return {};
}

// The in-place tanh-GELU pass the sparse path runs after its GEMM (sparse_layers.cc), on [m, n] fp16.
double geluPassTime(const sparselt::SparseGemmShape& s, int device, CudaStream& stream) {
  int multiProcessors = 0;
  INFERRT_CUDA_CHECK(cudaDeviceGetAttribute(&multiProcessors, cudaDevAttrMultiProcessorCount, device));
  auto y = randomHalves(s.m * s.n, device, 51);
  return medianMs(stream.handle(), kWarmupRuns, kTimedRuns, [&] {
    if (!cudakernels::launchGemmEpilogue(y->data(), true, y->data(), true, nullptr, s.m * s.n, s.n,
                                         cudakernels::GemmActivation::GeluTanh, multiProcessors, stream.handle()))
      fail(ErrorCode::Internal, "sparse tactics: bad GELU pass arguments");
  });
}

// The dense cuDNN convolution a 1x1 channels-last layer runs otherwise (x NHWC, `s` its GEMM view), timed with
// its fused epilogue (or plain, where cuDNN declines the fused call); 0 without cuDNN.
double denseConvolutionTime(const sparselt::SparseGemmShape& s, const Dims& x, bool allowTf32, int device,
                            CudaStream& stream) {
  if (!cudnnconv::kBuiltWithCudnn) return 0;
  LibraryHandles handles(device, stream.handle(), false);  // cuDNN bound to the stream
  cudnnconv::ConvProblem p;
  p.half = true;
  p.allowTf32 = allowTf32;
  p.channelsLast = true;
  p.identityEpilogue = !s.relu && (s.bias || s.residual);
  p.batch = x[0];
  p.channels = s.k;
  p.outChannels = s.n;
  p.in[0] = p.out[0] = x[1];
  p.in[1] = p.out[1] = x[2];
  std::shared_ptr<const cudnnconv::ConvPlan> plan = cudnnconv::planConvolution(p, handles.cudnn(), device);
  auto in = randomHalves(s.m * s.k, device, 31);
  auto w = randomHalves(s.n * s.k, device, 32);
  auto z = randomHalves(s.residual ? s.m * s.n : 0, device, 33);
  auto bias = randomHalves(s.n, device, 34);
  DeviceMemory y(static_cast<size_t>(s.m * s.n) * 2, device);
  DeviceMemory workspace(cudnnconv::convolutionWorkspaceSize(*plan), device);
  const bool fused = s.relu || s.residual || s.bias;
  return medianMs(stream.handle(), kWarmupRuns, kTimedRuns, [&] {
    if (fused && cudnnconv::runConvolutionBiasActivation(*plan, handles.cudnn(), in->data(), w->data(),
                                                         s.residual ? z->data() : nullptr, bias->data(), s.relu,
                                                         y.data(), workspace.data()))
      return;
    cudnnconv::runConvolution(*plan, handles.cudnn(), in->data(), w->data(), y.data(), false, workspace.data());
  });
}

// The dense int8 GEMM a QuantizedMatMul runs otherwise, as quantized.cc runs it at these dims (K and N multiples of
// 32 here: no padded copies): cuBLASLt's int8 "TN" GEMM with the plan its heuristic gives (the fallback kernel
// where it has none), exact int32 sums into [m, n]. No tactic stage times int8 GEMMs, so it is timed here. The
// dequantizing epilogue is left out: it runs after either GEMM alike.
double denseInt8Time(const sparselt::SparseGemmShape& s, int device, CudaStream& stream) {
  LibraryHandles handles(device, stream.handle(), false);
  CudaLaunchEnv env;
  env.stream = stream.handle();
  env.device = device;
  env.blasLt = handles.blasLt();
  cudakernels::Int8GemmGeometry g;
  g.m = s.m;
  g.n = s.n;
  g.k = s.k;
  g.lda = g.ldb = s.k;
  g.ldd = s.n;
  // Device allocations, arena offsets and scratch blocks are all 256-byte aligned, as the layer's operands are.
  const uint32_t aligned = static_cast<uint32_t>(cudakernels::kScratchAlignment);
  cudakernels::Int8GemmPlans plans;
  const std::shared_ptr<cublaslt::GemmPlan> plan =
      plans.planFor(cudakernels::int8GemmShape(g, aligned, aligned, aligned), env);
  const std::vector<uint8_t> aHost = randomInt8Values(s.m * s.k, 41), wHost = randomInt8Values(s.n * s.k, 42);
  DeviceMemory a(aHost.size(), device), w(wHost.size(), device);
  INFERRT_CUDA_CHECK(cudaMemcpy(a.data(), aHost.data(), aHost.size(), cudaMemcpyHostToDevice));
  INFERRT_CUDA_CHECK(cudaMemcpy(w.data(), wHost.data(), wHost.size(), cudaMemcpyHostToDevice));
  DeviceMemory d(static_cast<size_t>(s.m * s.n) * sizeof(int32_t), device);
  DeviceMemory workspace(cudakernels::int8GemmWorkspace(plan.get()), device);
  return medianMs(stream.handle(), kWarmupRuns, kTimedRuns, [&] {
    cudakernels::runInt8Gemm(plan.get(), g, static_cast<const int8_t*>(a.data()), static_cast<const int8_t*>(w.data()),
                             static_cast<int32_t*>(d.data()), workspace.data(), env);
  });
}

// An fp16-engine QuantizedMatMul's dense route where cuDNN takes it (quantized_matmul_cudnn.h): the fused graph
// timed whole, and the epilogue pass the sparse path runs after its int32 sums (y, then its int8 values with
// output_scale: what quantized.cc runs). Null where the route does not take the layer or cuDNN has no engine for it
// (dense is then the cuBLASLt int8 GEMM with the same epilogue pass as sparse: denseInt8Time).
struct FusedInt8Timing {
  double denseMs = 0, epiloguePassMs = 0;
};
std::optional<FusedInt8Timing> fusedInt8Time(const Layer& layer, const sparselt::SparseGemmShape& s, int device,
                                            CudaStream& stream) {
  const GemmActivation act = gemmActivationOf(layer);
  const bool quantizes = layer.attrs.has("output_scale"), int8Only = quantizes && layer.outputs.size() == 1;
  const bool halfY = layer.attrs.getInt("half_output", 0) == 1;
  if ((!halfY && !int8Only) || !cudakernels::cudnnTakesQuantizedMatMul(act, s.k, s.n)) return std::nullopt;
  const float outputScale = quantizes ? static_cast<float>(layer.attrs.getFloat("output_scale")) : 0.0f;
  const bool bias = layer.inputs.size() > 3 && layer.inputs[3] >= 0;
  LibraryHandles handles(device, stream.handle(), false);  // cuDNN bound to the stream
  int multiProcessors = 0;
  INFERRT_CUDA_CHECK(cudaDeviceGetAttribute(&multiProcessors, cudaDevAttrMultiProcessorCount, device));
  const std::vector<uint8_t> aHost = randomInt8Values(s.m * s.k, 41), wHost = randomInt8Values(s.n * s.k, 42);
  DeviceMemory a(aHost.size(), device), w(wHost.size(), device), channel(static_cast<size_t>(s.n) * 4, device);
  INFERRT_CUDA_CHECK(cudaMemcpy(a.data(), aHost.data(), aHost.size(), cudaMemcpyHostToDevice));
  INFERRT_CUDA_CHECK(cudaMemcpy(w.data(), wHost.data(), wHost.size(), cudaMemcpyHostToDevice));
  INFERRT_CUDA_CHECK(cudaMemset(channel.data(), 0, channel.size()));  // scale and bias: zeros time alike
  const size_t outputs = static_cast<size_t>(s.m * s.n);
  DeviceMemory acc(outputs * 4, device), y(outputs * 2, device), q(outputs, device);
  const cudnnint8::Int8ConvProblem p =
      cudakernels::quantizedMatMulProblem(s.m, s.n, s.k, bias, act, outputScale, int8Only);
  // Searched on this short-lived handle; the choice is remembered for the engine's contexts.
  const std::shared_ptr<const cudnnint8::Int8ConvPlan> plan =
      cudnnint8::searchInt8ConvolutionPlan(p, handles.cudnn(), device);
  if (!plan) return std::nullopt;  // no cuDNN engine: the layer runs cuBLASLt's GEMM
  DeviceMemory workspace(cudnnint8::workspaceSize(*plan), device);
  const auto* scale = static_cast<const float*>(channel.data());
  FusedInt8Timing t;
  t.denseMs = medianMs(stream.handle(), kWarmupRuns, kTimedRuns, [&] {
    cudnnint8::runInt8Convolution(*plan, handles.cudnn(), a.data(), w.data(), scale, bias ? scale : nullptr, nullptr,
                                  int8Only ? q.data() : y.data(), int8Only ? nullptr : q.data(), workspace.data());
  });
  // The sparse path's pass: int8-only, fp32 y in place over the sums; else fp16 y; then the int8 values.
  void* yPass = int8Only ? acc.data() : y.data();
  t.epiloguePassMs = medianMs(stream.handle(), kWarmupRuns, kTimedRuns, [&] {
    bool ok = cudakernels::launchInt8RowsEpilogue(static_cast<const int32_t*>(acc.data()), s.n, scale,
                                                  bias ? scale : nullptr, yPass, !int8Only, s.m, s.n, act,
                                                  multiProcessors, stream.handle());
    if (ok && quantizes)
      ok = cudakernels::launchQuantizeInt8ByValue(yPass, !int8Only, outputScale, static_cast<int8_t*>(q.data()),
                                                  s.m * s.n, multiProcessors, stream.handle());
    if (!ok) fail(ErrorCode::Internal, "sparse tactics: bad INT8 epilogue arguments");
  });
  return t;
}

SparseTiming timeSparse(const sparselt::Handle& handle, const sparselt::SparseGemmShape& shape,
                        const std::vector<uint8_t>& compressedWeight, CudaStream& stream) {
  SparseTiming out;
  const int device = handle.device();
  // Every operand the sweep hands cuSPARSELt has zeroed slack after it (sparse_gemm.h): some of its kernels read
  // past the end of a small operand, and the sweep runs every kernel configuration the library offers.
  // Operands of the shape's type (fp16 or int8; bias and residual are fp16 and exist for fp16 GEMMs only).
  auto padded = [&](int64_t elements, uint32_t seed, sparselt::SparseType type) {
    const std::vector<uint8_t> values = randomOperandBytes(type, elements, seed);
    return sparselt::devicePadded(values.data(), values.size(), device, stream.handle());
  };
  auto x = padded(shape.m * shape.k, 21, shape.type);
  auto bias = padded(shape.bias ? shape.n : 0, 23, sparselt::SparseType::Half);
  auto residual = padded(shape.residual ? shape.m * shape.n : 0, 24, sparselt::SparseType::Half);
  auto y = sparselt::devicePadded(nullptr, static_cast<size_t>(shape.m * shape.n) * sparselt::outputBytes(shape.type),
                                  device, stream.handle());
  auto compressed =
      sparselt::devicePadded(compressedWeight.data(), compressedWeight.size(), device, stream.handle());
  const void* biasPointer = shape.bias ? bias->data() : nullptr;

  std::shared_ptr<sparselt::SparseGemmPlan> first = sparselt::planSparseGemm(handle, shape, nullptr, biasPointer);
  if (!first) {
    out.failure = "cuSPARSELt has no kernel for " + sparselt::sparseGemmKey(shape);
    return out;
  }
  // Each kernel configuration the library offers, timed briefly as it will run (a fresh plan with that id); the
  // fastest is then timed like the dense GEMM.
  const int32_t configs = std::min(sparselt::configCount(*first), kMaxConfigs);
  std::unique_ptr<DeviceMemory> workspace;
  std::shared_ptr<sparselt::SparseGemmPlan> best;
  auto timePlan = [&](const sparselt::SparseGemmPlan& plan, int warmup, int runs) {
    const size_t bytes = sparselt::sparseWorkspaceSize(plan);
    if (!workspace || workspace->size() < bytes) workspace = std::make_unique<DeviceMemory>(bytes, device);
    return medianMs(stream.handle(), warmup, runs, [&] {
      sparselt::runSparseGemm(plan, compressed->data(), x->data(), y->data(), workspace->data(), 1.0f, stream.handle(),
                              residual->data());
    });
  };
  for (int32_t id = 0; id < std::max(configs, 1); ++id) {
    const sparselt::SparseAlgo algo{id, 1, 0, 1};
    std::shared_ptr<sparselt::SparseGemmPlan> plan = sparselt::planSparseGemm(handle, shape, &algo, biasPointer);
    if (!plan) continue;
    const double ms = timePlan(*plan, kSweepWarmupRuns, kSweepRuns);
    if (!best || ms < out.sparseMs) {
      best = plan;
      out.sparseMs = ms;
      out.algo = algo;
    }
  }
  if (best) {
    out.ok = true;
    out.configs = configs;
    out.sparseMs = timePlan(*best, kWarmupRuns, kTimedRuns);
  }
  if (!out.ok) out.failure = "cuSPARSELt could not plan " + sparselt::sparseGemmKey(shape);
  return out;
}

std::string formatMs(double ms) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f ms", ms);
  return text;
}

}  // namespace

void selectSparseTactics(const Network& network, const BuildConfig& config, const std::vector<LayerTactic>& tactics,
                         int device, std::vector<LayerSparsity>& records, std::vector<std::string>& log,
                         const std::function<void(size_t done, size_t total)>& progress) {
  size_t eligible = 0;
  for (const LayerSparsity& r : records) eligible += r.eligible ? 1 : 0;
  if (eligible == 0) return;
  if (!sparselt::available()) {
    for (LayerSparsity& r : records)
      if (r.eligible) r.note = "this build has no cuSPARSELt: dense";
    log.push_back("sparse weights: " + std::to_string(eligible) +
                  " eligible layers stay dense: inferrt was built without cuSPARSELt (set CUSPARSELT_ROOT and rebuild)");
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<Dims> optDims;
  for (int t : network.inputs()) optDims.push_back(config.profiles.at(0).at(network.tensor(t).name).opt);
  const std::vector<TensorDesc> descs = resolveShapes(network, optDims);
  const std::vector<LayerPlacement> placements = planLayerPlacement(network);
  std::vector<const LayerTactic*> tacticOf(network.layers().size(), nullptr);
  for (const LayerTactic& t : tactics)
    if (t.layer < tacticOf.size()) tacticOf[t.layer] = &t;

  ScopedDevice on(device);
  sparselt::Handle handle(device);
  CudaStream stream(device);
  cublaslt::GemmTimer timer(device);
  const uint64_t version = sparselt::loadedVersion();
  std::map<std::string, SparseTiming> timings;  // by sparse GEMM key
  size_t done = 0, madeSparse = 0, configsTimed = 0, geluPasses = 0;
  double denseTotal = 0, chosenTotal = 0;
  std::vector<std::string> sparseNames;
  for (LayerSparsity& r : records) {
    if (!r.eligible) continue;
    if (progress) progress(done, eligible);
    ++done;
    const Layer& layer = network.layers()[r.layer];
    const bool conv = layer.kind == "Convolution";
    const bool int8 = layer.kind == "QuantizedMatMul";
    if (!conv && !int8 && layer.kind != "MatMul") {
      r.note = "no sparse " + layer.kind + " kernel: dense";
      continue;
    }
    const TensorDesc& a = descs[layer.inputs[0]];
    const TensorDesc& b = descs[layer.inputs[1]];
    const bool hasBias = !int8 && layer.inputs.size() > 2 && layer.inputs[2] >= 0;
    const bool hasResidual = conv && layer.inputs.size() > 3 && layer.inputs[3] >= 0;
    if (!placements[r.layer].onGpu) {
      r.note = "runs on the CPU (" + placements[r.layer].reason + "): dense";
      continue;
    }
    // QuantizedMatMul's operands are int8 (the int8 sparse GEMM); float layers need fp16 storage.
    if (!int8 && storageFor(layer, a.dtype) != DType::Float16) {
      r.note = "the sparse kernel is fp16 only (this layer runs in " + std::string(dtypeName(a.dtype)) + "): dense";
      continue;
    }
    if (!isStatic(a.dims)) {
      r.note = "dynamic dims at the opt shapes: dense";
      continue;
    }
    const sparselt::SparseMatMul sparse =
        conv   ? sparselt::sparseConvolutionOf(layer, a.dims, b.dims, hasBias, hasResidual)
        : int8 ? sparselt::sparseQuantizedMatMulOf(a.dims, b.dims)
               : sparselt::sparseMatMulOf(layer, a.dims, b.dims, hasBias);
    if (!sparse.reason.empty()) {
      r.note = "no sparse kernel at the opt shapes (" + sparse.reason + "): dense";
      continue;
    }
    const Tensor& weight = *network.tensor(layer.inputs[1]).value;
    std::vector<uint8_t> compressed;
    try {
      compressed = sparselt::compressLayerWeight(handle, sparse.shape, layer, weight);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::OutOfMemory) throw;
      r.note = std::string(e.what()) + ": dense";
      continue;
    }
    const std::string key = sparselt::sparseGemmKey(sparse.shape);
    // A tanh GELU's pass is timed on the sparse side (below), so it is part of what was timed (the plan's key leaves
    // activations out); an exact GELU is a pass on both sides alike and times nothing more.
    // An INT8 layer's dense route, and so its timing, depends on its epilogue and outputs too (fusedInt8Time).
    const std::string timingKey =
        key + (sparse.geluAfter == GemmActivation::GeluTanh ? " gelu_tanh" : "") +
        (int8 ? " act " + layer.attrs.getString("activation", "none") +
                    (layer.inputs.size() > 3 && layer.inputs[3] >= 0 ? " bias" : "") + " half " +
                    std::to_string(layer.attrs.getInt("half_output", 0)) + " outputs " +
                    std::to_string(layer.outputs.size()) + (layer.attrs.has("output_scale") ? " scale" : "")
              : "");
    auto found = timings.find(timingKey);
    if (found == timings.end()) {
      SparseTiming t = timeSparse(handle, sparse.shape, compressed, stream);
      if (t.ok && conv) {
        t.denseMs = denseConvolutionTime(sparse.shape, a.dims, config.tf32, device, stream);
      } else if (t.ok && int8) {
        if (const std::optional<FusedInt8Timing> fused = fusedInt8Time(layer, sparse.shape, device, stream)) {
          t.denseMs = fused->denseMs;
          t.epiloguePassMs = fused->epiloguePassMs;
          t.sparseMs += t.epiloguePassMs;
        } else {
          t.denseMs = denseInt8Time(sparse.shape, device, stream);
        }
      } else if (t.ok) {
        const cudakernels::MatMulGemm derived =
            cudakernels::deriveMatMulGemm(layer, a.dims, b.dims, hasBias, true, config.tf32, {});
        const DenseTiming dense = denseTime(timer, derived, tacticOf[r.layer], device);
        t.denseMs = dense.ms;
        // Exact GELU is a pass of our own on both paths; tanh GELU only on the sparse one, where dense fuses it.
        if (sparse.geluAfter == GemmActivation::GeluTanh && dense.wholeEpilogue) {
          t.geluPassMs = geluPassTime(sparse.shape, device, stream);
          t.sparseMs += t.geluPassMs;
        }
      }
      configsTimed += static_cast<size_t>(t.configs);
      found = timings.emplace(timingKey, t).first;
    }
    const SparseTiming& t = found->second;
    if (!t.ok) {
      r.note = t.failure + ": dense";
      continue;
    }
    r.denseMs = t.denseMs;
    r.sparseMs = t.sparseMs;
    geluPasses += t.geluPassMs > 0 ? 1 : 0;
    denseTotal += t.denseMs;
    if (!config.sparseForce && t.denseMs > 0 && t.sparseMs * kMinGain > t.denseMs) {
      r.note = "dense is faster (" + formatMs(t.denseMs) + " vs sparse " + formatMs(t.sparseMs) +
               (t.geluPassMs > 0 ? ", of which its GELU pass " + formatMs(t.geluPassMs) : "") +
               (t.epiloguePassMs > 0 ? ", of which its epilogue pass " + formatMs(t.epiloguePassMs) : "") + ")";
      chosenTotal += t.denseMs;
      continue;
    }
    r.sparse = true;
    r.anyShape = config.sparseForce;
    r.note.clear();
    r.gemmKey = key;
    r.cusparseLtVersion = version;
    r.algConfigId = t.algo.configId;
    r.splitK = t.algo.splitK;
    r.splitKMode = t.algo.splitKMode;
    r.splitKBuffers = t.algo.splitKBuffers;
    r.compressed = std::move(compressed);
    chosenTotal += t.sparseMs;
    ++madeSparse;
    sparseNames.push_back(layer.name);
  }
  if (progress) progress(eligible, eligible);
  size_t denseListed = 0;
  for (const LayerSparsity& r : records) {
    if (!r.eligible || r.sparse || r.note.empty()) continue;
    if (++denseListed > kDenseLinesInLog) continue;
    log.push_back("sparse weights: " + network.layers()[r.layer].name + " stays dense: " + r.note);
  }
  if (denseListed > kDenseLinesInLog)
    log.push_back("sparse weights: and " + std::to_string(denseListed - kDenseLinesInLog) +
                  " more eligible layers stay dense (engine.layers[i].sparsity.note says why)");

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char line[320];
  std::snprintf(line, sizeof(line),
                "sparse weights: %zu of %zu eligible layers went sparse (%zu distinct GEMMs, %zu kernel configurations "
                "timed in %.1f s); their GEMMs at the opt shapes: %.3f ms dense -> %.3f ms chosen",
                madeSparse, eligible, timings.size(), configsTimed, seconds, denseTotal, chosenTotal);
  log.push_back(line);
  if (geluPasses > 0)
    log.push_back("sparse weights: the sparse time of " + std::to_string(geluPasses) +
                  (geluPasses == 1 ? " layer" : " layers") +
                  " with tanh GELU includes the GELU pass the sparse path adds (the dense GEMM fuses it)");
}

}  // namespace inferrt
