// Device-side pieces shared by the two Attention kernels (attention.cu: generic; attention_flash.cu: tensor cores).
#pragma once
#include <cuda_fp16.h>

#include <cstdint>

#include "backend/cuda/kernels/attention_launch.h"

namespace inferrt::cudakernels {

namespace attention_detail {

// Where the rows of one (b, h) pair live: element offsets of its row 0 in q, k, v, out and the mask, and its
// query / key counts. The one place that maps (b, h) to memory: packed variable-length sequences (cu_seqlens)
// would take the token offset of sequence b and its lengths from there instead of b * stride and seqQ / seqK.
struct HeadRange {
  int64_t q, k, v, out, mask;
  int64_t seqQ, seqK;
};

__device__ inline HeadRange headRange(const AttentionLaunch& p, int64_t b, int64_t h) {
  HeadRange r;
  r.q = b * p.qStride.b + h * p.qStride.h;
  r.k = b * p.kStride.b + h * p.kStride.h;
  r.v = b * p.vStride.b + h * p.vStride.h;
  r.out = b * p.outStride.b + h * p.outStride.h;
  r.mask = b * p.maskStride[0] + h * p.maskStride[1];
  r.seqQ = p.seqQ;
  r.seqK = p.seqK;
  return r;
}

// The mask value at element offset `off` (fp16 or fp32 mask, a uniform branch).
__device__ inline float maskAt(const AttentionLaunch& p, int64_t off) {
  return p.maskHalf ? __half2float(static_cast<const __half*>(p.mask)[off]) : static_cast<const float*>(p.mask)[off];
}

}  // namespace attention_detail

// Launches the tensor-core kernel when it applies to `a` (attention_flash.cu); false: the caller runs the generic one.
bool launchFlashAttention(const AttentionLaunch& a);

}  // namespace inferrt::cudakernels
