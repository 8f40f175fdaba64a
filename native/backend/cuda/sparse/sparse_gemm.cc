// cuSPARSELt behind SparseGemmShape. The row-major GEMM Y = X * W^T is asked for as its transpose,
// D [n, m] = A [n, k] * op(B), with the structured A = W (row-major [n, k], 2:4 along k, opA = none), B = X seen
// as a row-major [m, k] matrix with opB = transpose, and D column-major (ld n), which is Y as row-major [m, n].
// Both operands have k contiguous, the layout every cuSPARSELt data type supports (8-bit ones require it).
#include "backend/cuda/sparse/sparse_gemm.h"

#include <algorithm>
#include <cstdio>

#include "ir/error.h"

#ifdef INFERRT_WITH_CUSPARSELT
#include <cusparseLt.h>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_memory.h"
#include "backend/cuda/scoped_device.h"
#endif

namespace inferrt::sparselt {

std::string sparseGemmKey(const SparseGemmShape& s) {
  char text[128];
  std::snprintf(text, sizeof(text), "%s m=%lld n=%lld k=%lld%s%s%s", s.type == SparseType::Int8 ? "sp8i32" : "sp16",
                static_cast<long long>(s.m), static_cast<long long>(s.n), static_cast<long long>(s.k),
                s.bias ? " bias" : "", s.residual ? " residual" : "", s.relu ? " relu" : "");
  return text;
}

#ifdef INFERRT_WITH_CUSPARSELT

namespace {

constexpr uint32_t kAlignment = 16;  // bytes; device allocations and arena offsets are 256-aligned

void check(cusparseStatus_t status, const char* call) {
  if (status == CUSPARSE_STATUS_SUCCESS) return;
  fail(status == CUSPARSE_STATUS_ALLOC_FAILED ? ErrorCode::OutOfMemory : ErrorCode::CudaError, call,
       " failed: ", cusparseLtGetErrorString(status));
}

const cusparseLtHandle_t* lt(const Handle& h) { return static_cast<const cusparseLtHandle_t*>(h.get()); }

}  // namespace

class SparseGemmPlan {
 public:
  SparseGemmPlan(const Handle& h, const SparseGemmShape& s) : handle(lt(h)), device(h.device()), shape(s) {}
  ~SparseGemmPlan() {
    if (hasPlan) cusparseLtMatmulPlanDestroy(&plan);
    if (hasAlg) cusparseLtMatmulAlgSelectionDestroy(&alg);
    if (hasC) cusparseLtMatDescriptorDestroy(&c);
    if (hasB) cusparseLtMatDescriptorDestroy(&b);
    if (hasA) cusparseLtMatDescriptorDestroy(&a);
  }
  SparseGemmPlan(const SparseGemmPlan&) = delete;
  SparseGemmPlan& operator=(const SparseGemmPlan&) = delete;

