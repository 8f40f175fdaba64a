#include "backend/cuda/kernels/gemm_shape.h"

#include <tuple>

namespace inferrt::cublaslt {

namespace {

auto fields(const GemmShape& s) {
  return std::tie(s.half, s.allowTf32, s.int8, s.transA, s.transB, s.m, s.n, s.k, s.lda, s.ldb, s.ldd, s.batch,
                  s.strideA, s.strideB, s.strideD, s.epilogue, s.alignA, s.alignB, s.alignD, s.alignBias);
}

const char* epilogueName(GemmEpilogue e) {
  switch (e) {
    case GemmEpilogue::Bias: return "bias";
    case GemmEpilogue::Relu: return "relu";
    case GemmEpilogue::ReluBias: return "relu_bias";
    case GemmEpilogue::Gelu: return "gelu";
    case GemmEpilogue::GeluBias: return "gelu_bias";
    default: return "none";
  }
}

}  // namespace

bool operator==(const GemmShape& a, const GemmShape& b) { return fields(a) == fields(b); }

std::string gemmKey(const GemmShape& s) {
  const bool tf32 = !s.int8 && !s.half && s.allowTf32;
  auto n = [](int64_t v) { return std::to_string(v); };
  const char* a = s.int8 ? "i8" : (s.half ? "f16" : "f32");
  const char* d = s.int8 ? "i32" : a;
  return std::string("a=") + a + ",d=" + d + ",tf32=" + (tf32 ? "1" : "0") +
         ",tA=" + (s.transA ? "1" : "0") + ",tB=" + (s.transB ? "1" : "0") + ",m=" + n(s.m) + ",n=" + n(s.n) +
         ",k=" + n(s.k) + ",lda=" + n(s.lda) + ",ldb=" + n(s.ldb) + ",ldd=" + n(s.ldd) + ",batch=" + n(s.batch) +
         ",sA=" + n(s.strideA) + ",sB=" + n(s.strideB) + ",sD=" + n(s.strideD) + ",epi=" + epilogueName(s.epilogue) +
         ",al=" + n(s.alignA) + "." + n(s.alignB) + "." + n(s.alignD) + "." + n(s.hasBias() ? s.alignBias : 0);
}

std::string describeGemm(const GemmShape& s) {
  const char* type = s.int8 ? "int8" : s.half ? "fp16" : (s.allowTf32 ? "fp32 (tf32)" : "fp32");
  return std::string(type) + " GEMM M=" + std::to_string(s.m) +
         " N=" + std::to_string(s.n) + " K=" + std::to_string(s.k) + " batch=" + std::to_string(s.batch) +
         (s.transA ? " transA" : "") + (s.transB ? " transB" : "");
}

}  // namespace inferrt::cublaslt
