// CUDA kernel of PackedEmbLayerNorm v1: a warp per token, grid-stride over the T tokens (8 warps per block).
//
// Each warp finds its token's sequence b by binary search over cu_seqlens (the largest b with cu[b] <= t, which
// skips empty sequences), its position t - cu[b] + position_offset, and the three table rows it reads. A token
// whose sequence breaks the cu_seqlens rules, or whose id, segment id or position falls outside its table, flags
// the layer's device error and gets a zero row; nothing is read or written out of bounds (the launcher's
// validation kernel runs first, so a bad cu_seqlens is reported as such even where no token notices it).
//
// Math, in fp32 as the spec orders it: e = (word + type) + position; mean, then the mean of squared deviations
// (two passes, biased variance); y = (e - mean) / sqrt(var + eps) * gamma + beta, rounded once to the output type.
// Rows of up to 1024 elements stay in registers (each lane holds elements lane + 32 c), so the tables are read once;
// longer rows recompute e from the tables in each pass.
#include <cuda_fp16.h>

#include <cstdint>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/kernel_support.cuh"
#include "backend/cuda/kernels/packed_sequences.cuh"
#include "backend/cuda/kernels/packed_sequences.h"
#include "packed_emb_layernorm_launch.h"

namespace inferrt::bert_cuda {

namespace {

using cudakernels::kInvalidSequenceOffsets;
using cudakernels::loadAsFloat;
using cudakernels::reportDeviceError;
using cudakernels::SequenceSpan;
using cudakernels::storeFromFloat;

constexpr int kWarp = 32;
constexpr int kWarpsPerBlock = 8;
constexpr int kMaxPerLane = 32;  // register path: hidden <= 32 * 32

__device__ inline float warpSum(float v) {
#pragma unroll
  for (int o = kWarp / 2; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// The table rows one token reads; type is null without a token-type table.
template <typename T>
struct TokenRows {
  const T* word;
  const T* type;
  const T* position;
};

// Finds token t's rows; returns 0, or the error code that stops the token.
template <typename T>
__device__ inline int32_t tokenRows(const PackedEmbLayerNormLaunch& p, int64_t t, TokenRows<T>& rows) {
  const int64_t b = cudakernels::sequenceOfToken(p.cuSeqlens, p.batch, t);
  if (b < 0) return kInvalidSequenceOffsets;
  const SequenceSpan s = cudakernels::sequenceSpan(p.cuSeqlens, b, p.batch, p.tokens, p.maxSeqLen);
  if (t < s.start || t >= s.start + s.length) return kInvalidSequenceOffsets;
  const int64_t pos = t - s.start + p.positionOffset;
  const int64_t id = p.inputIds[t];
  if (pos < 0 || pos >= p.positions || id < 0 || id >= p.vocab) return kIdOutOfRange;
  rows.word = static_cast<const T*>(p.word) + id * p.hidden;
  rows.position = static_cast<const T*>(p.position) + pos * p.hidden;
  rows.type = nullptr;
  if (p.tokenType) {
    const int64_t seg = p.segmentIds ? p.segmentIds[t] : 0;
    if (seg < 0 || seg >= p.types) return kIdOutOfRange;
    rows.type = static_cast<const T*>(p.tokenType) + seg * p.hidden;
  }
  return 0;
}

// e[k] = (word[k] + type[k]) + position[k] in fp32 (word[k] + position[k] without a type table).
template <typename T>
__device__ inline float embeddingAt(const TokenRows<T>& r, int64_t k) {
  const float w = loadAsFloat(r.word, k);
  const float e = r.type ? __fadd_rn(w, loadAsFloat(r.type, k)) : w;
  return __fadd_rn(e, loadAsFloat(r.position, k));
}

// kPerLane > 0: the row in registers (hidden <= 32 kPerLane); 0: e recomputed in each pass (any hidden).
template <typename T, int kPerLane>
__global__ void __launch_bounds__(kWarpsPerBlock* kWarp) packedEmbLayerNormKernel(const PackedEmbLayerNormLaunch p) {
  constexpr bool kInRegs = kPerLane > 0;
  const int lane = static_cast<int>(threadIdx.x) % kWarp;
  const int64_t hidden = p.hidden;
  const T* gamma = static_cast<const T*>(p.gamma);
  const T* beta = static_cast<const T*>(p.beta);
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp; t < p.tokens;
       t += static_cast<int64_t>(gridDim.x) * kWarpsPerBlock) {  // uniform per warp
    T* y = static_cast<T*>(p.out) + t * hidden;
    TokenRows<T> r;
    const int32_t error = tokenRows(p, t, r);  // uniform per warp: every lane reads the same values
    if (error != 0) {
      if (lane == 0) reportDeviceError(p.deviceError, error);
      for (int64_t k = lane; k < hidden; k += kWarp) storeFromFloat(y, k, 0.0f);
      continue;
    }
    float v[kInRegs ? kPerLane : 1];
    float sum = 0.0f;
    if constexpr (kInRegs) {
#pragma unroll
      for (int c = 0; c < kPerLane; ++c) {
        const int64_t k = c * kWarp + lane;
        v[c] = k < hidden ? embeddingAt(r, k) : 0.0f;
        sum += v[c];
      }
    } else {
      for (int64_t k = lane; k < hidden; k += kWarp) sum += embeddingAt(r, k);
    }
    const float mean = warpSum(sum) / static_cast<float>(hidden);
    float sq = 0.0f;
    if constexpr (kInRegs) {
#pragma unroll
      for (int c = 0; c < kPerLane; ++c) {
        const float d = v[c] - mean;
        if (c * kWarp + lane < hidden) sq += d * d;
      }
    } else {
      for (int64_t k = lane; k < hidden; k += kWarp) {
        const float d = embeddingAt(r, k) - mean;
        sq += d * d;
      }
    }
    const float var = warpSum(sq) / static_cast<float>(hidden);
    const float inv = 1.0f / sqrtf(var + p.epsilon);
    if constexpr (kInRegs) {
#pragma unroll
      for (int c = 0; c < kPerLane; ++c) {
        const int64_t k = c * kWarp + lane;
        if (k < hidden) storeFromFloat(y, k, (v[c] - mean) * inv * loadAsFloat(gamma, k) + loadAsFloat(beta, k));
      }
    } else {
      for (int64_t k = lane; k < hidden; k += kWarp)
        storeFromFloat(y, k, (embeddingAt(r, k) - mean) * inv * loadAsFloat(gamma, k) + loadAsFloat(beta, k));
    }
  }
}

template <typename T, int kPerLane>
void launchKernel(const PackedEmbLayerNormLaunch& a) {
  const int64_t blocks = (a.tokens + kWarpsPerBlock - 1) / kWarpsPerBlock;
  const int64_t cap = static_cast<int64_t>(a.multiProcessors > 0 ? a.multiProcessors : 80) * 32;
  const unsigned grid = static_cast<unsigned>(blocks < cap ? blocks : cap);  // grid-stride covers the rest
  packedEmbLayerNormKernel<T, kPerLane><<<grid, kWarpsPerBlock * kWarp, 0, a.stream>>>(a);
}

// The smallest register path that holds the row, else the recomputing one.
template <typename T>
void launchFor(const PackedEmbLayerNormLaunch& a) {
  const int64_t perLane = (a.hidden + kWarp - 1) / kWarp;
  if (perLane <= 1) launchKernel<T, 1>(a);
  else if (perLane <= 2) launchKernel<T, 2>(a);
  else if (perLane <= 4) launchKernel<T, 4>(a);
  else if (perLane <= 8) launchKernel<T, 8>(a);
  else if (perLane <= 16) launchKernel<T, 16>(a);
  else if (perLane <= kMaxPerLane) launchKernel<T, kMaxPerLane>(a);
  else launchKernel<T, 0>(a);
}

}  // namespace

void launchPackedEmbLayerNorm(const PackedEmbLayerNormLaunch& a) {
  cudakernels::launchValidateCuSeqlens(a.cuSeqlens, a.batch, a.tokens, a.maxSeqLen, a.minSeqLen, a.deviceError,
                                       a.multiProcessors, a.stream);
  if (a.tokens <= 0 || a.hidden <= 0) return;
  if (a.half) launchFor<__half>(a);
  else launchFor<float>(a);
  INFERRT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace inferrt::bert_cuda
