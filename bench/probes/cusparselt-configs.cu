// Probe, not part of the build: every cuSPARSELt kernel configuration of BERT-large's fp16 GEMMs (T = 24576 tokens),
// with the weight as the structured A (inferrt's formulation) or as the structured B, against cuBLASLt's best
// heuristic algorithm for the same GEMM. Run on the GPU machine with bench/probes/cusparselt-configs.sh, which builds
// it and restarts it past a configuration that kills the CUDA context.
// What it found on an H100 with cuSPARSELt 0.8.0 (README, 2:4 sparsity): configurations 36-49 of every shape die with
// an illegal instruction (as does cusparseLtMatmulSearch, run with SEARCH=1); 16-35 are never faster than the best of
// 0-15; the structured-B formulation is no faster; split-K other than 1 is refused on SM90; and GELU epilogues are
// refused for fp16 outputs (int8 and fp8 outputs only: GELU=1 with CUSPARSELT_LOG_LEVEL=3 spells it out).
// cuSPARSELt 0.8.1 (CUSPARSELT_ROOT pointing at its wheel's files) gave the same picture on FFN-in and FFN-out.
#include <cublasLt.h>
#include <cuda_fp16.h>
#include <cusparseLt.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "probe_common.cuh"

static cusparseLtHandle_t H;

static std::vector<__half> randomHalf(size_t n, unsigned seed, bool twoFour, int k) {
  std::vector<__half> v(n);
  unsigned s = seed;
  for (size_t i = 0; i < n; ++i) {
    s = s * 1664525u + 1013904223u;
    float f = ((s >> 8) / float(1u << 24) - 0.5f);
    if (twoFour && ((i % k) % 4) >= 2) f = 0;  // keep two of each four along k
    v[i] = __float2half(f);
  }
  return v;
}

struct Sparse {
  cusparseLtMatDescriptor_t a, b, c;
  cusparseLtMatmulDescriptor_t mm;
  cusparseLtMatmulAlgSelection_t alg;
  cusparseLtMatmulPlan_t plan;
  void* compressed = nullptr;
  void* ws = nullptr;
  size_t wsBytes = 0;
  bool structuredB = false;
};

// structuredB = false: D[n, m] col = W[n, k] (structured, row) * X^T (X row [m, k], opB = T) (what inferrt does)
// structuredB = true: D[m, n] row = X[m, k] row * W^T, W^T as structured B [k, n] col (ld k)
static bool makeSparse(Sparse& s, int64_t m, int64_t n, int64_t k, bool structuredB, const void* bias, bool gelu,
                       int configId, const void* wDev, int splitK = 1) {
  s.structuredB = structuredB;
  const cudaDataType t = CUDA_R_16F;
  if (!structuredB) {
    CK(cusparseLtStructuredDescriptorInit(&H, &s.a, n, k, k, 16, t, CUSPARSE_ORDER_ROW, CUSPARSELT_SPARSITY_50_PERCENT));
    CK(cusparseLtDenseDescriptorInit(&H, &s.b, m, k, k, 16, t, CUSPARSE_ORDER_ROW));
    CK(cusparseLtDenseDescriptorInit(&H, &s.c, n, m, n, 16, t, CUSPARSE_ORDER_COL));
    if (cusparseLtMatmulDescriptorInit(&H, &s.mm, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_TRANSPOSE, &s.a,
                                       &s.b, &s.c, &s.c, CUSPARSE_COMPUTE_32F) != 0)
      return false;
  } else {
    CK(cusparseLtDenseDescriptorInit(&H, &s.a, m, k, k, 16, t, CUSPARSE_ORDER_ROW));
    CK(cusparseLtStructuredDescriptorInit(&H, &s.b, k, n, k, 16, t, CUSPARSE_ORDER_COL, CUSPARSELT_SPARSITY_50_PERCENT));
    CK(cusparseLtDenseDescriptorInit(&H, &s.c, m, n, n, 16, t, CUSPARSE_ORDER_ROW));
    if (cusparseLtMatmulDescriptorInit(&H, &s.mm, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                       &s.a, &s.b, &s.c, &s.c, CUSPARSE_COMPUTE_32F) != 0)
      return false;
  }
  if (gelu) {
    int on = 1;
    int st_ = cusparseLtMatmulDescSetAttribute(&H, &s.mm, CUSPARSELT_MATMUL_ACTIVATION_GELU, &on, sizeof(on));
    if (st_ != 0) { std::printf("  set GELU -> %d\n", st_); return false; }
  }
  if (bias) {
    if (cusparseLtMatmulDescSetAttribute(&H, &s.mm, CUSPARSELT_MATMUL_BIAS_POINTER, &bias, sizeof(bias)) != 0) return false;
  }
  { int st_ = cusparseLtMatmulAlgSelectionInit(&H, &s.alg, &s.mm, CUSPARSELT_MATMUL_ALG_DEFAULT);
    if (st_ != 0) { std::printf("  alg selection init -> %d\n", st_); return false; } }
  if (configId >= 0 &&
      cusparseLtMatmulAlgSetAttribute(&H, &s.alg, CUSPARSELT_MATMUL_ALG_CONFIG_ID, &configId, sizeof(configId)) != 0)
    return false;
  if (splitK > 1) {
    if (cusparseLtMatmulAlgSetAttribute(&H, &s.alg, CUSPARSELT_MATMUL_SPLIT_K, &splitK, sizeof(splitK)) != 0) return false;
  }
  { int st_ = cusparseLtMatmulPlanInit(&H, &s.plan, &s.mm, &s.alg);
    if (st_ != 0) { if (configId < 0) std::printf("  plan init -> %d\n", st_); return false; } }
  CK(cusparseLtMatmulGetWorkspace(&H, &s.plan, &s.wsBytes));
  size_t cs, cb;
  const cusparseLtMatDescriptor_t* sd = structuredB ? &s.b : &s.a;
  CK(cusparseLtSpMMACompressedSize2(&H, sd, &cs, &cb));
  void* buf;
  CK(cudaMalloc(&s.compressed, cs + 65536));
  CK(cudaMemset(s.compressed, 0, cs + 65536));
  CK(cudaMalloc(&buf, cb + 16));
  CK(cusparseLtSpMMACompress2(&H, sd, !structuredB, CUSPARSE_OPERATION_NON_TRANSPOSE, wDev, s.compressed, buf, 0));
  CK(cudaDeviceSynchronize());
  cudaFree(buf);
  if (s.wsBytes) CK(cudaMalloc(&s.ws, s.wsBytes));
  return true;
}

