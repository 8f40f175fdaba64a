// Probe, not part of the build: whether cuDNN's graph API runs what an INT8 convolution with per-channel weight
// scales needs in one kernel on this GPU, y = relu(conv(x, w) * scale[k] + bias[k]) with x, w int8 NHWC and y fp16
// or int8 (the legacy API takes only a scalar scale, and its int8 -> float kernels are slow: cudnn-int8-conv.cu),
// and how fast, summed over ResNet-50 at batch 256. A small problem is checked against a CPU reference first,
// which also shows how cuDNN rounds the int8 output. On the GPU machine:
//   nvcc -std=c++17 -O2 -arch=sm_90 -I bench/probes bench/probes/cudnn-int8-fused.cu -o /tmp/fused -lcudnn && /tmp/fused
// H100, cuDNN 9.14: the check passes (fp16 out within 4.8e-4 relative; int8 out rounded half to even, saturated);
// summed over the network -> fp16 15.5 ms and -> int8 15.0 ms, of which the 4-channel stem takes 11.1 and 11.0 ms:
// 4.4 and 4.0 ms for the other convolutions.
#include <cuda_fp16.h>
#include <cudnn.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "probe_common.cuh"
#include "resnet50_convolutions.h"

static cudnnHandle_t H;

// Descriptors made for one graph, destroyed together.
struct Pool {
  std::vector<cudnnBackendDescriptor_t> all;
  cudnnBackendDescriptor_t make(cudnnBackendDescriptorType_t t) {
    cudnnBackendDescriptor_t d;
    CK(cudnnBackendCreateDescriptor(t, &d));
    all.push_back(d);
    return d;
  }
  ~Pool() {
    for (auto d : all) cudnnBackendDestroyDescriptor(d);
  }
};

static void set(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t n, cudnnBackendAttributeType_t t, int64_t c,
                const void* v) {
  CK(cudnnBackendSetAttribute(d, n, t, c, v));
}

