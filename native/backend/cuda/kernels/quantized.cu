// The INT8 family's elementwise kernels: QuantizeLinear into int8 (per-tensor scale, no zero point) and the
// dequantizing epilogue of QuantizedMatMul / QuantizedConvolution. Both repeat the CPU kernels' fp32 steps
// (backend/cpu/quantization.cc, quantized_layers.cc) with explicit _rn intrinsics, so nvcc can neither contract a
// multiply and an add into an FMA nor replace the division by a reciprocal: bit-exact results.
#include <algorithm>
#include <type_traits>

#include "backend/cuda/kernels/elementwise_math.cuh"
#include "backend/cuda/kernels/gemm_activation.cuh"
#include "backend/cuda/kernels/int8_quantize.cuh"
#include "backend/cuda/kernels/kernel_support.cuh"
#include "backend/cuda/kernels/quantized_launch.h"

namespace inferrt::cudakernels {

namespace {

__device__ __forceinline__ float loadFloat(const void* p, bool half, int64_t i) {
  return half ? __half2float(static_cast<const __half*>(p)[i]) : static_cast<const float*>(p)[i];
}

// The scale: read on the device (a QuantizeLinear's scale tensor), or passed by value when `scale` is null.
__device__ __forceinline__ float scaleOf(const void* scale, bool scaleHalf, float scaleValue) {
  return scale ? loadFloat(scale, scaleHalf, 0) : scaleValue;
}

// GELU (exact-erf and tanh): in double where float32 values go in and out (bit-identical to the CPU); in float, as
// the fp16 MatMul epilogue computes it, where fp16 is involved (kHalf: an epilogue's fp16 output, QuantizeLinear's
// fp16 input), where double's cost doubled BERT-large's FFN-in layer and the roundings hide the difference but for
// the rare value next to a rounding boundary (one fp16 ulp, or one int8 step).
template <bool kHalf>
__device__ __forceinline__ float activate(float v, GemmActivation act) {
  if constexpr (!kHalf) {
    if (act == GemmActivation::Gelu)
      return static_cast<float>(ew::activationDouble(EwActivation::Gelu, 0.0, 0.0, static_cast<double>(v)));
    if (act == GemmActivation::GeluTanh)
      return static_cast<float>(ew::activationDouble(EwActivation::GeluTanh, 0.0, 0.0, static_cast<double>(v)));
  }
  return applyGemmActivation(v, act);
}

// act: QuantizeLinear's activation (the builder's GELU handoff), applied to x first.
__global__ void quantizeInt8Kernel(const void* x, bool xHalf, const void* scale, bool scaleHalf, float scaleValue,
                                   GemmActivation act, int8_t* y, int64_t n) {
  const float s = scaleOf(scale, scaleHalf, scaleValue);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float v = loadFloat(x, xHalf, i);
    y[i] = quantizeDivided(xHalf ? activate<true>(v, act) : activate<false>(v, act), s);
  }
}

constexpr int kHalfPatterns = 1 << 16;

// An activation and QuantizeLinear over fp16 x by table: the int8 value of each of the 65,536 fp16 bit patterns,
// with the activation in double as the CPU computes it and the fp32 division. Elementwise, erf GELU and the division
// made the pass compute-bound (BERT-large's FFN-in: 0.19 ms per layer against 0.12 ms of memory traffic).
__global__ void halfQuantizeTableKernel(const void* scale, bool scaleHalf, float scaleValue, GemmActivation act,
                                        int8_t* table) {
  const int bits = blockIdx.x * blockDim.x + threadIdx.x;
  if (bits >= kHalfPatterns) return;
  const float v = __half2float(__ushort_as_half(static_cast<unsigned short>(bits)));
  table[bits] = quantizeDivided(activate<false>(v, act), scaleOf(scale, scaleHalf, scaleValue));
}

// y from fp16 x through the table, copied into shared memory per block: one 16-byte load, eight byte lookups and
// one 8-byte store per eight elements.
__global__ void quantizeHalfByTableKernel(const uint4* __restrict__ x, const uint4* __restrict__ table,
                                          uint2* __restrict__ y, int64_t n8) {
  extern __shared__ uint4 tableCopy[];  // kHalfPatterns bytes
  for (int i = threadIdx.x; i < kHalfPatterns / 16; i += blockDim.x) tableCopy[i] = table[i];
  __syncthreads();
  const int8_t* t = reinterpret_cast<const int8_t*>(tableCopy);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n8;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const uint4 h = x[i];
    const uint32_t in[4] = {h.x, h.y, h.z, h.w};
    uint32_t out[2] = {};
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const uint32_t bytes = static_cast<uint32_t>(static_cast<uint8_t>(t[in[j] & 0xffffu])) |
                             static_cast<uint32_t>(static_cast<uint8_t>(t[in[j] >> 16])) << 8;
      out[j / 2] |= bytes << (16 * (j % 2));
    }
    y[i] = make_uint2(out[0], out[1]);
  }
}

