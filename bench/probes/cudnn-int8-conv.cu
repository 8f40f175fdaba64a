// Probe, not part of the build: what cuDNN's legacy API offers an INT8 ResNet-50 (batch 256, NHWC) on this GPU, per
// convolution shape and summed over the network: FP16 (the FP16 engine's path, fused bias + relu), int8 x int8 with
// float output (per-channel dequantization would follow in our own pass), and int8 with int8 output, plain and with
// the fused bias + relu (a per-tensor requantizing scale only). Timing only (operands are constant bytes).
// On the GPU machine:
//   nvcc -std=c++17 -O2 -arch=sm_90 -I bench/probes bench/probes/cudnn-int8-conv.cu -o /tmp/int8-conv -lcudnn && /tmp/int8-conv
// H100, cuDNN 9.14, summed over the network: fp16 + bias + relu 15.9 ms, int8 -> float 117.9 ms (about 3 ms per
// convolution, whatever its size), int8 -> int8 10.8 ms, with bias + relu 11.0 ms; the 4-channel stem alone 3.6-4.0
// ms in every mode. (This probe times single calls on constant bytes: its fp16 sum is twice the engine's.)
#include <cuda_fp16.h>
#include <cudnn.h>

#include <cstdio>
#include <vector>

#include "probe_common.cuh"
#include "resnet50_convolutions.h"


static cudnnHandle_t H;

struct Descs {
  cudnnTensorDescriptor_t x, y, bias;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
  cudnnActivationDescriptor_t relu;
};

static Descs make(const ConvShape& s, int n, cudnnDataType_t in, cudnnDataType_t out, cudnnDataType_t compute) {
  Descs d;
  const int pad = s.r / 2, ho = (s.h + 2 * pad - s.r) / s.stride + 1;
  CK(cudnnCreateTensorDescriptor(&d.x));
  CK(cudnnCreateTensorDescriptor(&d.y));
  CK(cudnnCreateTensorDescriptor(&d.bias));
  CK(cudnnCreateFilterDescriptor(&d.w));
  CK(cudnnCreateConvolutionDescriptor(&d.conv));
  CK(cudnnCreateActivationDescriptor(&d.relu));
  CK(cudnnSetTensor4dDescriptor(d.x, CUDNN_TENSOR_NHWC, in, n, s.c, s.h, s.h));
  CK(cudnnSetTensor4dDescriptor(d.y, CUDNN_TENSOR_NHWC, out, n, s.k, ho, ho));
  const cudnnDataType_t biasType = out == CUDNN_DATA_HALF ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
  CK(cudnnSetTensor4dDescriptor(d.bias, CUDNN_TENSOR_NHWC, biasType, 1, s.k, 1, 1));
  CK(cudnnSetFilter4dDescriptor(d.w, in, CUDNN_TENSOR_NHWC, s.k, s.c, s.r, s.r));
  CK(cudnnSetConvolution2dDescriptor(d.conv, pad, pad, s.stride, s.stride, 1, 1, CUDNN_CROSS_CORRELATION, compute));
  CK(cudnnSetConvolutionMathType(d.conv, CUDNN_TENSOR_OP_MATH));
  CK(cudnnSetActivationDescriptor(d.relu, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 1e30));
  return d;
}

// Fastest algorithm by cudnnFind (timed once per shape) within `cap` bytes of workspace, or IMPLICIT_PRECOMP_GEMM when Find offers none.
static cudnnConvolutionFwdAlgo_t pick(const Descs& d, size_t& ws, size_t cap) {
  cudnnConvolutionFwdAlgoPerf_t perf[16];
  int n = 0;
  cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
  if (cudnnFindConvolutionForwardAlgorithm(H, d.x, d.w, d.conv, d.y, 16, &n, perf) == CUDNN_STATUS_SUCCESS)
    for (int i = 0; i < n; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= cap) {
        algo = perf[i].algo;
        CK(cudnnSetConvolutionMathType(d.conv, perf[i].mathType));
        break;
      }
  ws = 0;
  if (cudnnGetConvolutionForwardWorkspaceSize(H, d.x, d.w, d.conv, d.y, algo, &ws) != CUDNN_STATUS_SUCCESS) ws = 0;
  return algo;
}

