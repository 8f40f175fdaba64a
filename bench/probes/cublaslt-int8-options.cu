// Probe, not part of the build: what cuBLASLt offers an INT8 BERT-large on Hopper, at its GEMM shapes (T = 24576):
// int8 x int8 with int32 out (inferrt's QuantizedMatMul today, before its dequantizing epilogue pass), with int8 out
// (requantizing in the GEMM: float alpha, bias and GELU_BIAS epilogues, per-row alpha), FP8 E4M3 with fp16 out, and
// FP16 with BIAS / GELU_BIAS. Timing only (operands are constant bytes). On the GPU machine:
//   nvcc -std=c++17 -O2 -arch=sm_90 bench/probes/cublaslt-int8-options.cu -o /tmp/int8-options -lcublasLt && /tmp/int8-options
// H100, cuBLASLt 13.1 (that session's closing note on issue 6 had the table): FFN-in int8 -> int32 0.201 ms vs
// fp16 + bias 0.279 ms; int8 -> int8 with float alpha 0.132 ms, with bias 0.157 ms, with GELU_BIAS 0.503 ms; per-row
// alpha: no algorithm; FP8 -> fp16 with GELU_BIAS 0.236 ms vs fp16's 0.311 ms.
#include <cublasLt.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "probe_common.cuh"

struct Case {
  const char* name;
  cudaDataType ab, cd, scale, biasType;
  cublasComputeType_t compute;
  cublasLtEpilogue_t epilogue;
  bool alphaVector;
};

static cublasLtHandle_t lt;

// D[n, m] (col-major, ld n) = op(A)[n, k] * B[k, m], A = W stored [n][k] (opA = T), B = X stored [m][k].
static void run(const Case& c, int64_t m, int64_t n, int64_t k, void* w, void* x, void* d, void* bias, void* alphaVec,
                void* ws, size_t wsBytes) {
  cublasLtMatmulDesc_t op;
  CK(cublasLtMatmulDescCreate(&op, c.compute, c.scale));
  cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  CK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
  CK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));
  if (c.epilogue != CUBLASLT_EPILOGUE_DEFAULT) {
    CK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &c.epilogue, sizeof(c.epilogue)));
    CK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
    CK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &c.biasType, sizeof(c.biasType)));
  }
  if (c.alphaVector) {
    cublasLtPointerMode_t mode = CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_ZERO;
    CK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_POINTER_MODE, &mode, sizeof(mode)));
  }
  cublasLtMatrixLayout_t la, lb, lc, ld;
  CK(cublasLtMatrixLayoutCreate(&la, c.ab, k, n, k));
  CK(cublasLtMatrixLayoutCreate(&lb, c.ab, k, m, k));
  // fp8 GEMMs take C in fp16 when D is fp16; int8 ones C = D's type
  CK(cublasLtMatrixLayoutCreate(&lc, c.cd, n, m, n));
  CK(cublasLtMatrixLayoutCreate(&ld, c.cd, n, m, n));
  cublasLtMatmulPreference_t pref;
  CK(cublasLtMatmulPreferenceCreate(&pref));
  CK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsBytes, sizeof(wsBytes)));
  cublasLtMatmulHeuristicResult_t res[8];
  int got = 0;
  const cublasStatus_t h = cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, lc, ld, pref, 8, res, &got);
  const double gflop = 2.0 * m * n * k / 1e9;
  if (h != CUBLAS_STATUS_SUCCESS || got == 0) {
    std::printf("  %-44s no algorithm (status %d)\n", c.name, (int)h);
  } else {
    float best = 1e9;
    const float alphaF = 1.0f / 64, betaF = 0;
    const int32_t alphaI = 1, betaI = 0;
    const void* alpha = c.alphaVector ? alphaVec : (c.scale == CUDA_R_32I ? (const void*)&alphaI : (const void*)&alphaF);
    const void* beta = c.scale == CUDA_R_32I ? (const void*)&betaI : (const void*)&betaF;
    for (int i = 0; i < got; ++i) {
      if (cublasLtMatmul(lt, op, alpha, w, la, x, lb, beta, d, lc, d, ld, &res[i].algo, ws, wsBytes, 0) != 0) continue;
      if (cudaDeviceSynchronize() != cudaSuccess) { std::printf("  %s: CUDA error\n", c.name); std::exit(1); }
      best = std::min(best, timeMs([&] { cublasLtMatmul(lt, op, alpha, w, la, x, lb, beta, d, lc, d, ld, &res[i].algo, ws, wsBytes, 0); }, 10));
    }
    std::printf("  %-44s %.4f ms (%4.0f TOP/s)\n", c.name, best, gflop / best);
  }
  cublasLtMatmulPreferenceDestroy(pref);
  cublasLtMatrixLayoutDestroy(la); cublasLtMatrixLayoutDestroy(lb); cublasLtMatrixLayoutDestroy(lc); cublasLtMatrixLayoutDestroy(ld);
  cublasLtMatmulDescDestroy(op);
}

