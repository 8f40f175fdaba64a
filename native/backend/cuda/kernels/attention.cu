// Generic kernel of the fused Attention layer and the launcher that picks a path (the tensor-core path is in
// attention_flash.cu). Used for fp32 (strict fp32 / TF32 engines: attention math is always plain fp32 here), fp16
// with head sizes other than 32 / 64 / 128, and GPUs below sm_80.
//
// A warp per query row (b, h, i), grid-stride over rows. Keys go in chunks of 32, one key per lane: each lane forms
// its logit alpha * (q_i . k_j) + mask_ij (q read by all lanes at once: a broadcast), then the warp updates the
// online softmax (running max m, per-lane partial sums l) and accumulates p_j * v_j into the lane's output
// columns (lane + 32 c, c < R; a chunk of 32 R columns per grid row y, so any Dv works; Dv > 256 recomputes the
// logits per column chunk). Guard of the online softmax: while the running max is -inf (every logit so far -inf),
// exp uses 0 as the max, so p = 0 and the rescale factor is 0 rather than exp(-inf + inf) = NaN. A row whose
// logits are all -inf ends with m = -inf and comes out NaN, as Softmax gives; a NaN logit poisons its row's sum,
// so that row comes out NaN too (as Softmax's). The final sum is reduced across the warp once. With no keys at
// all (Sk = 0) the launcher clears the output: an empty weighted sum is 0, as the CPU reference gives.
//
// Packed sequences (cuSeqlens): the rows are (b, h, i) for i < maxSeqLen; a row past its sequence's length does
// nothing, and every sequence has at least one key for each of its queries (its own tokens).
#include <cuda_fp16.h>
#include <math_constants.h>

#include <climits>
#include <cstdint>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/attention_common.cuh"
#include "backend/cuda/kernels/kernel_support.cuh"
#include "backend/cuda/kernels/packed_sequences.h"
#include "backend/cuda/kernels/quantized_launch.h"

