#include "backend/cuda/kernels/quantized_gemm.h"

#include <algorithm>

#include "backend/cuda/cuda_check.h"
#include "ir/error.h"

namespace inferrt::cudakernels {

namespace {

constexpr size_t kMaxPlansPerLayer = 8;  // shapes change only with the input shapes: a handful per signature

uint32_t strideAlignment(int64_t batch, int64_t stride, size_t elementBytes) {
  return batch > 1 ? cublaslt::alignmentOf(static_cast<uint64_t>(stride) * elementBytes) : 256;
}

}  // namespace

uint32_t pointerAlignment(const void* p) { return cublaslt::alignmentOf(reinterpret_cast<uintptr_t>(p)); }

void requireScratchAlignment(const void* scratch) {
  if (pointerAlignment(scratch) < kScratchAlignment)
    fail(ErrorCode::Internal, "scratch memory is not ", kScratchAlignment, "-byte aligned");
}

cublaslt::GemmShape int8GemmShape(const Int8GemmGeometry& g, uint32_t alignA, uint32_t alignB, uint32_t alignD) {
  cublaslt::GemmShape s;
  s.int8 = true;
  s.allowTf32 = false;  // not used by int8 GEMMs; fixed so equal GEMMs compare equal
  s.transA = false;
  s.transB = true;  // B is stored [n, k]: with the descriptors' operand swap, cuBLASLt's "TN"
  s.m = g.m;
  s.n = g.n;
  s.k = g.k;
  s.lda = g.lda;
  s.ldb = g.ldb;
  s.ldd = g.ldd;
  s.batch = g.batch;
  if (g.batch > 1) {
    s.strideA = g.strideA;
    s.strideB = g.strideB;
    s.strideD = g.strideD;
  }
  s.alignA = std::min(alignA, strideAlignment(g.batch, g.strideA, 1));
  s.alignB = std::min(alignB, strideAlignment(g.batch, g.strideB, 1));
  s.alignD = std::min(alignD, strideAlignment(g.batch, g.strideD, sizeof(int32_t)));
  return s;
}

std::shared_ptr<cublaslt::GemmPlan> Int8GemmPlans::planFor(const cublaslt::GemmShape& shape, const CudaLaunchEnv& env) {
  for (const auto& [s, plan] : plans_)
    if (s == shape) return plan;
  if (plans_.size() >= kMaxPlansPerLayer) plans_.clear();
  // Null when cuBLASLt has no int8 algorithm for the shape; other cuBLASLt failures throw (CUDA_ERROR).
  plans_.emplace_back(shape, cublaslt::planGemm(shape, env.blasLt, env.device));
  return plans_.back().second;
}

Int8GemmPlans& int8GemmPlans(CudaKernelArgs& args, std::unique_ptr<CudaKernelCache>& local) {
  std::unique_ptr<CudaKernelCache>& slot = args.cache ? *args.cache : local;
  auto* plans = dynamic_cast<Int8GemmPlans*>(slot.get());
  if (!plans) {
    slot = std::make_unique<Int8GemmPlans>();
    plans = static_cast<Int8GemmPlans*>(slot.get());
  }
  return *plans;
}

size_t int8GemmWorkspace(const cublaslt::GemmPlan* plan) { return plan ? cublaslt::gemmWorkspaceSize(*plan) : 0; }

void runInt8Gemm(cublaslt::GemmPlan* plan, const Int8GemmGeometry& g, const int8_t* a, const int8_t* b, int32_t* d,
                 void* workspace, const CudaLaunchEnv& env) {
  if (plan) {
    cublaslt::GemmPointers call;
    call.a = a;
    call.b = b;
    call.d = d;
    cublaslt::runGemm(*plan, env.blasLt, {call}, workspace, env.stream);
    return;
  }
  if (!launchInt8GemmFallback(a, b, d, g, env.stream))
    fail(ErrorCode::Internal, "int8 GEMM: bad fallback arguments (M=", g.m, " N=", g.n, " K=", g.k, ")");
  INFERRT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace inferrt::cudakernels
