// cuBLASLt behind GemmShape: descriptors, heuristic algorithm choice, a plan cache and the enqueue. Failures
// become CUDA_ERROR (OUT_OF_MEMORY for allocation failures) naming the call and cuBLAS's status; never aborts.
#include "backend/cuda/kernels/cublaslt_gemm.h"

#include <cublasLt.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "ir/error.h"

namespace inferrt::cublaslt {

namespace {

void checkCublas(cublasStatus_t status, const char* call) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  const ErrorCode code = status == CUBLAS_STATUS_ALLOC_FAILED ? ErrorCode::OutOfMemory : ErrorCode::CudaError;
  fail(code, call, " failed: ", cublasLtGetStatusName(status), " (", cublasLtGetStatusString(status), ")");
}

#define INFERRT_CUBLAS_CHECK(call) checkCublas((call), #call)

template <typename T>
void setDesc(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr, const T& value) {
  INFERRT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, attr, &value, sizeof(value)));
}

template <typename T>
void setLayout(cublasLtMatrixLayout_t layout, cublasLtMatrixLayoutAttribute_t attr, const T& value) {
  INFERRT_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(layout, attr, &value, sizeof(value)));
}

template <typename T>
void setPref(cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attr, const T& value) {
  INFERRT_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, attr, &value, sizeof(value)));
}

std::string describe(const GemmShape& s) {
  return std::string(s.half ? "fp16" : (s.allowTf32 ? "fp32 (tf32)" : "fp32")) + " GEMM M=" + std::to_string(s.m) +
         " N=" + std::to_string(s.n) + " K=" + std::to_string(s.k) + " batch=" + std::to_string(s.batch) +
         (s.transA ? " transA" : "") + (s.transB ? " transB" : "");
}

// Everything the descriptors and the algorithm depend on; alpha is not among them (runGemm passes it per call).
std::vector<int64_t> keyOf(const GemmShape& s, int device) {
  const bool bias = s.epilogue == GemmEpilogue::Bias || s.epilogue == GemmEpilogue::ReluBias;
  return {device,   s.half,    s.outFloat32, !s.half && s.allowTf32, s.transA, s.transB,
          s.m,      s.n,       s.k,          s.lda,                  s.ldb,    s.ldd,
          s.batch,  s.strideA, s.strideB,    s.strideD,              static_cast<int64_t>(s.epilogue),
          s.alignA, s.alignB,  s.alignD,     bias ? s.alignBias : 0};
}

}  // namespace

class GemmPlan {
 public:
  GemmPlan() = default;
  GemmPlan(const GemmPlan&) = delete;
  GemmPlan& operator=(const GemmPlan&) = delete;
  ~GemmPlan() {  // destroy failures are ignored: nothing useful can be done in a destructor
    if (layoutA) cublasLtMatrixLayoutDestroy(layoutA);
    if (layoutB) cublasLtMatrixLayoutDestroy(layoutB);
    if (layoutD) cublasLtMatrixLayoutDestroy(layoutD);
    if (desc) cublasLtMatmulDescDestroy(desc);
  }

  cublasLtMatmulDesc_t desc = nullptr;
  // cuBLASLt's operands (column-major): layoutA describes our B, layoutB our A; see planGemm.
  cublasLtMatrixLayout_t layoutA = nullptr, layoutB = nullptr, layoutD = nullptr;
  cublasLtMatmulAlgo_t algo{};
  size_t workspace = 0;
  bool hasBias = false;
  std::mutex mutex;  // the bias pointer lives in `desc`: set it and enqueue under this lock (plans are shared)
};

