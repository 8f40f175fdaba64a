// Probe, not part of the build: BERT-large's INT8 GEMMs (T = 24576 tokens) as 1x1 int8 convolutions through the
// library's own cuDNN graph (cudnn_int8_convolution.cc): y = act(acc * scale[n] + bias[n] (+ residual)) with fp16 or
// int8 output in one kernel, where cuBLASLt's int8 GEMM must write int32 sums for a second pass
// (cublaslt-int8-options.cu has those and the fp16 baselines). Which N, H, W split of the tokens cuDNN runs fastest,
// and a small problem checked against a CPU reference with each activation. On the GPU machine:
//   bash bench/probes/cudnn-int8-matmul.sh
// H100, cuDNN 9.14, fp16 out, ms (cuBLASLt 13.1 in the same run: fp16 GEMM + bias | int8 -> int32 sums alone):
//   QKV (N 3072, K 1024)                     0.138 | 0.221 | 0.160
//   attn-out + fp16 residual (1024, 1024)    0.071 | 0.082 | 0.071
//   FFN-in + erf GELU (4096, 1024)           0.342 | 0.315 (tanh GELU)
//   FFN-out + fp16 residual (1024, 4096)     0.152 | 0.244 | 0.145
// The three token splits ran alike. Check: fp16 out within 0.5 fp16 ulp (none, relu), 2.3 (erf GELU), 13.7 (tanh
// GELU); int8 out within 1 step.
// Again at 6fa529f on random operands (H100, cuDNN 9.14), ms, fp16 | int8 out: QKV 0.146 | 0.137; FFN-in 0.184 |
// 0.185; + erf GELU 0.342 | 0.357; + tanh GELU 0.205 | 0.215. Exact GELU as x * sigmoid of a rational function of
// x (15 pointwise steps: clamp, two polynomials, DIV, SIGMOID, MUL; 1.8e-6 from erf GELU in fp32) ran 0.752 |
// 0.744 ms and was 22 fp16 ulps off: the longer the chain, the slower cuDNN's runtime-fused kernel (reverted).
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "backend/cuda/kernels/cudnn_int8_convolution.h"
#include "ir/error.h"
#include "probe_common.cuh"

using inferrt::cudnnint8::Int8Activation;
using inferrt::cudnnint8::Int8ConvProblem;

static cudnnHandle_t H;  // on the default stream, which timeMs times

// rows x K times N x K as a 1x1 convolution over rows = n * h * w pixels.
static Int8ConvProblem gemm(int64_t n, int64_t h, int64_t w, int64_t k, int64_t outChannels, Int8Activation act) {
  Int8ConvProblem p;
  p.batch = n;
  p.channels = k;
  p.outChannels = outChannels;
  p.in[0] = p.out[0] = h;
  p.in[1] = p.out[1] = w;
  p.bias = true;
  p.halfOutput = true;
  p.activation = act;
  return p;
}

