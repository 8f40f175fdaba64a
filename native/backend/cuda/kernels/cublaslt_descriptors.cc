#include "backend/cuda/kernels/cublaslt_descriptors.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "ir/error.h"

namespace inferrt::cublaslt {

namespace {

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

class Preference {
 public:
  Preference() { INFERRT_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref)); }
  ~Preference() { cublasLtMatmulPreferenceDestroy(pref); }  // failures ignored: nothing to do in a destructor
  Preference(const Preference&) = delete;
  Preference& operator=(const Preference&) = delete;
  cublasLtMatmulPreference_t pref = nullptr;
};

}  // namespace

void checkCublas(cublasStatus_t status, const char* call) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  const ErrorCode code = status == CUBLAS_STATUS_ALLOC_FAILED ? ErrorCode::OutOfMemory : ErrorCode::CudaError;
  fail(code, call, " failed: ", cublasLtGetStatusName(status), " (", cublasLtGetStatusString(status), ")");
}

GemmDescriptors::GemmDescriptors(const GemmShape& s) {
  if (s.m <= 0 || s.n <= 0 || s.k <= 0 || s.batch < 1 || s.batch > INT32_MAX)
    fail(ErrorCode::Internal, "MatMul: bad GEMM shape ", describeGemm(s));
  if (s.int8 && (s.transA || !s.transB || s.epilogue != GemmEpilogue::None))
    fail(ErrorCode::Internal, "int8 GEMMs are TN without epilogue, got ", describeGemm(s));
  try {
    const cudaDataType_t abType = s.int8 ? CUDA_R_8I : s.half ? CUDA_R_16F : CUDA_R_32F;
    const cudaDataType_t dType = s.int8 ? CUDA_R_32I : abType;
    // fp16 accumulates in fp32 (the interface contract); fp32 may use TF32 tensor cores unless strict; int8 sums
    // exactly in int32, with int32 alpha and beta.
    cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
    if (s.int8) compute = CUBLAS_COMPUTE_32I;
    else if (!s.half && s.allowTf32) compute = CUBLAS_COMPUTE_32F_FAST_TF32;
    INFERRT_CUBLAS_CHECK(cublasLtMatmulDescCreate(&desc, compute, s.int8 ? CUDA_R_32I : CUDA_R_32F));
    integer = s.int8;

    // Our tensors are row-major; cuBLASLt's default order is column-major, where row-major D (M x N) reads as
    // D^T (N x M). So we compute D^T = op(B)^T * op(A)^T: cuBLASLt's A is our B and its B is our A, and every
    // layout keeps the default column order (CUBLASLT_ORDER_ROW is supported by fewer kernels and epilogues).
    // The bias then runs along D^T's rows (length N), which is exactly "added along the last output dim".
    const int32_t opA = s.transB ? CUBLAS_OP_T : CUBLAS_OP_N;
    const int32_t opB = s.transA ? CUBLAS_OP_T : CUBLAS_OP_N;
    setDesc(desc, CUBLASLT_MATMUL_DESC_TRANSA, opA);
    setDesc(desc, CUBLASLT_MATMUL_DESC_TRANSB, opB);
    INFERRT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layoutA, abType, static_cast<uint64_t>(s.transB ? s.k : s.n),
                                                    static_cast<uint64_t>(s.transB ? s.n : s.k), s.ldb));
    INFERRT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layoutB, abType, static_cast<uint64_t>(s.transA ? s.m : s.k),
                                                    static_cast<uint64_t>(s.transA ? s.k : s.m), s.lda));
    INFERRT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layoutD, dType, static_cast<uint64_t>(s.n),
                                                    static_cast<uint64_t>(s.m), s.ldd));
    if (s.batch > 1) {
      const int32_t count = static_cast<int32_t>(s.batch);
      const int64_t strides[3] = {s.strideB, s.strideA, s.strideD};
      const cublasLtMatrixLayout_t layouts[3] = {layoutA, layoutB, layoutD};
      for (int i = 0; i < 3; ++i) {
        setLayout(layouts[i], CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, count);
        setLayout(layouts[i], CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, strides[i]);
      }
    }
    uint32_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
    if (s.epilogue == GemmEpilogue::Bias) epilogue = CUBLASLT_EPILOGUE_BIAS;
    if (s.epilogue == GemmEpilogue::Relu) epilogue = CUBLASLT_EPILOGUE_RELU;
    if (s.epilogue == GemmEpilogue::ReluBias) epilogue = CUBLASLT_EPILOGUE_RELU_BIAS;
    if (s.epilogue == GemmEpilogue::Gelu) epilogue = CUBLASLT_EPILOGUE_GELU;
    if (s.epilogue == GemmEpilogue::GeluBias) epilogue = CUBLASLT_EPILOGUE_GELU_BIAS;
    setDesc(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, epilogue);
    if (s.hasBias()) {
      // The bias vector's type defaults to D's type (fp16 for fp16 GEMMs, our bias tensor's type). The heuristic
      // never dereferences the bias pointer but reads its alignment from it: give it an address with the
      // alignment every run's pointer has (runs set the real one with setBias).
      setBias(reinterpret_cast<const void*>(static_cast<uintptr_t>(s.alignBias)));
      hasBias = true;
    }
  } catch (...) {
    release();  // a throwing constructor runs no destructor: free what was created
    throw;
  }
}