std::shared_ptr<GemmPlan> planGemm(const GemmShape& s, void* blasLtHandle, int device) {
  if (!blasLtHandle) fail(ErrorCode::Internal, "MatMul: no cuBLASLt handle");
  if (s.m <= 0 || s.n <= 0 || s.k <= 0 || s.batch < 1 || s.batch > INT32_MAX)
    fail(ErrorCode::Internal, "MatMul: bad GEMM shape ", describe(s));
  const bool bias = s.epilogue == GemmEpilogue::Bias || s.epilogue == GemmEpilogue::ReluBias;
  // The bias vector has D's type; an fp32 D is only asked for with fp16 inputs when our own kernel adds the bias.
  if (bias && s.half && s.outFloat32) fail(ErrorCode::Internal, "MatMul: fp16 bias with an fp32 GEMM output");

  static std::mutex cacheMutex;
  static std::map<std::vector<int64_t>, std::shared_ptr<GemmPlan>> cache;
  const std::vector<int64_t> key = keyOf(s, device);
  std::lock_guard<std::mutex> lock(cacheMutex);
  auto found = cache.find(key);
  if (found != cache.end()) return found->second;

  auto plan = std::make_shared<GemmPlan>();
  const cudaDataType_t abType = s.half ? CUDA_R_16F : CUDA_R_32F;
  const cudaDataType_t dType = s.half && !s.outFloat32 ? CUDA_R_16F : CUDA_R_32F;
  // fp16 accumulates in fp32 (the interface contract); fp32 may use TF32 tensor cores unless strict.
  const cublasComputeType_t compute =
      !s.half && s.allowTf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  INFERRT_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan->desc, compute, CUDA_R_32F));

  // Our tensors are row-major; cuBLASLt's default order is column-major, where row-major D (M x N) reads as
  // D^T (N x M). So we compute D^T = op(B)^T * op(A)^T: cuBLASLt's A is our B and its B is our A, and every
  // layout keeps the default column order (CUBLASLT_ORDER_ROW is supported by fewer kernels and epilogues).
  // The bias then runs along D^T's rows (length N), which is exactly "added along the last output dim".
  const int32_t opA = s.transB ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int32_t opB = s.transA ? CUBLAS_OP_T : CUBLAS_OP_N;
  setDesc(plan->desc, CUBLASLT_MATMUL_DESC_TRANSA, opA);
  setDesc(plan->desc, CUBLASLT_MATMUL_DESC_TRANSB, opB);
  INFERRT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan->layoutA, abType, static_cast<uint64_t>(s.transB ? s.k : s.n),
                                                  static_cast<uint64_t>(s.transB ? s.n : s.k), s.ldb));
  INFERRT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan->layoutB, abType, static_cast<uint64_t>(s.transA ? s.m : s.k),
                                                  static_cast<uint64_t>(s.transA ? s.k : s.m), s.lda));
  INFERRT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan->layoutD, dType, static_cast<uint64_t>(s.n),
                                                  static_cast<uint64_t>(s.m), s.ldd));
  if (s.batch > 1) {
    const int32_t count = static_cast<int32_t>(s.batch);
    const int64_t strides[3] = {s.strideB, s.strideA, s.strideD};
    const cublasLtMatrixLayout_t layouts[3] = {plan->layoutA, plan->layoutB, plan->layoutD};
    for (int i = 0; i < 3; ++i) {
      setLayout(layouts[i], CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, count);
      setLayout(layouts[i], CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, strides[i]);
    }
  }
  uint32_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  if (s.epilogue == GemmEpilogue::Bias) epilogue = CUBLASLT_EPILOGUE_BIAS;
  if (s.epilogue == GemmEpilogue::Relu) epilogue = CUBLASLT_EPILOGUE_RELU;
  if (s.epilogue == GemmEpilogue::ReluBias) epilogue = CUBLASLT_EPILOGUE_RELU_BIAS;
  setDesc(plan->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, epilogue);
  if (bias) {
    // The bias vector's type defaults to D's type (fp16 for fp16 GEMMs, our bias tensor's type). The heuristic
    // never dereferences the bias pointer but reads its alignment from it: give it an address with the alignment
    // every run's pointer has (runGemm sets the real one).
    const void* alignedStandIn = reinterpret_cast<const void*>(static_cast<uintptr_t>(s.alignBias));
    setDesc(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, alignedStandIn);
    plan->hasBias = true;
  }

  cublasLtMatmulPreference_t pref = nullptr;
  INFERRT_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  cublasLtMatmulHeuristicResult_t result{};
  int returned = 0;
  cublasStatus_t status = CUBLAS_STATUS_SUCCESS;
  try {
    setPref(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, static_cast<uint64_t>(kGemmMaxWorkspace));
    setPref(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, s.alignB);  // cuBLASLt's A is our B
    setPref(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, s.alignA);
    setPref(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, s.alignD);
    setPref(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, s.alignD);
    status = cublasLtMatmulAlgoGetHeuristic(static_cast<cublasLtHandle_t>(blasLtHandle), plan->desc, plan->layoutA,
                                            plan->layoutB, plan->layoutD, plan->layoutD, pref, 1, &result,
                                            &returned);
  } catch (...) {
    cublasLtMatmulPreferenceDestroy(pref);
    throw;
  }
  cublasLtMatmulPreferenceDestroy(pref);
  if (status == CUBLAS_STATUS_NOT_SUPPORTED || (status == CUBLAS_STATUS_SUCCESS &&
                                                (returned < 1 || result.state != CUBLAS_STATUS_SUCCESS))) {
    plan.reset();  // no algorithm: remembered as such
  } else {
    checkCublas(status, ("cublasLtMatmulAlgoGetHeuristic for " + describe(s)).c_str());
  }
  if (cache.size() >= 4096) cache.clear();  // dynamic shapes must not grow it forever; users keep their plans
  if (!plan) {
    cache.emplace(key, nullptr);
    return nullptr;
  }
  plan->algo = result.algo;
  plan->workspace = result.workspaceSize;
  cache.emplace(key, plan);
  return plan;
}

size_t gemmWorkspaceSize(const GemmPlan& plan) { return plan.workspace; }

void runGemm(GemmPlan& plan, void* blasLtHandle, const std::vector<GemmPointers>& calls, void* workspace,
             cudaStream_t stream, float alpha) {
  const float beta = 0.0f;  // alpha and beta: host fp32 scalars (the default pointer mode, CUDA_R_32F scale type)
  std::lock_guard<std::mutex> lock(plan.mutex);
  for (const GemmPointers& p : calls) {
    if (plan.hasBias) setDesc(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, p.bias);
    // beta = 0: C is not read; it is given as D so the layouts agree.
    INFERRT_CUBLAS_CHECK(cublasLtMatmul(static_cast<cublasLtHandle_t>(blasLtHandle), plan.desc, &alpha, p.b,
                                        plan.layoutA, p.a, plan.layoutB, &beta, p.d, plan.layoutD, p.d,
                                        plan.layoutD, &plan.algo, workspace, plan.workspace, stream));
  }
}

}  // namespace inferrt::cublaslt