int main() {
  setvbuf(stdout, nullptr, _IONBF, 0);
  cudaDeviceProp p;
  cudaGetDeviceProperties(&p, 0);
  CK(cublasLtCreate(&lt));
  std::printf("%s, cuBLASLt %zu\n", p.name, cublasLtGetVersion());
  const size_t wsBytes = 64 << 20;
  void *w, *x, *d, *bias, *alphaVec, *ws;
  const int64_t maxElems = 24576LL * 4096;
  CK(cudaMalloc(&w, 4096 * 4096 * 2));
  CK(cudaMalloc(&x, maxElems * 2));
  CK(cudaMalloc(&d, maxElems * 4));
  CK(cudaMalloc(&bias, 4096 * 4));
  CK(cudaMalloc(&alphaVec, 4096 * 4));
  CK(cudaMalloc(&ws, wsBytes));
  CK(cudaMemset(w, 1, 4096 * 4096 * 2));
  CK(cudaMemset(x, 1, maxElems * 2));
  CK(cudaMemset(bias, 0, 4096 * 4));
  CK(cudaMemset(alphaVec, 0, 4096 * 4));
  const Case cases[] = {
      {"fp16 -> fp16, BIAS", CUDA_R_16F, CUDA_R_16F, CUDA_R_32F, CUDA_R_16F, CUBLAS_COMPUTE_32F, CUBLASLT_EPILOGUE_BIAS, false},
      {"fp16 -> fp16, GELU_BIAS", CUDA_R_16F, CUDA_R_16F, CUDA_R_32F, CUDA_R_16F, CUBLAS_COMPUTE_32F, CUBLASLT_EPILOGUE_GELU_BIAS, false},
      {"int8 -> int32 (inferrt today)", CUDA_R_8I, CUDA_R_32I, CUDA_R_32I, CUDA_R_32I, CUBLAS_COMPUTE_32I, CUBLASLT_EPILOGUE_DEFAULT, false},
      {"int8 -> int8, float alpha", CUDA_R_8I, CUDA_R_8I, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32I, CUBLASLT_EPILOGUE_DEFAULT, false},
      {"int8 -> int8, alpha per row", CUDA_R_8I, CUDA_R_8I, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32I, CUBLASLT_EPILOGUE_DEFAULT, true},
      {"int8 -> int8, BIAS (fp32 bias)", CUDA_R_8I, CUDA_R_8I, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32I, CUBLASLT_EPILOGUE_BIAS, false},
      {"int8 -> int8, alpha per row, BIAS", CUDA_R_8I, CUDA_R_8I, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32I, CUBLASLT_EPILOGUE_BIAS, true},
      {"int8 -> int8, GELU_BIAS", CUDA_R_8I, CUDA_R_8I, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32I, CUBLASLT_EPILOGUE_GELU_BIAS, false},
      {"int8 -> int8, alpha per row, GELU_BIAS", CUDA_R_8I, CUDA_R_8I, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32I, CUBLASLT_EPILOGUE_GELU_BIAS, true},
      {"fp8 e4m3 -> fp16, BIAS", CUDA_R_8F_E4M3, CUDA_R_16F, CUDA_R_32F, CUDA_R_16F, CUBLAS_COMPUTE_32F, CUBLASLT_EPILOGUE_BIAS, false},
      {"fp8 e4m3 -> fp16, GELU_BIAS", CUDA_R_8F_E4M3, CUDA_R_16F, CUDA_R_32F, CUDA_R_16F, CUBLAS_COMPUTE_32F, CUBLASLT_EPILOGUE_GELU_BIAS, false},
  };
  struct Shape { const char* name; int64_t m, n, k; };
  const Shape shapes[] = {{"FFN-in", 24576, 4096, 1024}, {"FFN-out", 24576, 1024, 4096}, {"QKV", 24576, 3072, 1024}, {"attn-out", 24576, 1024, 1024}};
  for (const Shape& s : shapes) {
    std::printf("%s m=%ld n=%ld k=%ld\n", s.name, (long)s.m, (long)s.n, (long)s.k);
    for (const Case& c : cases) run(c, s.m, s.n, s.k, w, x, d, bias, alphaVec, ws, wsBytes);
  }
  return 0;
}