// [N, C, H, W] logical dims with NHWC strides.
static cudnnBackendDescriptor_t tensor(Pool& p, int64_t uid, cudnnDataType_t type, int64_t n, int64_t c, int64_t h,
                                       int64_t w, bool isVirtual) {
  auto d = p.make(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  const int64_t dims[4] = {n, c, h, w}, strides[4] = {h * w * c, 1, w * c, c}, align = 16;
  set(d, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &type);
  set(d, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims);
  set(d, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides);
  set(d, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
  set(d, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align);
  set(d, CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &isVirtual);
  CK(cudnnBackendFinalize(d));
  return d;
}

static cudnnBackendDescriptor_t pointwise(Pool& p, cudnnPointwiseMode_t mode, cudnnBackendDescriptor_t x,
                                          cudnnBackendDescriptor_t b, cudnnBackendDescriptor_t y) {
  auto pw = p.make(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
  const cudnnDataType_t prec = CUDNN_DATA_FLOAT;
  set(pw, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode);
  set(pw, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &prec);
  CK(cudnnBackendFinalize(pw));
  auto op = p.make(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
  set(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &pw);
  set(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x);
  if (b) set(op, CUDNN_ATTR_OPERATION_POINTWISE_BDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &b);
  set(op, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y);
  CK(cudnnBackendFinalize(op));
  return op;
}

struct Problem {
  int64_t n, h, c, k, r, stride;
};

enum { X = 1, W, SCALE, BIAS, Y, CONV, MUL, ADD };

// A finalized execution plan for relu(conv * scale + bias) -> y of yType, the fastest of the heuristics' configs
// that finalize (each timed on the given pointers), or null. Prints what it tried.
struct Built {
  cudnnBackendDescriptor_t plan = nullptr, pack = nullptr;
  float ms = -1;
};

static Built build(Pool& p, const Problem& q, cudnnDataType_t yType, cudnnDataType_t convOut, void* const* ptrs,
                   void* ws, int64_t wsCap, bool time) {
  const int64_t pad = q.r / 2, ho = (q.h + 2 * pad - q.r) / q.stride + 1;
  auto x = tensor(p, X, CUDNN_DATA_INT8, q.n, q.c, q.h, q.h, false);
  auto w = tensor(p, W, CUDNN_DATA_INT8, q.k, q.c, q.r, q.r, false);
  auto scale = tensor(p, SCALE, CUDNN_DATA_FLOAT, 1, q.k, 1, 1, false);
  auto bias = tensor(p, BIAS, CUDNN_DATA_FLOAT, 1, q.k, 1, 1, false);
  auto conv = tensor(p, CONV, convOut, q.n, q.k, ho, ho, true);
  auto mul = tensor(p, MUL, CUDNN_DATA_FLOAT, q.n, q.k, ho, ho, true);
  auto add = tensor(p, ADD, CUDNN_DATA_FLOAT, q.n, q.k, ho, ho, true);
  auto y = tensor(p, Y, yType, q.n, q.k, ho, ho, false);

  auto cd = p.make(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
  const cudnnDataType_t comp = CUDNN_DATA_INT32;
  const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  const int64_t nd = 2, one[2] = {1, 1}, strides[2] = {q.stride, q.stride}, pads[2] = {pad, pad};
  set(cd, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &comp);
  set(cd, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode);
  set(cd, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &nd);
  set(cd, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, one);
  set(cd, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, strides);
  set(cd, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pads);
  set(cd, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, pads);
  CK(cudnnBackendFinalize(cd));
  auto convOp = p.make(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR);
  const float alpha = 1, beta = 0;
  set(convOp, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x);
  set(convOp, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &w);
  set(convOp, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &conv);
  set(convOp, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &cd);
  set(convOp, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha);
  set(convOp, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 1, &beta);
  CK(cudnnBackendFinalize(convOp));
  cudnnBackendDescriptor_t ops[4] = {convOp, pointwise(p, CUDNN_POINTWISE_MUL, conv, scale, mul),
                                     pointwise(p, CUDNN_POINTWISE_ADD, mul, bias, add),
                                     pointwise(p, CUDNN_POINTWISE_RELU_FWD, add, nullptr, y)};
  auto graph = p.make(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  set(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 4, ops);
  set(graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &H);
  cudnnStatus_t st = cudnnBackendFinalize(graph);
  if (st != CUDNN_STATUS_SUCCESS) {
    char msg[512];
    cudnnGetLastErrorString(msg, sizeof msg);
    std::printf("    graph refused: %s %s\n", cudnnGetErrorString(st), msg);
    return {};
  }
  Built best;
  for (cudnnBackendHeurMode_t heurMode : {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK}) {
    auto heur = p.make(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    set(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &graph);
    set(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &heurMode);
    if (cudnnBackendFinalize(heur) != CUDNN_STATUS_SUCCESS) continue;
    int64_t count = 0;
    CK(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count,
                                nullptr));
    std::vector<cudnnBackendDescriptor_t> cfgs(static_cast<size_t>(count));
    for (auto& c : cfgs) c = p.make(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
    int64_t got = 0;
    CK(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, count, &got,
                                cfgs.data()));
    int tried = 0;
    for (int64_t i = 0; i < got && tried < 4; ++i) {
      auto plan = p.make(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
      set(plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &H);
      set(plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &cfgs[i]);
      st = cudnnBackendFinalize(plan);
      if (st != CUDNN_STATUS_SUCCESS) continue;
      int64_t need = 0, n = 0;
      CK(cudnnBackendGetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1, &n, &need));
      if (need > wsCap) continue;
      ++tried;
      auto pack = p.make(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
      const int64_t uids[5] = {X, W, SCALE, BIAS, Y};
      set(pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 5, uids);
      set(pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 5, ptrs);
      set(pack, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws);
      CK(cudnnBackendFinalize(pack));
      st = cudnnBackendExecute(H, plan, pack);
      if (st != CUDNN_STATUS_SUCCESS) {
        std::printf("    config %lld (heur %d) finalized but did not run: %s\n", (long long)i, (int)heurMode,
                    cudnnGetErrorString(st));
        continue;
      }
      CK(cudaDeviceSynchronize());
      const float ms = time ? timeMs([&] { cudnnBackendExecute(H, plan, pack); }) : 0.f;
      if (!best.plan || ms < best.ms) best = {plan, pack, ms};
      if (!time) return best;
    }
    if (best.plan) return best;
  }
  std::printf("    no engine config finalized and ran\n");
  return best;
}

static int8_t randomInt8(unsigned& s) {
  s = s * 1664525u + 1013904223u;
  return static_cast<int8_t>(static_cast<int>((s >> 12) % 255) - 127);
}

// Small problem against a CPU reference: fp16 output (relative error) and int8 output (how it rounds).
static void check(cudnnDataType_t convOut) {
  const Problem q = {2, 8, 16, 32, 3, 1};
  const int64_t ho = q.h, xs = q.n * q.h * q.h * q.c, ws = q.k * q.r * q.r * q.c, ys = q.n * ho * ho * q.k;
  std::vector<int8_t> hx(xs), hw(ws);
  std::vector<float> hs(q.k), hb(q.k);
  unsigned seed = 7;
  for (auto& v : hx) v = randomInt8(seed);
  for (auto& v : hw) v = randomInt8(seed);
  for (int64_t k = 0; k < q.k; ++k) {
    hs[k] = (1.0f + k % 5) / 40000.f;
    hb[k] = (k % 7 - 3) * 3.3f;
  }
  std::vector<double> ref(ys);  // relu(acc * scale + bias), NHWC
  for (int64_t n = 0; n < q.n; ++n)
    for (int64_t oh = 0; oh < ho; ++oh)
      for (int64_t ow = 0; ow < ho; ++ow)
        for (int64_t k = 0; k < q.k; ++k) {
          int64_t acc = 0;
          for (int64_t r = 0; r < q.r; ++r)
            for (int64_t s = 0; s < q.r; ++s) {
              const int64_t ih = oh + r - 1, iw = ow + s - 1;
              if (ih < 0 || iw < 0 || ih >= q.h || iw >= q.h) continue;
              for (int64_t c = 0; c < q.c; ++c)
                acc += int64_t(hx[((n * q.h + ih) * q.h + iw) * q.c + c]) * hw[((k * q.r + r) * q.r + s) * q.c + c];
            }
          const double v = double(float(acc) * hs[k] + hb[k]);
          ref[((n * ho + oh) * ho + ow) * q.k + k] = v > 0 ? v : 0;
        }
  void *x, *w, *s, *b, *y, *wsp;
  CK(cudaMalloc(&x, xs));
  CK(cudaMalloc(&w, ws));
  CK(cudaMalloc(&s, q.k * 4));
  CK(cudaMalloc(&b, q.k * 4));
  CK(cudaMalloc(&y, ys * 2));
  CK(cudaMalloc(&wsp, 64 << 20));
  CK(cudaMemcpy(x, hx.data(), xs, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(w, hw.data(), ws, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(s, hs.data(), q.k * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(b, hb.data(), q.k * 4, cudaMemcpyHostToDevice));
  void* ptrs[5] = {x, w, s, b, y};
  for (cudnnDataType_t yType : {CUDNN_DATA_HALF, CUDNN_DATA_INT8}) {
    Pool p;
    CK(cudaMemset(y, 0, ys * 2));
    const Built built = build(p, q, yType, convOut, ptrs, wsp, 64 << 20, false);
    if (!built.plan) continue;
    std::vector<uint8_t> out(ys * 2);
    CK(cudaMemcpy(out.data(), y, ys * 2, cudaMemcpyDeviceToHost));
    double maxRel = 0;
    int64_t even = 0, away = 0, other = 0, halves = 0;
    for (int64_t i = 0; i < ys; ++i) {
      if (yType == CUDNN_DATA_HALF) {
        __half h;
        std::memcpy(&h, &out[i * 2], 2);
        maxRel = std::max(maxRel, std::fabs(double(__half2float(h)) - ref[i]) / std::max(1.0, std::fabs(ref[i])));
      } else {
        const int got = static_cast<int8_t>(out[i]);
        const double v = std::min(ref[i], 127.0);
        const double fl = std::floor(v);
        if (v - fl == 0.5) ++halves;
        if (got == static_cast<int>(std::nearbyint(v))) ++even;
        else if (got == static_cast<int>(std::round(v))) ++away;
        else ++other;
      }
    }
    if (yType == CUDNN_DATA_HALF)
      std::printf("  check fp16 out: max relative error %.2e over %lld values\n", maxRel, (long long)ys);
    else
      std::printf("  check int8 out: %lld as round-half-even, %lld only as half-away, %lld neither (%lld exact halves)\n",
                  (long long)even, (long long)away, (long long)other, (long long)halves);
  }
  cudaFree(x), cudaFree(w), cudaFree(s), cudaFree(b), cudaFree(y), cudaFree(wsp);
}

int main(int argc, char** argv) {
  CK(cudnnCreate(&H));
  std::printf("cudnn %zu\n", cudnnGetVersion());
  for (cudnnDataType_t convOut : {CUDNN_DATA_FLOAT, CUDNN_DATA_INT32}) {
    std::printf("conv output (virtual) %s:\n", convOut == CUDNN_DATA_FLOAT ? "float" : "int32");
    check(convOut);
  }
  if (argc > 1 && std::strcmp(argv[1], "check") == 0) return 0;
  const int64_t n = 256, wsCap = int64_t(256) << 20;
  void *x, *w, *s, *b, *y, *ws;
  CK(cudaMalloc(&x, size_t(n) * 56 * 56 * 256));
  CK(cudaMalloc(&w, size_t(2048) * 1024 * 9));
  CK(cudaMalloc(&s, 2048 * 4));
  CK(cudaMalloc(&b, 2048 * 4));
  CK(cudaMalloc(&y, size_t(n) * 56 * 56 * 256 * 2));
  CK(cudaMalloc(&ws, wsCap));
  CK(cudaMemset(x, 1, size_t(n) * 56 * 56 * 256));
  CK(cudaMemset(w, 1, size_t(2048) * 1024 * 9));
  CK(cudaMemset(s, 0, 2048 * 4));
  CK(cudaMemset(b, 0, 2048 * 4));
  void* ptrs[5] = {x, w, s, b, y};
  double total[2] = {0, 0};
  std::printf("ResNet-50 at batch %lld, fused relu(conv * scale + bias), ms (median of 20):\n", (long long)n);
  for (const ConvShape& sh : kResNet50Convolutions) {
    const Problem q = {n, sh.h, sh.c, sh.k, sh.r, sh.stride};
    float t[2];
    int i = 0;
    for (cudnnDataType_t yType : {CUDNN_DATA_HALF, CUDNN_DATA_INT8}) {
      Pool p;
      t[i] = build(p, q, yType, CUDNN_DATA_FLOAT, ptrs, ws, wsCap, true).ms;
      if (t[i] > 0) total[i] += double(t[i]) * sh.count;
      ++i;
    }
    std::printf("H%3d C%4d K%4d R%d s%d x%d: -> fp16 %.3f  -> int8 %.3f\n", sh.h, sh.c, sh.k, sh.r, sh.stride,
                sh.count, t[0], t[1]);
    std::fflush(stdout);
  }
  std::printf("whole network: -> fp16 %.3f ms, -> int8 %.3f ms (shapes without a plan left out)\n", total[0],
              total[1]);
  return 0;
}