GemmDescriptors::~GemmDescriptors() { release(); }

void GemmDescriptors::release() noexcept {  // destroy failures are ignored: nothing useful can be done about them
  if (layoutA) cublasLtMatrixLayoutDestroy(layoutA);
  if (layoutB) cublasLtMatrixLayoutDestroy(layoutB);
  if (layoutD) cublasLtMatrixLayoutDestroy(layoutD);
  if (desc) cublasLtMatmulDescDestroy(desc);
  layoutA = layoutB = layoutD = nullptr;
  desc = nullptr;
}

void GemmDescriptors::setBias(const void* bias) { setDesc(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias); }

std::vector<cublasLtMatmulHeuristicResult_t> gemmHeuristic(cublasLtHandle_t handle, const GemmDescriptors& d,
                                                           const GemmShape& s, int count) {
  Preference p;
  setPref(p.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, static_cast<uint64_t>(kGemmMaxWorkspace));
  setPref(p.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, s.alignB);  // cuBLASLt's A is our B
  setPref(p.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, s.alignA);
  setPref(p.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, s.alignD);
  setPref(p.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, s.alignD);
  std::vector<cublasLtMatmulHeuristicResult_t> results(static_cast<size_t>(count));
  int returned = 0;
  const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(handle, d.desc, d.layoutA, d.layoutB, d.layoutD,
                                                               d.layoutD, p.pref, count, results.data(), &returned);
  if (status == CUBLAS_STATUS_NOT_SUPPORTED) return {};  // no algorithm for this configuration
  checkCublas(status, ("cublasLtMatmulAlgoGetHeuristic for " + describeGemm(s)).c_str());
  std::vector<cublasLtMatmulHeuristicResult_t> usable;
  for (int i = 0; i < returned && i < count; ++i)
    if (results[i].state == CUBLAS_STATUS_SUCCESS && results[i].workspaceSize <= kGemmMaxWorkspace)
      usable.push_back(results[i]);
  return usable;
}

bool gemmAlgoCheck(cublasLtHandle_t handle, const GemmDescriptors& d, const cublasLtMatmulAlgo_t& algo,
                   size_t* workspace) {
  cublasLtMatmulHeuristicResult_t result{};
  const cublasStatus_t status =
      cublasLtMatmulAlgoCheck(handle, d.desc, d.layoutA, d.layoutB, d.layoutD, d.layoutD, &algo, &result);
  if (status != CUBLAS_STATUS_SUCCESS || result.state != CUBLAS_STATUS_SUCCESS || result.workspaceSize > kGemmMaxWorkspace)
    return false;
  *workspace = result.workspaceSize;
  return true;
}

void enqueueGemm(cublasLtHandle_t handle, GemmDescriptors& d, const cublasLtMatmulAlgo_t& algo,
                 const std::vector<GemmPointers>& calls, void* workspace, size_t workspaceBytes, cudaStream_t stream,
                 float alpha) {
  // alpha and beta: host scalars (the default pointer mode) of the scale type: fp32, or int32 for int8 GEMMs,
  // which take no alpha (their callers scale in their own epilogue).
  const float beta = 0.0f;
  const int32_t alphaInt = 1, betaInt = 0;
  if (d.integer && alpha != 1.0f) fail(ErrorCode::Internal, "int8 GEMMs take no alpha, got ", alpha);
  const void* alphaPtr = d.integer ? static_cast<const void*>(&alphaInt) : static_cast<const void*>(&alpha);
  const void* betaPtr = d.integer ? static_cast<const void*>(&betaInt) : static_cast<const void*>(&beta);
  for (const GemmPointers& p : calls) {
    if (d.hasBias) d.setBias(p.bias);
    INFERRT_CUBLAS_CHECK(cublasLtMatmul(handle, d.desc, alphaPtr, p.b, d.layoutA, p.a, d.layoutB, betaPtr, p.d,
                                        d.layoutD, p.d, d.layoutD, &algo, workspace, workspaceBytes, stream));
  }
}

GemmAlgoWords algoWords(const cublasLtMatmulAlgo_t& algo) {
  GemmAlgoWords words;
  std::memcpy(words.data(), &algo, sizeof(algo));
  return words;
}

cublasLtMatmulAlgo_t algoFromWords(const GemmAlgoWords& words) {
  cublasLtMatmulAlgo_t algo;
  std::memcpy(&algo, words.data(), sizeof(algo));
  return algo;
}

}  // namespace inferrt::cublaslt
