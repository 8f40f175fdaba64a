// PackedAttention v1 (BERT): multi-head self-attention over packed sequences, each token attending only to the
// tokens of its own sequence. Inputs: 0 qkv float [T, 3*H] (per token: Q of every head, head h at columns
// h*D .. h*D+D-1, then K at H + h*D, then V at 2H + h*D; D = H / num_heads), 1 cu_seqlens int32 [B+1].
// Attributes: num_heads (required), alpha (default 1/sqrt(D)), max_seq_len (required). Output [T, H], head h at
// columns h*D.., qkv's dtype: out_i = sum_j softmax_j(alpha * q_i . k_j) v_j over the tokens j of i's sequence.
#pragma once
#include <vector>

#include "ir/op_registry.h"

namespace inferrt {

// The validated attributes; alpha is resolved against the head size.
struct PackedAttentionAttrs {
  int64_t numHeads = 0;
  int64_t maxSeqLen = 0;
  int64_t minSeqLen = 0;  // min_seq_len (default 0): shorter sequences are an error
  bool hasAlpha = false;  // false: alpha is 1/sqrt(D), known once D is
  float alpha = 1.0f;
};
PackedAttentionAttrs readPackedAttentionAttrs(const Layer& layer);
// alpha as the plugin applies it for head size `headSize` (> 0): the attribute, else float(1 / sqrt(D)).
float packedAttentionAlpha(const PackedAttentionAttrs& attrs, int64_t headSize);

std::vector<TensorDesc> inferPackedAttention(const Layer& layer, const std::vector<TensorDesc>& inputs);
void runPackedAttentionCpu(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs);

}  // namespace inferrt