// Four elements per thread (16-byte fp32 or 8-byte fp16 loads, one 4-byte store): n4 groups of four, all aligned.
template <typename In>
__global__ void quantizeInt8x4Kernel(const In* __restrict__ x, const void* scale, bool scaleHalf, float scaleValue,
                                     GemmActivation act, char4* __restrict__ y, int64_t n4) {
  constexpr bool kHalf = sizeof(In) != 16;
  const float s = scaleOf(scale, scaleHalf, scaleValue);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n4;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float v[4];
    if constexpr (sizeof(In) == 16) {
      const float4 f = reinterpret_cast<const float4*>(x)[i];
      v[0] = f.x, v[1] = f.y, v[2] = f.z, v[3] = f.w;
    } else {
      const uint2 raw = reinterpret_cast<const uint2*>(x)[i];
      const float2 lo = __half22float2(*reinterpret_cast<const __half2*>(&raw.x));
      const float2 hi = __half22float2(*reinterpret_cast<const __half2*>(&raw.y));
      v[0] = lo.x, v[1] = lo.y, v[2] = hi.x, v[3] = hi.y;
    }
    if (act != GemmActivation::None) {
#pragma unroll
      for (int j = 0; j < 4; ++j) v[j] = activate<kHalf>(v[j], act);
    }
    y[i] = make_char4(quantizeDivided(v[0], s), quantizeDivided(v[1], s), quantizeDivided(v[2], s),
                      quantizeDivided(v[3], s));
  }
}

// One output element: act(float(acc) * scale + bias (+ residual)) with the CPU's fp32 roundings.
template <typename Out>
__device__ __forceinline__ float dequantizeValue(int32_t sum, float scale, const float* bias, int64_t c, float residual,
                                                 bool hasResidual, GemmActivation act) {
  float v = __fmul_rn(__int2float_rn(sum), scale);
  if (bias) v = __fadd_rn(v, bias[c]);
  if (hasResidual) v = __fadd_rn(v, residual);
  return activate<std::is_same_v<Out, __half>>(v, act);
}

__device__ __forceinline__ void storeValue(float* y, int64_t i, float v) { y[i] = v; }
__device__ __forceinline__ void storeValue(__half* y, int64_t i, float v) { y[i] = __float2half_rn(v); }

// QuantizedConvolution's epilogue: a block per (image, channel) plane (its scale and bias read once), threads over
// the plane's positions, so no per-element divisions. acc may be y itself (fp32 y): each element is read, then
// written, by one thread, so acc and y carry no __restrict__.
template <typename Out>
__global__ void int8EpilogueKernel(const int32_t* acc, const float* __restrict__ scale, const float* __restrict__ bias,
                                   const void* __restrict__ residual, bool residualHalf, Out* y,
                                   Int8EpilogueGeometry g, GemmActivation act) {
  const int64_t planes = g.images * g.channels;
  for (int64_t plane = blockIdx.x; plane < planes; plane += gridDim.x) {
    const int64_t b = plane / g.channels, c = plane % g.channels;
    const float s = scale[c];
    const int32_t* sums = acc ? acc + c * g.accChannelStride + b * g.accImageStride : nullptr;
    for (int64_t p = threadIdx.x; p < g.plane; p += blockDim.x) {
      const int64_t i = plane * g.plane + p;
      const float r = residual ? loadFloat(residual, residualHalf, i) : 0.0f;
      storeValue(y, i, dequantizeValue<Out>(sums ? sums[p] : 0, s, bias, c, r, residual, act));
    }
  }
}

// QuantizedMatMul's epilogue over y [rows, channels] from acc [rows, accStride]: a thread per column (its scale in a
// register), rows strided over the grid's y dimension: no divisions.
template <typename Out>
__global__ void int8RowsEpilogueKernel(const int32_t* acc, const float* __restrict__ scale,
                                       const float* __restrict__ bias, Out* y, int64_t rows, int64_t channels,
                                       int64_t accStride, GemmActivation act) {
  const int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (c >= channels) return;
  const float s = scale[c];
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y)
    storeValue(y, r * channels + c, dequantizeValue<Out>(acc ? acc[r * accStride + c] : 0, s, bias, c, 0.0f, false, act));
}

bool launchQuantize(const void* x, bool xHalf, const void* scale, bool scaleHalf, float scaleValue, GemmActivation act,
                    int8_t* y, int64_t n, int multiProcessors, cudaStream_t stream) {
  if (n <= 0) return true;
  if (!x || !y) return false;
  const uintptr_t need = xHalf ? 8 : 16;
  if (n % 4 == 0 && reinterpret_cast<uintptr_t>(x) % need == 0 && reinterpret_cast<uintptr_t>(y) % 4 == 0) {
    const int64_t n4 = n / 4;
    if (xHalf)
      quantizeInt8x4Kernel<uint2><<<gridFor(n4, multiProcessors), kBlock, 0, stream>>>(
          static_cast<const uint2*>(x), scale, scaleHalf, scaleValue, act, reinterpret_cast<char4*>(y), n4);
    else
      quantizeInt8x4Kernel<float4><<<gridFor(n4, multiProcessors), kBlock, 0, stream>>>(
          static_cast<const float4*>(x), scale, scaleHalf, scaleValue, act, reinterpret_cast<char4*>(y), n4);
    return true;
  }
  quantizeInt8Kernel<<<gridFor(n, multiProcessors), kBlock, 0, stream>>>(x, xHalf, scale, scaleHalf, scaleValue, act,
                                                                         y, n);
  return true;
}

}  // namespace

