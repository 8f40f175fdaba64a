// Device-side pieces shared by the two Attention kernels (attention.cu: generic; attention_flash.cu: tensor cores).
#pragma once
#include <cuda_fp16.h>

#include <cstdint>

#include "backend/cuda/kernels/attention_launch.h"
#include "backend/cuda/kernels/packed_sequences.cuh"

namespace inferrt::cudakernels {

namespace attention_detail {

// Where the rows of one (b, h) pair live: element offsets of its row 0 in q, k, v, out and the mask, and its
// query / key counts. The one place that maps (b, h) to memory: dense batches take b * stride.b and seqQ / seqK;
// packed sequences (cuSeqlens) take the token offset cu[b] * stride.s and the sequence's length (0 for a sequence
// whose offsets break the rules: sequenceSpan keeps every row inside the totalTokens rows).
struct HeadRange {
  int64_t q, k, v, out, mask;
  int64_t seqQ, seqK;
};

__device__ inline HeadRange headRange(const AttentionLaunch& p, int64_t b, int64_t h) {
  HeadRange r;
  if (p.cuSeqlens) {
    const SequenceSpan s = sequenceSpan(p.cuSeqlens, b, p.batch, p.totalTokens, p.maxSeqLen);
    r.q = s.start * p.qStride.s + h * p.qStride.h;
    r.k = s.start * p.kStride.s + h * p.kStride.h;
    r.v = s.start * p.vStride.s + h * p.vStride.h;
    r.out = s.start * p.outStride.s + h * p.outStride.h;
    r.mask = 0;  // no mask with packed sequences
    r.seqQ = r.seqK = s.length;
    return r;
  }
  r.q = b * p.qStride.b + h * p.qStride.h;
  r.k = b * p.kStride.b + h * p.kStride.h;
  r.v = b * p.vStride.b + h * p.vStride.h;
  r.out = b * p.outStride.b + h * p.outStride.h;
  r.mask = b * p.maskStride[0] + h * p.maskStride[1];
  r.seqQ = p.seqQ;
  r.seqK = p.seqK;
  return r;
}

// Query / key rows per (b, h) that the grid covers: seqQ / seqK, or for packed sequences the longest a valid one can
// be, min(maxSeqLen, totalTokens) (rows past a sequence's own length do nothing).
__host__ __device__ inline int64_t packedGridRows(const AttentionLaunch& p) {
  return p.maxSeqLen < p.totalTokens ? p.maxSeqLen : p.totalTokens;
}
__host__ __device__ inline int64_t gridSeqQ(const AttentionLaunch& p) { return p.cuSeqlens ? packedGridRows(p) : p.seqQ; }
__host__ __device__ inline int64_t gridSeqK(const AttentionLaunch& p) { return p.cuSeqlens ? packedGridRows(p) : p.seqK; }

// The mask value at element offset `off` (fp16 or fp32 mask, a uniform branch).
__device__ inline float maskAt(const AttentionLaunch& p, int64_t off) {
  return p.maskHalf ? __half2float(static_cast<const __half*>(p.mask)[off]) : static_cast<const float*>(p.mask)[off];
}

}  // namespace attention_detail

// Launches the tensor-core kernel when it applies to `a` (attention_flash.cu); false: the caller runs the generic one.
bool launchFlashAttention(const AttentionLaunch& a);

}  // namespace inferrt::cudakernels