static double activate(double v, Int8Activation act) {
  if (act == Int8Activation::Relu) return v > 0 ? v : 0;
  if (act == Int8Activation::Gelu) return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
  if (act == Int8Activation::GeluTanh)
    return 0.5 * v * (1 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
  return v;
}

static int8_t randomInt8(unsigned& s) {
  s = s * 1664525u + 1013904223u;
  return static_cast<int8_t>(static_cast<int>((s >> 12) % 255) - 127);
}

// rows 96, K 64, N 48 against a CPU reference in double: fp16 output (largest error in fp16 ulps of the reference)
// and int8 output (steps away from round-half-even of the reference).
static void check(Int8Activation act, bool int8Out) {
  const int64_t rows = 96, k = 64, n = 48;
  std::vector<int8_t> hx(rows * k), hw(n * k);
  std::vector<float> hs(n), hb(n);
  unsigned seed = 11;
  for (auto& v : hx) v = randomInt8(seed);
  for (auto& v : hw) v = randomInt8(seed);
  for (int64_t c = 0; c < n; ++c) hs[c] = (1.0f + c % 5) / 20000.f, hb[c] = (c % 7 - 3) * 0.3f;
  const float outScale = 0.02f;
  std::vector<double> ref(rows * n);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < n; ++c) {
      int64_t acc = 0;
      for (int64_t i = 0; i < k; ++i) acc += int64_t(hx[r * k + i]) * hw[c * k + i];
      ref[r * n + c] = activate(double(float(acc) * hs[c] + hb[c]), act);
    }
  Int8ConvProblem p = gemm(rows / 8, 4, 2, k, n, act);
  if (int8Out) p.outputScale = outScale, p.halfOutput = false;
  void *x, *w, *s, *b, *y;
  CK(cudaMalloc(&x, hx.size()));
  CK(cudaMalloc(&w, hw.size()));
  CK(cudaMalloc(&s, n * 4));
  CK(cudaMalloc(&b, n * 4));
  CK(cudaMalloc(&y, rows * n * 2));
  CK(cudaMemcpy(x, hx.data(), hx.size(), cudaMemcpyHostToDevice));
  CK(cudaMemcpy(w, hw.data(), hw.size(), cudaMemcpyHostToDevice));
  CK(cudaMemcpy(s, hs.data(), n * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(b, hb.data(), n * 4, cudaMemcpyHostToDevice));
  auto plan = inferrt::cudnnint8::planInt8Convolution(p, H, 0);
  void* ws = nullptr;
  if (inferrt::cudnnint8::workspaceSize(*plan)) CK(cudaMalloc(&ws, inferrt::cudnnint8::workspaceSize(*plan)));
  inferrt::cudnnint8::runInt8Convolution(*plan, H, x, w, (float*)s, (float*)b, nullptr, y, nullptr, ws);
  CK(cudaDeviceSynchronize());
  std::vector<uint8_t> out(rows * n * 2);
  CK(cudaMemcpy(out.data(), y, out.size(), cudaMemcpyDeviceToHost));
  double worst = 0;
  for (int64_t i = 0; i < rows * n; ++i) {
    if (int8Out) {
      const double want = std::nearbyint(std::fmax(-128.0, std::fmin(127.0, ref[i] / outScale)));
      worst = std::fmax(worst, std::fabs(double(static_cast<int8_t>(out[i])) - want));
    } else {
      __half got;
      std::memcpy(&got, &out[i * 2], 2);
      const double want = ref[i];
      const double ulp = std::ldexp(1.0, std::max(-24, std::ilogb(std::fmax(std::fabs(want), 6.1e-5)) - 10));
      worst = std::fmax(worst, std::fabs(double(__half2float(got)) - want) / ulp);
    }
  }
  std::printf("  check activation %d, %s out: worst %.2f %s\n", (int)act, int8Out ? "int8" : "fp16", worst,
              int8Out ? "steps" : "fp16 ulps");
  cudaFree(x), cudaFree(w), cudaFree(s), cudaFree(b), cudaFree(y), cudaFree(ws);
}

int main() {
  setvbuf(stdout, nullptr, _IONBF, 0);
  CK(cudnnCreate(&H));
  cudaDeviceProp prop;
  CK(cudaGetDeviceProperties(&prop, 0));
  std::printf("%s, cuDNN %zu\n", prop.name, cudnnGetVersion());
  try {
    for (Int8Activation act :
         {Int8Activation::None, Int8Activation::Relu, Int8Activation::Gelu, Int8Activation::GeluTanh})
      for (bool int8Out : {false, true}) check(act, int8Out);
  } catch (const inferrt::Error& e) {
    std::printf("  check failed: %s\n", e.what());
  }

  const int64_t tokens = 24576;
  void *x, *w, *s, *b, *y, *r, *ws;
  CK(cudaMalloc(&x, tokens * 4096));
  CK(cudaMalloc(&w, 4096 * 4096));
  CK(cudaMalloc(&s, 4096 * 4));
  CK(cudaMalloc(&b, 4096 * 4));
  CK(cudaMalloc(&y, tokens * 4096 * 2));
  CK(cudaMalloc(&r, tokens * 4096 * 2));
  CK(cudaMalloc(&ws, size_t(256) << 20));
  {  // random int8 operands, scales of a realistic size (constant ones draw less power)
    unsigned seed = 5;
    std::vector<int8_t> block(size_t(1) << 24);
    for (auto& v : block) v = randomInt8(seed);
    for (size_t at = 0; at < size_t(tokens) * 4096; at += block.size())
      CK(cudaMemcpy(static_cast<char*>(x) + at, block.data(), block.size(), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(w, block.data(), block.size(), cudaMemcpyHostToDevice));
    std::vector<float> scales(4096);
    for (size_t i = 0; i < scales.size(); ++i) scales[i] = 1e-4f * (1 + i % 7);
    CK(cudaMemcpy(s, scales.data(), scales.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(b, scales.data(), scales.size() * 4, cudaMemcpyHostToDevice));
  }
  CK(cudaMemset(r, 0, tokens * 4096 * 2));
  struct Shape {
    const char* name;
    int64_t n, k;
    Int8Activation act;
    bool residual;
  };
  const Shape shapes[] = {{"QKV", 3072, 1024, Int8Activation::None, false},
                          {"attn-out + residual", 1024, 1024, Int8Activation::None, true},
                          {"FFN-in", 4096, 1024, Int8Activation::None, false},
                          {"FFN-in + GELU", 4096, 1024, Int8Activation::Gelu, false},
                          {"FFN-in + tanh GELU", 4096, 1024, Int8Activation::GeluTanh, false},
                          {"FFN-out + residual", 1024, 4096, Int8Activation::None, true}};
  const int64_t splits[][3] = {{tokens, 1, 1}};  // {64, 384, 1} and {64, 24, 16} ran alike
  for (const Shape& sh : shapes) {
    for (bool int8Out : {false, true}) {
      if (int8Out && sh.residual) continue;
      for (const auto& split : splits) {
        Int8ConvProblem p = gemm(split[0], split[1], split[2], sh.k, sh.n, sh.act);
        p.residual = sh.residual;
        p.residualHalf = sh.residual;
        if (int8Out) p.outputScale = 0.5f, p.halfOutput = false;
        try {
          auto plan = inferrt::cudnnint8::planInt8Convolution(p, H, 0);
          const float ms = timeMs([&] {
            inferrt::cudnnint8::runInt8Convolution(*plan, H, x, w, (float*)s, (float*)b, r, y, nullptr, ws);
          });
          const double tops = 2.0 * tokens * sh.n * sh.k / 1e9 / ms;
          std::printf("%-22s -> %s, N %5lld H %3lld W %2lld: %.4f ms (%4.0f TOP/s)\n", sh.name,
                      int8Out ? "int8" : "fp16", (long long)split[0], (long long)split[1], (long long)split[2], ms, tops);
        } catch (const inferrt::Error& e) {
          std::printf("%-22s split %lld x %lld x %lld: %s\n", sh.name, (long long)split[0], (long long)split[1],
                      (long long)split[2], e.what());
        }
      }
    }
  }
  return 0;
}