// Median ms of one mode, or -1 when cuDNN refuses it (the status is printed).
static float timeMode(const ConvShape& s, int n, cudnnDataType_t in, cudnnDataType_t out, cudnnDataType_t compute,
                      bool fused, void* x, void* w, void* y, void* bias, void* ws, size_t wsCap) {
  Descs d = make(s, n, in, out, compute);
  size_t need = 0;
  const cudnnConvolutionFwdAlgo_t algo = pick(d, need, wsCap);
  if (need > wsCap) return -2;
  const float one = 1, zero = 0;
  auto run = [&] {
    return fused ? cudnnConvolutionBiasActivationForward(H, &one, d.x, x, d.w, w, d.conv, algo, ws, need, &zero, d.y,
                                                         y, d.bias, bias, d.relu, d.y, y)
                 : cudnnConvolutionForward(H, &one, d.x, x, d.w, w, d.conv, algo, ws, need, &zero, d.y, y);
  };
  const cudnnStatus_t st = run();
  if (st != CUDNN_STATUS_SUCCESS) {
    std::printf("    refused (%s, algo %d): %s\n", fused ? "fused" : "plain", (int)algo, cudnnGetErrorString(st));
    cudaGetLastError();
    return -1;
  }
  CK(cudaDeviceSynchronize());
  return timeMs([&] { run(); });
}

int main() {
  const int n = 256;
  CK(cudnnCreate(&H));
  const size_t xBytes = size_t(n) * 56 * 56 * 256 * 2, yBytes = size_t(n) * 56 * 56 * 256 * 4;
  const size_t wsCap = size_t(256) << 20;
  void *x, *w, *y, *bias, *ws;
  CK(cudaMalloc(&x, xBytes));
  CK(cudaMalloc(&w, size_t(2048) * 1024 * 2 * 9));
  CK(cudaMalloc(&y, yBytes));
  CK(cudaMalloc(&bias, 2048 * 4));
  CK(cudaMalloc(&ws, wsCap));
  CK(cudaMemset(x, 1, xBytes));
  CK(cudaMemset(w, 1, size_t(2048) * 1024 * 2 * 9));
  CK(cudaMemset(bias, 0, 2048 * 4));
  const char* names[] = {"fp16 bias+relu", "int8 -> float", "int8 -> int8", "int8 -> int8 bias+relu",
                         "int8 -> float bias+relu"};
  double total[5] = {0, 0, 0, 0, 0};
  std::printf("ResNet-50 convolutions, batch %d, NHWC; ms per call (median of 20); cudnn %zu\n", n,
              cudnnGetVersion());
  for (const ConvShape& s : kResNet50Convolutions) {
    const float t[5] = {
        timeMode(s, n, CUDNN_DATA_HALF, CUDNN_DATA_HALF, CUDNN_DATA_FLOAT, true, x, w, y, bias, ws, wsCap),
        timeMode(s, n, CUDNN_DATA_INT8, CUDNN_DATA_FLOAT, CUDNN_DATA_INT32, false, x, w, y, bias, ws, wsCap),
        timeMode(s, n, CUDNN_DATA_INT8, CUDNN_DATA_INT8, CUDNN_DATA_INT32, false, x, w, y, bias, ws, wsCap),
        timeMode(s, n, CUDNN_DATA_INT8, CUDNN_DATA_INT8, CUDNN_DATA_INT32, true, x, w, y, bias, ws, wsCap),
        timeMode(s, n, CUDNN_DATA_INT8, CUDNN_DATA_FLOAT, CUDNN_DATA_INT32, true, x, w, y, bias, ws, wsCap),
    };
    std::printf("H%3d C%4d K%4d R%d s%d x%d:", s.h, s.c, s.k, s.r, s.stride, s.count);
    for (int i = 0; i < 5; ++i) {
      std::printf("  %s %.3f", names[i], t[i]);
      if (t[i] > 0) total[i] += double(t[i]) * s.count;
    }
    std::printf("\n");
  }
  std::printf("whole network (sum over shapes x count, refused shapes left out):\n");
  for (int i = 0; i < 5; ++i) std::printf("  %-24s %.3f ms\n", names[i], total[i]);
  return 0;
}