static int maxConfig(Sparse& s) {
  int v = 0;
  CK(cusparseLtMatmulAlgGetAttribute(&H, &s.alg, CUSPARSELT_MATMUL_ALG_CONFIG_MAX_ID, &v, sizeof(v)));
  return v;
}

static void runSparse(Sparse& s, const void* x, void* y) {
  float alpha = 1, beta = 0;
  cudaStream_t st = 0;
  const void* A = s.structuredB ? x : s.compressed;
  const void* B = s.structuredB ? s.compressed : x;
  CK(cusparseLtMatmul(&H, &s.plan, &alpha, A, B, &beta, y, y, s.ws, &st, 1));
}

static void freeSparse(Sparse& s) {
  cusparseLtMatmulPlanDestroy(&s.plan);
  cusparseLtMatmulAlgSelectionDestroy(&s.alg);
  cusparseLtMatDescriptorDestroy(&s.a);
  cusparseLtMatDescriptorDestroy(&s.b);
  cusparseLtMatDescriptorDestroy(&s.c);
  cudaFree(s.compressed);
  if (s.ws) cudaFree(s.ws);
}

// Dense cuBLASLt baseline: row-major Y[m,n] = X[m,k] W^T (W [n,k]) as col-major D[n,m] = W^T... (TN: A = W [k x n] col, opA = T)
static float denseBest(int64_t m, int64_t n, int64_t k, const void* x, const void* w, void* y, const void* bias, bool gelu,
                       cublasLtHandle_t lt, void* ws, size_t wsBytes) {
  cublasLtMatmulDesc_t op;
  CK(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  CK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
  CK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));
  cublasLtEpilogue_t epi = gelu ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
  CK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)));
  CK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  cublasLtMatrixLayout_t la, lb, lc;
  CK(cublasLtMatrixLayoutCreate(&la, CUDA_R_16F, k, n, k));
  CK(cublasLtMatrixLayoutCreate(&lb, CUDA_R_16F, k, m, k));
  CK(cublasLtMatrixLayoutCreate(&lc, CUDA_R_16F, n, m, n));
  cublasLtMatmulPreference_t pref;
  CK(cublasLtMatmulPreferenceCreate(&pref));
  CK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsBytes, sizeof(wsBytes)));
  cublasLtMatmulHeuristicResult_t res[16];
  int got = 0;
  CK(cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, lc, lc, pref, 16, res, &got));
  float best = 1e9;
  const float alpha = 1, beta = 0;
  for (int i = 0; i < got; ++i) {
    float t = timeMs([&] { cublasLtMatmul(lt, op, &alpha, w, la, x, lb, &beta, y, lc, y, lc, &res[i].algo, ws, wsBytes, 0); }, 10);
    best = std::min(best, t);
  }
  cublasLtMatmulPreferenceDestroy(pref);
  cublasLtMatrixLayoutDestroy(la); cublasLtMatrixLayoutDestroy(lb); cublasLtMatrixLayoutDestroy(lc);
  cublasLtMatmulDescDestroy(op);
  return best;
}


struct ShapeCase { const char* name; int64_t m, n, k; };
static const ShapeCase kCases[] = {{"FFN-in", 24576, 4096, 1024}, {"FFN-out", 24576, 1024, 4096},
                                   {"QKV", 24576, 3072, 1024}, {"attn-out", 24576, 1024, 1024}};