  const cusparseLtHandle_t* handle;
  int device;
  SparseGemmShape shape;
  cusparseLtMatDescriptor_t a{}, b{}, c{};  // weight (structured), activations, output (also C, with beta = 0)
  cusparseLtMatmulDescriptor_t matmul{};
  cusparseLtMatmulAlgSelection_t alg{};
  cusparseLtMatmulPlan_t plan{};
  bool hasA = false, hasB = false, hasC = false, hasAlg = false, hasPlan = false;
  size_t workspace = 0;
};

bool available() { return true; }

uint64_t loadedVersion() {
  int major = 0, minor = 0, patch = 0;
  if (cusparseLtGetProperty(MAJOR_VERSION, &major) != CUSPARSE_STATUS_SUCCESS ||
      cusparseLtGetProperty(MINOR_VERSION, &minor) != CUSPARSE_STATUS_SUCCESS ||
      cusparseLtGetProperty(PATCH_LEVEL, &patch) != CUSPARSE_STATUS_SUCCESS)
    return 0;
  return static_cast<uint64_t>(major) * 1000 + static_cast<uint64_t>(minor) * 100 + static_cast<uint64_t>(patch);
}

std::string unsupportedReason(const SparseGemmShape& s) {
  // The structured matrix's rows, columns and leading dimension must be multiples of 16 (16-bit operands) or
  // 32 (8-bit), the dense ones' of 8 or 16 (which also keeps every leading dimension 16-byte aligned).
  const int64_t sparseStep = s.type == SparseType::Int8 ? 32 : 16, denseStep = sparseStep / 2;
  if (s.m <= 0 || s.n <= 0 || s.k <= 0) return "empty GEMM";
  if (s.type == SparseType::Int8 && (s.bias || s.residual || s.relu))
    return "int8 sparse GEMMs take no bias, residual or activation";
  if (s.n % sparseStep != 0) return "output features " + std::to_string(s.n) + " not a multiple of " + std::to_string(sparseStep);
  if (s.k % sparseStep != 0) return "reduction length " + std::to_string(s.k) + " not a multiple of " + std::to_string(sparseStep);
  if (s.m % denseStep != 0) return "rows " + std::to_string(s.m) + " not a multiple of " + std::to_string(denseStep);
  return "";
}

Handle::Handle(int device) : device_(device) {
  ScopedDevice on(device);
  auto* h = new cusparseLtHandle_t{};
  const cusparseStatus_t status = cusparseLtInit(h);
  if (status != CUSPARSE_STATUS_SUCCESS) {
    delete h;
    check(status, "cusparseLtInit");
  }
  handle_ = h;
}

Handle::~Handle() {
  if (!handle_) return;
  auto* h = static_cast<cusparseLtHandle_t*>(handle_);
  cusparseLtDestroy(h);
  delete h;
}

std::shared_ptr<SparseGemmPlan> planSparseGemm(const Handle& handle, const SparseGemmShape& s, const SparseAlgo* algo,
                                               const void* bias) {
  if (!unsupportedReason(s).empty()) return nullptr;
  auto p = std::make_shared<SparseGemmPlan>(handle, s);
  const cusparseLtHandle_t* h = p->handle;
  const bool int8 = s.type == SparseType::Int8;
  const cudaDataType operand = int8 ? CUDA_R_8I : CUDA_R_16F, output = int8 ? CUDA_R_32I : CUDA_R_16F;
  p->hasA = cusparseLtStructuredDescriptorInit(h, &p->a, s.n, s.k, s.k, kAlignment, operand, CUSPARSE_ORDER_ROW,
                                               CUSPARSELT_SPARSITY_50_PERCENT) == CUSPARSE_STATUS_SUCCESS;
  if (!p->hasA) return nullptr;
  p->hasB = cusparseLtDenseDescriptorInit(h, &p->b, s.m, s.k, s.k, kAlignment, operand, CUSPARSE_ORDER_ROW) ==
            CUSPARSE_STATUS_SUCCESS;
  if (!p->hasB) return nullptr;
  p->hasC = cusparseLtDenseDescriptorInit(h, &p->c, s.n, s.m, s.n, kAlignment, output, CUSPARSE_ORDER_COL) ==
            CUSPARSE_STATUS_SUCCESS;
  if (!p->hasC) return nullptr;
  if (cusparseLtMatmulDescriptorInit(h, &p->matmul, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_TRANSPOSE,
                                     &p->a, &p->b, &p->c, &p->c,
                                     int8 ? CUSPARSE_COMPUTE_32I : CUSPARSE_COMPUTE_32F) != CUSPARSE_STATUS_SUCCESS)
    return nullptr;
  if (s.relu) {
    const int on = 1;
    if (cusparseLtMatmulDescSetAttribute(h, &p->matmul, CUSPARSELT_MATMUL_ACTIVATION_RELU, &on, sizeof(on)) !=
        CUSPARSE_STATUS_SUCCESS)
      return nullptr;
  }
  if (s.bias) {
    if (!bias) fail(ErrorCode::Internal, "sparse GEMM: bias pointer missing");
    const void* pointer = bias;
    if (cusparseLtMatmulDescSetAttribute(h, &p->matmul, CUSPARSELT_MATMUL_BIAS_POINTER, &pointer,
                                         sizeof(pointer)) != CUSPARSE_STATUS_SUCCESS)
      return nullptr;
  }
  p->hasAlg = cusparseLtMatmulAlgSelectionInit(h, &p->alg, &p->matmul, CUSPARSELT_MATMUL_ALG_DEFAULT) ==
              CUSPARSE_STATUS_SUCCESS;
  if (!p->hasAlg) return nullptr;
  if (algo) {
    auto set = [&](cusparseLtMatmulAlgAttribute_t attribute, int32_t value) {
      return cusparseLtMatmulAlgSetAttribute(h, &p->alg, attribute, &value, sizeof(value)) == CUSPARSE_STATUS_SUCCESS;
    };
    if (!set(CUSPARSELT_MATMUL_ALG_CONFIG_ID, algo->configId)) return nullptr;
    if (algo->splitK > 1 && (!set(CUSPARSELT_MATMUL_SPLIT_K, algo->splitK) ||
                             !set(CUSPARSELT_MATMUL_SPLIT_K_MODE, algo->splitKMode) ||
                             !set(CUSPARSELT_MATMUL_SPLIT_K_BUFFERS, algo->splitKBuffers)))
      return nullptr;
  }
  p->hasPlan = cusparseLtMatmulPlanInit(h, &p->plan, &p->matmul, &p->alg) == CUSPARSE_STATUS_SUCCESS;
  if (!p->hasPlan) return nullptr;
  check(cusparseLtMatmulGetWorkspace(h, &p->plan, &p->workspace), "cusparseLtMatmulGetWorkspace");
  return p;
}

int32_t configCount(const SparseGemmPlan& p) {
  int32_t maxId = 0;
  check(cusparseLtMatmulAlgGetAttribute(p.handle, &p.alg, CUSPARSELT_MATMUL_ALG_CONFIG_MAX_ID, &maxId, sizeof(maxId)),
        "cusparseLtMatmulAlgGetAttribute(CONFIG_MAX_ID)");
  return maxId;
}

size_t sparseWorkspaceSize(const SparseGemmPlan& p) { return p.workspace; }

size_t compressedSize(const SparseGemmPlan& p) {
  size_t size = 0, buffer = 0;
  check(cusparseLtSpMMACompressedSize2(p.handle, &p.a, &size, &buffer), "cusparseLtSpMMACompressedSize2");
  return size;
}

void compressWeights(const SparseGemmPlan& p, const void* w, void* compressed, cudaStream_t stream) {
  size_t size = 0, bufferSize = 0;
  check(cusparseLtSpMMACompressedSize2(p.handle, &p.a, &size, &bufferSize), "cusparseLtSpMMACompressedSize2");
  DeviceMemory buffer(bufferSize, p.device);
  check(cusparseLtSpMMACompress2(p.handle, &p.a, 1, CUSPARSE_OPERATION_NON_TRANSPOSE, w, compressed, buffer.data(), stream),
        "cusparseLtSpMMACompress2");
  INFERRT_CUDA_CHECK(cudaStreamSynchronize(stream));  // before `buffer` goes
}

bool weightsAreTwoFour(const SparseGemmPlan& p, const void* w, cudaStream_t stream) {
  DeviceMemory valid(sizeof(int), p.device);
  // The check may write only on a violation: start from 0 ("valid"), never from recycled memory.
  INFERRT_CUDA_CHECK(cudaMemsetAsync(valid.data(), 0, sizeof(int), stream));
  check(cusparseLtSpMMAPruneCheck2(p.handle, &p.a, 1, CUSPARSE_OPERATION_NON_TRANSPOSE, w, static_cast<int*>(valid.data()),
                                   stream),
        "cusparseLtSpMMAPruneCheck2");
  int result = 1;
  INFERRT_CUDA_CHECK(cudaMemcpyAsync(&result, valid.data(), sizeof(int), cudaMemcpyDeviceToHost, stream));
  INFERRT_CUDA_CHECK(cudaStreamSynchronize(stream));
  return result == 0;  // 0: the matrix follows the pattern
}

void runSparseGemm(const SparseGemmPlan& p, const void* compressedW, const void* x, void* y, void* workspace,
                   float alpha, cudaStream_t stream, const void* residual) {
  if (p.shape.residual && !residual) fail(ErrorCode::Internal, "sparse GEMM: residual pointer missing");
  const float beta = p.shape.residual ? 1.0f : 0.0f;
  const void* c = p.shape.residual ? residual : y;
  check(cusparseLtMatmul(p.handle, &p.plan, &alpha, compressedW, x, &beta, c, y, workspace, &stream, 1),
        "cusparseLtMatmul");
}

#else  // built without cuSPARSELt

class SparseGemmPlan {};

namespace {
[[noreturn]] void missing() { fail(ErrorCode::UnsupportedOp, "this build has no cuSPARSELt (set CUSPARSELT_ROOT and rebuild)"); }
}  // namespace

bool available() { return false; }
uint64_t loadedVersion() { return 0; }
std::string unsupportedReason(const SparseGemmShape&) { return "this build has no cuSPARSELt"; }
Handle::Handle(int) { missing(); }
Handle::~Handle() = default;
std::shared_ptr<SparseGemmPlan> planSparseGemm(const Handle&, const SparseGemmShape&, const SparseAlgo*, const void*) {
  return nullptr;
}
int32_t configCount(const SparseGemmPlan&) { missing(); }
size_t sparseWorkspaceSize(const SparseGemmPlan&) { missing(); }
size_t compressedSize(const SparseGemmPlan&) { missing(); }
void compressWeights(const SparseGemmPlan&, const void*, void*, cudaStream_t) { missing(); }
bool weightsAreTwoFour(const SparseGemmPlan&, const void*, cudaStream_t) { missing(); }
void runSparseGemm(const SparseGemmPlan&, const void*, const void*, void*, void*, float, cudaStream_t, const void*) {
  missing();
}

#endif

}  // namespace inferrt::sparselt
