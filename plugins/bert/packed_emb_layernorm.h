// PackedEmbLayerNorm v1 (BERT): the embedding sum and LayerNorm of packed sequences, fused into one layer. Token t
// of sequence b (tokens cu_seqlens[b] .. cu_seqlens[b+1]-1) gets
//   e = (word[input_ids[t]] + type[segment_ids[t]]) + position[t - cu_seqlens[b] + position_offset]
//   y = (e - mean) / sqrt(var + epsilon) * gamma + beta        (mean, biased var over the hidden dim)
// Inputs: 0 input_ids int32 [T], 1 segment_ids? int32 [T], 2 cu_seqlens int32 [B+1], 3 word_embeddings [V, H],
// 4 position_embeddings [P, H], 5 token_type_embeddings? [Tt, H], 6 gamma [H], 7 beta [H] (one float dtype).
// Attributes: epsilon (1e-12), position_offset (0), max_seq_len (required). Output [T, H], the tables' dtype.
#pragma once
#include <vector>

#include "ir/op_registry.h"

namespace inferrt {

// The validated attributes (InvalidArgument naming the layer otherwise).
struct PackedEmbLayerNormAttrs {
  double epsilon = 1e-12;
  int64_t positionOffset = 0;
  int64_t maxSeqLen = 0;
  int64_t minSeqLen = 0;  // min_seq_len (default 0): shorter sequences are an error
};
PackedEmbLayerNormAttrs readPackedEmbLayerNormAttrs(const Layer& layer);

std::vector<TensorDesc> inferPackedEmbLayerNorm(const Layer& layer, const std::vector<TensorDesc>& inputs);
void runPackedEmbLayerNormCpu(const Layer& layer, const std::vector<const Tensor*>& inputs,
                              std::vector<Tensor>& outputs);

}  // namespace inferrt
