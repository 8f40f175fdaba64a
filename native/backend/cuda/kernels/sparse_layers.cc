#include "backend/cuda/kernels/sparse_layers.h"

#include <cstdint>
#include <memory>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/matmul_launch.h"
#include "backend/cuda/kernels/quantized_gemm.h"
#include "backend/cuda/sparse/sparse_matmul.h"
#include "ir/error.h"

namespace inferrt::cudakernels {

namespace {

// The sparse plan of one input-shape signature (kept in the layer's run-plan slot, as the dense path keeps its
// cuBLASLt plan there).
struct SparseLayerCache : CudaKernelCache {
  sparselt::SparseGemmShape shape;
  const void* bias = nullptr;
  std::shared_ptr<sparselt::SparseGemmPlan> plan;  // null: cuSPARSELt has none, run dense
};

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

std::unique_ptr<SparseLayerCache> planFor(const CudaKernelArgs& args, const sparselt::SparseGemmShape& shape,
                                           const void* bias) {
  auto cache = std::make_unique<SparseLayerCache>();
  cache->shape = shape;
  cache->bias = bias;
  const auto& handle = *static_cast<const sparselt::Handle*>(args.env.sparseLt);
  const SparseLayerWeights& w = *args.sparse;
  if (w.hasAlgo && w.gemmKey == sparselt::sparseGemmKey(shape)) {
    const sparselt::SparseAlgo algo{w.algConfigId, w.splitK, w.splitKMode, w.splitKBuffers};
    cache->plan = sparselt::planSparseGemm(handle, shape, &algo, bias);
  }
  if (!cache->plan) cache->plan = sparselt::planSparseGemm(handle, shape, nullptr, bias);
  return cache;
}

// Whether the layer's sparse weight serves this GEMM: one the kernel tiles, and the one the build timed sparse
// faster for (a kernel configuration tuned for one row count can be far slower at another), unless the build
// forced sparse.
bool applies(const CudaKernelArgs& args, const sparselt::SparseMatMul& sparse) {
  if (!sparse.reason.empty()) return false;
  return args.sparse->anyShape || sparselt::sparseGemmKey(sparse.shape) == args.sparse->gemmKey;
}

// The layer's sparse plan for `s` with `bias`, kept in its run-plan slot (or in `local`, which must outlive the
// plan's use, where the executor keeps none); null when there is none: the dense path runs.
const sparselt::SparseGemmPlan* cachedPlan(CudaKernelArgs& args, std::unique_ptr<CudaKernelCache>& local,
                                           const sparselt::SparseGemmShape& s, const void* bias) {
  std::unique_ptr<CudaKernelCache>& slot = args.cache ? *args.cache : local;
  auto* cached = dynamic_cast<SparseLayerCache*>(slot.get());
  // The dense path's plan in the slot: an earlier run of this signature found no sparse plan (shapes and buffer
  // addresses are fixed per signature, so that stays so).
  if (slot && !cached) return nullptr;
  if (!cached || cached->bias != bias || sparselt::sparseGemmKey(cached->shape) != sparselt::sparseGemmKey(s)) {
    slot = planFor(args, s, bias);
    cached = static_cast<SparseLayerCache*>(slot.get());
  }
  if (!cached->plan) {
    slot.reset();  // the dense path's plan goes here instead
    return nullptr;
  }
  return cached->plan.get();
}

// The shared part of the fp16 layers: plan (kept per signature), run, and GELU in place when the layer has it.
bool runSparseGemmLayer(CudaKernelArgs& args, const sparselt::SparseMatMul& sparse, const DeviceTensor& x,
                        const DeviceTensor& out, const DeviceTensor* bias, const DeviceTensor* residual, float alpha) {
  if (!applies(args, sparse)) return false;
  if (!aligned16(x.data) || !aligned16(out.data) || (bias && !aligned16(bias->data)) ||
      (residual && !aligned16(residual->data)))
    return false;

  std::unique_ptr<CudaKernelCache> local;
  const void* biasData = bias ? bias->data : nullptr;
  const sparselt::SparseGemmShape& s = sparse.shape;
  const sparselt::SparseGemmPlan* plan = cachedPlan(args, local, s, biasData);
  if (!plan) return false;

  const size_t workspaceBytes = sparselt::sparseWorkspaceSize(*plan);
  void* workspace = workspaceBytes > 0 ? args.env.scratch(workspaceBytes) : nullptr;
  sparselt::runSparseGemm(*plan, args.sparse->compressed, x.data, out.data, workspace, alpha, args.env.stream,
                          residual ? residual->data : nullptr);
  if (sparse.geluAfter != GemmActivation::None) {
    // GELU in place on the fp16 pre-activation, as the dense path's own epilogue does (matmul_gemm.h).
    if (!launchGemmEpilogue(out.data, true, out.data, true, nullptr, out.numel(), s.n, sparse.geluAfter,
                            args.env.multiProcessors, args.env.stream))
      fail(ErrorCode::Internal, "MatMul: bad epilogue arguments");
    INFERRT_CUDA_CHECK(cudaGetLastError());
  }
  return true;
}

}  // namespace

bool runSparseMatMul(CudaKernelArgs& args, float alpha) {
  if (!args.sparse || !args.env.sparseLt) return false;
  const DeviceTensor& a = *args.inputs[0];
  const DeviceTensor& b = *args.inputs[1];
  const DeviceTensor* bias = args.inputs.size() > 2 ? args.inputs[2] : nullptr;
  if (a.dtype != DType::Float16) return false;
  return runSparseGemmLayer(args, sparselt::sparseMatMulOf(args.layer, a.dims, b.dims, bias != nullptr), a,
                            args.outputs[0], bias, nullptr, alpha);
}

bool runSparseConvolution(CudaKernelArgs& args) {
  if (!args.sparse || !args.env.sparseLt) return false;
  const DeviceTensor& x = *args.inputs[0];
  const DeviceTensor& w = *args.inputs[1];
  const DeviceTensor* bias = args.inputs.size() > 2 ? args.inputs[2] : nullptr;
  const DeviceTensor* residual = args.inputs.size() > 3 ? args.inputs[3] : nullptr;
  if (x.dtype != DType::Float16) return false;
  return runSparseGemmLayer(args,
                            sparselt::sparseConvolutionOf(args.layer, x.dims, w.dims, bias != nullptr, residual != nullptr),
                            x, args.outputs[0], bias, residual, 1.0f);
}

const int32_t* runSparseQuantizedMatMul(CudaKernelArgs& args, bool accMayBeOutput) {
  if (!args.sparse || !args.env.sparseLt) return nullptr;
  const DeviceTensor& a = *args.inputs[0];
  const DeviceTensor& w = *args.inputs[1];
  const DeviceTensor& out = args.outputs[0];
  if (a.dtype != DType::Int8 || w.dtype != DType::Int8) return nullptr;
  const sparselt::SparseMatMul sparse = sparselt::sparseQuantizedMatMulOf(a.dims, w.dims);
  if (!applies(args, sparse) || !aligned16(a.data)) return nullptr;

  std::unique_ptr<CudaKernelCache> local;
  const sparselt::SparseGemmPlan* plan = cachedPlan(args, local, sparse.shape, nullptr);
  if (!plan) return nullptr;

  // The sums go into y itself where it may hold them (float32, the same size as int32) and is aligned for the
  // kernel, else into scratch; scratch also holds the kernel's workspace. One block, carved up.
  const bool accInOutput = accMayBeOutput && aligned16(out.data);
  const sparselt::SparseGemmShape& s = sparse.shape;
  const size_t accBytes = accInOutput ? 0 : scratchBytes(static_cast<size_t>(s.m * s.n) * sizeof(int32_t));
  const size_t workspaceBytes = scratchBytes(sparselt::sparseWorkspaceSize(*plan));
  const size_t total = accBytes + workspaceBytes;
  char* scratch = total ? static_cast<char*>(args.env.scratch(total)) : nullptr;
  if (scratch) requireScratchAlignment(scratch);
  int32_t* acc = accInOutput ? static_cast<int32_t*>(out.data) : reinterpret_cast<int32_t*>(scratch);
  void* workspace = workspaceBytes ? scratch + accBytes : nullptr;
  sparselt::runSparseGemm(*plan, args.sparse->compressed, a.data, acc, workspace, 1.0f, args.env.stream);
  return acc;
}

}  // namespace inferrt::cudakernels