bool launchQuantizeInt8(const void* x, bool xHalf, const void* scale, bool scaleHalf, GemmActivation act, int8_t* y,
                        int64_t n, int multiProcessors, cudaStream_t stream) {
  return (n <= 0 || scale) && launchQuantize(x, xHalf, scale, scaleHalf, 0.0f, act, y, n, multiProcessors, stream);
}

size_t halfQuantizeTableBytes() { return kHalfPatterns; }

bool launchQuantizeHalfByTable(const void* x, const void* scale, bool scaleHalf, GemmActivation act, void* table,
                               int8_t* y, int64_t n, int multiProcessors, cudaStream_t stream) {
  const auto aligned = [](const void* p, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; };
  if (n <= 0 || n % 8 != 0 || !scale || !aligned(x, 16) || !aligned(y, 8) || !aligned(table, 16)) return false;
  // 64 KiB of shared memory is past the default 48 KiB (set per launch: the attribute is the current device's).
  if (cudaFuncSetAttribute(quantizeHalfByTableKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kHalfPatterns) !=
      cudaSuccess) {
    (void)cudaGetLastError();  // the caller checks for errors after the elementwise kernel it runs instead
    return false;
  }
  halfQuantizeTableKernel<<<kHalfPatterns / kBlock, kBlock, 0, stream>>>(scale, scaleHalf, 0.0f, act,
                                                                         static_cast<int8_t*>(table));
  // Enough blocks to fill the GPU (three 64 KiB tables fit one SM's shared memory), each copying the table once.
  const int64_t n8 = n / 8;
  const int64_t blocks = std::min<int64_t>((n8 + kBlock - 1) / kBlock, 3LL * std::max(multiProcessors, 1));
  quantizeHalfByTableKernel<<<static_cast<unsigned>(blocks), kBlock, kHalfPatterns, stream>>>(
      static_cast<const uint4*>(x), static_cast<const uint4*>(table), reinterpret_cast<uint2*>(y), n8);
  return true;
}

bool launchQuantizeInt8ByValue(const void* x, bool xHalf, float scale, int8_t* y, int64_t n, int multiProcessors,
                               cudaStream_t stream) {
  return launchQuantize(x, xHalf, nullptr, false, scale, GemmActivation::None, y, n, multiProcessors, stream);
}

bool launchInt8Epilogue(const int32_t* acc, const float* scale, const float* bias, const void* residual,
                        bool residualHalf, void* y, bool yHalf, const Int8EpilogueGeometry& g, GemmActivation act,
                        int multiProcessors, cudaStream_t stream) {
  const int64_t n = g.images * g.channels * g.plane;
  if (n <= 0) return true;
  if (!scale || !y || g.plane < 1 || g.channels < 1) return false;
  // Blocks stride over the planes: a few per multiprocessor.
  const unsigned grid = static_cast<unsigned>(std::min<int64_t>(g.images * g.channels, 32LL * std::max(multiProcessors, 1)));
  if (yHalf)
    int8EpilogueKernel<<<grid, kBlock, 0, stream>>>(acc, scale, bias, residual, residualHalf,
                                                    static_cast<__half*>(y), g, act);
  else
    int8EpilogueKernel<<<grid, kBlock, 0, stream>>>(acc, scale, bias, residual, residualHalf,
                                                    static_cast<float*>(y), g, act);
  return true;
}

bool launchInt8RowsEpilogue(const int32_t* acc, int64_t accStride, const float* scale, const float* bias, void* y,
                            bool yHalf, int64_t rows, int64_t channels, GemmActivation act, int multiProcessors,
                            cudaStream_t stream) {
  if (rows <= 0 || channels <= 0) return true;
  if (!scale || !y || (acc && accStride < channels)) return false;
  const int64_t columnBlocks = (channels + kBlock - 1) / kBlock;
  if (columnBlocks > 0x7fffffff) return false;
  // Enough row blocks to fill the GPU several times over; each strides over the rest.
  const int64_t rowBlocks = std::min<int64_t>(rows, std::max<int64_t>(1, 32LL * multiProcessors / columnBlocks + 1));
  const dim3 grid(static_cast<unsigned>(columnBlocks), static_cast<unsigned>(std::min<int64_t>(rowBlocks, 65535)));
  if (yHalf)
    int8RowsEpilogueKernel<<<grid, kBlock, 0, stream>>>(acc, scale, bias, static_cast<__half*>(y), rows, channels,
                                                        accStride, act);
  else
    int8RowsEpilogueKernel<<<grid, kBlock, 0, stream>>>(acc, scale, bias, static_cast<float*>(y), rows, channels,
                                                        accStride, act);
  return true;
}

}  // namespace inferrt::cudakernels