namespace inferrt::cudakernels {

namespace {

using attention_detail::HeadRange;
using attention_detail::headRange;
using attention_detail::gridSeqQ;
using attention_detail::maskAt;

constexpr int kWarp = 32;
constexpr int kRowWarps = 4;  // warps (query rows) per block of the generic kernel

__device__ inline float warpMax(float v) {
#pragma unroll
  for (int o = kWarp / 2; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ inline float warpSum(float v) {
#pragma unroll
  for (int o = kWarp / 2; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// T: float or __half (q, k, v, out). R: output columns per lane (this block row's chunk is 32 R columns wide).
template <typename T, int R>
__global__ void __launch_bounds__(kRowWarps* kWarp) attentionRowsKernel(const AttentionLaunch p) {
  const int lane = static_cast<int>(threadIdx.x) % kWarp;
  const int64_t seqRows = gridSeqQ(p);
  const int64_t rows = p.batch * p.heads * seqRows;
  const int64_t col0 = static_cast<int64_t>(blockIdx.y) * kWarp * R;  // first output column of this chunk
  const T* q = static_cast<const T*>(p.q);
  const T* k = static_cast<const T*>(p.k);
  const T* v = static_cast<const T*>(p.v);
  T* out = static_cast<T*>(p.out);
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kRowWarps + threadIdx.x / kWarp; row < rows;
       row += static_cast<int64_t>(gridDim.x) * kRowWarps) {  // uniform per warp
    const int64_t i = row % seqRows, bh = row / seqRows;
    const HeadRange r = headRange(p, bh / p.heads, bh % p.heads);
    if (i >= r.seqQ) continue;  // packed sequences: past this sequence's length
    const T* qRow = q + r.q + i * p.qStride.s;
    const int64_t maskRow = r.mask + i * p.maskStride[2];
    float acc[R];
#pragma unroll
    for (int c = 0; c < R; ++c) acc[c] = 0.0f;
    float m = -CUDART_INF_F, lPart = 0.0f;
    for (int64_t j0 = 0; j0 < r.seqK; j0 += kWarp) {
      const int64_t j = j0 + lane;
      float s = -CUDART_INF_F;
      if (j < r.seqK) {
        const T* kRow = k + r.k + j * p.kStride.s;
        float dot = 0.0f;
        for (int64_t d = 0; d < p.headDim; ++d) dot += loadAsFloat(qRow, d) * loadAsFloat(kRow, d);
        s = p.alpha * dot;
        if (p.mask) s += maskAt(p, maskRow + j * p.maskStride[3]);
      }
      const float mNew = fmaxf(m, warpMax(s));
      const float mUse = mNew == -CUDART_INF_F ? 0.0f : mNew;  // the guard (see the top of the file)
      const float pj = expf(s - mUse), scale = expf(m - mUse);
      m = mNew;
      lPart = lPart * scale + pj;
#pragma unroll
      for (int c = 0; c < R; ++c) acc[c] *= scale;
      const int n = r.seqK - j0 < kWarp ? static_cast<int>(r.seqK - j0) : kWarp;
      for (int jj = 0; jj < n; ++jj) {
        const float w = __shfl_sync(0xffffffffu, pj, jj);
        const T* vRow = v + r.v + (j0 + jj) * p.vStride.s;
#pragma unroll
        for (int c = 0; c < R; ++c) {
          const int64_t d = col0 + c * kWarp + lane;
          if (d < p.valueDim) acc[c] += w * loadAsFloat(vRow, d);
        }
      }
    }
    const float l = warpSum(lPart);
    const float inv = m == -CUDART_INF_F ? CUDART_NAN_F : 1.0f / l;  // all logits -inf: NaN, as Softmax gives
    const bool zero = p.zeroNanRows && !(l > 0.0f);                       // a NaN row (sum 0 or NaN) stored as 0
    T* oRow = out + r.out + i * p.outStride.s;
#pragma unroll
    for (int c = 0; c < R; ++c) {
      const int64_t d = col0 + c * kWarp + lane;
      if (d < p.valueDim) storeFromFloat(oRow, d, zero ? 0.0f : acc[c] * inv);
    }
  }
}

template <typename T, int R>
void launchRows(const AttentionLaunch& a) {
  const int64_t rows = a.batch * a.heads * gridSeqQ(a);
  const int64_t blocks = (rows + kRowWarps - 1) / kRowWarps;
  const int64_t chunks = (a.valueDim + kWarp * R - 1) / (kWarp * R);
  const dim3 grid(static_cast<unsigned>(blocks < INT_MAX ? blocks : INT_MAX), static_cast<unsigned>(chunks));
  attentionRowsKernel<T, R><<<grid, kRowWarps * kWarp, 0, a.stream>>>(a);
  INFERRT_CUDA_CHECK(cudaGetLastError());
}

template <typename T>
void launchGeneric(const AttentionLaunch& a) {
  if (a.valueDim <= kWarp) return launchRows<T, 1>(a);
  if (a.valueDim <= 2 * kWarp) return launchRows<T, 2>(a);
  if (a.valueDim <= 4 * kWarp) return launchRows<T, 4>(a);
  launchRows<T, 8>(a);  // Dv > 256: several column chunks (grid y)
}

}  // namespace

void launchAttention(const AttentionLaunch& a) {
  if (a.cuSeqlens) {
    // Checked even when there is nothing to write: a bad cu_seqlens is an error whatever the token count.
    launchValidateCuSeqlens(a.cuSeqlens, a.batch, a.totalTokens, a.maxSeqLen, a.minSeqLen, a.deviceError,
                            a.multiProcessors, a.stream);
    if (a.batch <= 0 || a.maxSeqLen <= 0) return;  // no sequence can hold a token (the check flagged any)
  }
  const int64_t outElems = (a.cuSeqlens ? a.totalTokens : a.batch * a.seqQ) * a.heads * a.valueDim;
  if (outElems == 0) return;  // nothing to write
  // No keys (dense only: a packed sequence's queries are its keys): an empty weighted sum, 0 (as the CPU reference
  // gives); +0 is all-zero bits.
  const bool int8Out = a.outScale > 0.0f;
  if (!a.cuSeqlens && a.seqK == 0) {
    const size_t bytes = static_cast<size_t>(outElems) * (int8Out ? 1 : a.half ? 2 : 4);
    INFERRT_CUDA_CHECK(cudaMemsetAsync(a.out, 0, bytes, a.stream));
    return;
  }
  if (a.allowTensorCores && launchFlashAttention(a)) return;  // quantizes in its stores
  AttentionLaunch g = a;
  if (int8Out) {  // the float output first, into the staging buffer (out's layout), then QuantizeLinear's pass
    g.out = a.outStaging;
    g.outScale = 0.0f;
  }
  if (a.half) launchGeneric<__half>(g);
  else launchGeneric<float>(g);
  if (!int8Out) return;
  // Both buffers are non-null (attention.cc), so the launcher takes them.
  (void)launchQuantizeInt8ByValue(g.out, a.half, a.outScale, static_cast<int8_t*>(a.out), outElems, a.multiProcessors,
                                  a.stream);
  INFERRT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace inferrt::cudakernels