// argv: case sb startId (env SEARCH=1 also runs cusparseLtMatmulSearch, GELU=1 asks for the GELU epilogue). Prints one line per config; exits 3 after a CUDA error (the driver restarts at id + 1).
int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IONBF, 0);
  const int which = std::atoi(argv[1]), sb = std::atoi(argv[2]), startId = std::atoi(argv[3]);
  const ShapeCase c = kCases[which];
  const bool gelu = std::getenv("GELU") != nullptr;  // ask for the GELU epilogue (refused for fp16 outputs)
  CK(cusparseLtInit(&H));
  const int64_t m = c.m, n = c.n, k = c.k;
  auto x = randomHalf(size_t(m) * k, 3, false, k);
  auto w = randomHalf(size_t(n) * k, 4, true, k);
  auto b = randomHalf(n, 5, false, k);
  void *dx, *dw, *dy, *db, *ws;
  const size_t wsBytes = 32 << 20;
  CK(cudaMalloc(&dx, x.size() * 2 + 65536));
  CK(cudaMalloc(&dw, w.size() * 2 + 65536));
  CK(cudaMalloc(&dy, size_t(m) * n * 2 + 65536));
  CK(cudaMalloc(&db, n * 2 + 65536));
  CK(cudaMalloc(&ws, wsBytes));
  CK(cudaMemcpy(dx, x.data(), x.size() * 2, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dw, w.data(), w.size() * 2, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(db, b.data(), n * 2, cudaMemcpyHostToDevice));
  if (startId == 0 && sb == 0) {
    cudaDeviceProp p;
    cudaGetDeviceProperties(&p, 0);
    cublasLtHandle_t lt;
    CK(cublasLtCreate(&lt));
    const float dense = denseBest(m, n, k, dx, dw, dy, db, false, lt, ws, wsBytes);
    const float denseGelu = denseBest(m, n, k, dx, dw, dy, db, true, lt, ws, wsBytes);
    int version = 0;
    CK(cusparseLtGetProperty(MAJOR_VERSION, &version));
    int minor = 0, patch = 0;
    CK(cusparseLtGetProperty(MINOR_VERSION, &minor));
    CK(cusparseLtGetProperty(PATCH_LEVEL, &patch));
    std::printf("%s, cuSPARSELt %d.%d.%d, %s m=%ld n=%ld k=%ld: dense bias %.4f ms, dense gelu_bias %.4f ms\n", p.name,
                version, minor, patch, c.name, (long)m, (long)n, (long)k, dense, denseGelu);
  }
  Sparse probe{};
  if (!makeSparse(probe, m, n, k, sb, db, gelu, -1, dw)) { std::printf("%s sb=%d: no plan\n", c.name, sb); return 0; }
  const int configs = maxConfig(probe);
  if (startId == 0) {
    const float deflt = timeMs([&] { runSparse(probe, dx, dy); });
    std::printf("%s sb=%d: %d configs; default %.4f ms\n", c.name, sb, configs, deflt);
    float alpha = 1, beta = 0;
    cudaStream_t st = 0;
    Sparse srch{};
    makeSparse(srch, m, n, k, sb, db, gelu, -1, dw);
    const void* A = sb ? dx : srch.compressed;
    const void* B = sb ? srch.compressed : dx;
    void* bigWs;
    CK(cudaMalloc(&bigWs, 256 << 20));
    if (getenv("SEARCH") && cusparseLtMatmulSearch(&H, &srch.plan, &alpha, A, B, &beta, dy, dy, bigWs, &st, 1) == 0) {
      int id = 0, split = 0;
      cusparseLtMatmulAlgGetAttribute(&H, &srch.alg, CUSPARSELT_MATMUL_ALG_CONFIG_ID, &id, sizeof(id));
      cusparseLtMatmulAlgGetAttribute(&H, &srch.alg, CUSPARSELT_MATMUL_SPLIT_K, &split, sizeof(split));
      const float t = timeMs([&] { CK(cusparseLtMatmul(&H, &srch.plan, &alpha, A, B, &beta, dy, dy, bigWs, &st, 1)); });
      std::printf("%s sb=%d search: config %d split-K %d: %.4f ms\n", c.name, sb, id, split, t);
    } else {
      std::printf("%s sb=%d search failed\n", c.name, sb);
    }
    CK(cudaDeviceSynchronize());
  }
  for (int id = startId; id < configs; ++id) {
    Sparse s{};
    if (!makeSparse(s, m, n, k, sb, db, gelu, id, dw)) { std::printf("%s sb=%d cfg %d: no plan\n", c.name, sb, id); continue; }
    const float t = timeMs([&] { runSparse(s, dx, dy); }, 10);
    const cudaError_t e = cudaDeviceSynchronize();
    if (e != cudaSuccess) { std::printf("%s sb=%d cfg %d: CRASH %s\n", c.name, sb, id, cudaGetErrorString(e)); return 3; }
    std::printf("%s sb=%d cfg %d: %.4f ms\n", c.name, sb, id, t);
    freeSparse(s);
  }
  return 0;
}
