// Host launcher of the fused Attention layer (attention.cu, attention_flash.cu): plain C++ parameters only, so
// attention.cc compiles without the CUDA device headers.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace inferrt::cudakernels {

// Element strides of one [B, H, S, D]-logical tensor along b, h and s (d is contiguous, stride 1).
struct AttentionStrides {
  int64_t b = 0, h = 0, s = 0;
};

// out[b,h,i,:] = sum_j softmax_j(alpha * q_i . k_j + mask[b,h,i,j]) v[b,h,j,:], in fp32, rounded once.
struct AttentionLaunch {
  bool half = false;  // q, k, v and out are float16, else float32
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* out = nullptr;
  // outScale > 0 (output_scale, the builder's INT8 output fusion): out is int8, the values QuantizeLinear gives for
  // the output rounded to q's dtype. The tensor-core path quantizes in its stores; the generic one writes the float
  // output to outStaging (out's element count in q's dtype) and quantizes it in a second pass.
  float outScale = 0.0f;
  float outReciprocal = 0.0f;  // fp16: 1 / outScale where multiplying quantizes every fp16 value alike, else 0
  void* outStaging = nullptr;
  int64_t batch = 0, heads = 0, seqQ = 0, seqK = 0, headDim = 0, valueDim = 0;
  AttentionStrides qStride, kStride, vStride, outStride;
  float alpha = 1.0f;
  // A row whose probabilities are NaN (all logits -inf, or a NaN / +inf logit: the sum is then 0 or NaN) is
  // stored as 0 instead of NaN, as PyTorch's SDPA export computes with Where(IsNaN(p), 0, p).
  bool zeroNanRows = false;
  const void* mask = nullptr;  // optional additive mask, broadcast to [B, H, Sq, Sk] through maskStride
  bool maskHalf = false;       // float16 mask, else float32
  int64_t maskStride[4] = {};  // element strides along b, h, i, j (0 on broadcast dims; j's: 0 or 1 for a dense mask)
  // The tensor-core path rounds the probabilities to fp16 for P·V: allowed for fp16 layers and TF32 engines (TF32
  // keeps fp16's 10-bit mantissa), not in strict fp32, which takes the generic path.
  bool allowTensorCores = true;
  // Packed variable-length sequences (PackedAttention), when cuSeqlens is set: device int32 [batch + 1]; sequence b
  // is the rows cu[b] .. cu[b+1]-1 of totalTokens token rows, so its row i of q / k / v / out is at element
  // (cu[b] + i) * stride.s + h * stride.h (stride.b is unused) and it attends to its own rows only; seqQ and seqK
  // are ignored, maxSeqLen bounds every sequence's length (the grid covers maxSeqLen rows per (b, h); rows past a
  // sequence's length do nothing). No mask. The launcher first checks cu_seqlens (launchValidateCuSeqlens: a bad
  // one sets *deviceError to InvalidSequenceOffsets); a sequence that breaks the rules writes nothing, and no
  // access ever leaves the totalTokens rows. A sequence of length 0 writes nothing.
  const int32_t* cuSeqlens = nullptr;
  int64_t totalTokens = 0;
  int64_t maxSeqLen = 0;
  int64_t minSeqLen = 0;  // checked by the validation only (a shorter sequence is reported, still computed)
  int32_t* deviceError = nullptr;  // the layer's device error flag (CudaLaunchEnv::deviceError)
  int device = 0;
  int multiProcessors = 0;
  cudaStream_t stream = nullptr;
};

// Enqueues the layer on a.stream: the tensor-core path (fp16, D = Dv in {32, 64, 128}, sm_80+, 16-byte aligned
// rows) or the generic one. Expects consistent sizes (attention.cc and the PackedAttention plugin check them); an
// empty output launches nothing (but cu_seqlens is still checked).
void launchAttention(const AttentionLaunch& a);

}  // namespace inferrt::cudakernels
