// The attributes of the BERT plugins as their CUDA implementations read them (the contract is the shape rules'
// and the spec's: plugins/bert/*.h). Each reader validates what the GPU code relies on and throws InvalidArgument
// naming the plugin, attribute and value; a support query catches that and declines the layer with the message.
#pragma once
#include <cstdint>

#include "ir/network.h"

namespace inferrt::bert_cuda {

struct PackedAttentionAttrs {
  int64_t numHeads = 0;   // num_heads: required, > 0
  bool hasAlpha = false;  // alpha given; else 1 / sqrt(head size)
  double alpha = 0;
  int64_t maxSeqLen = 0;  // max_seq_len: required, > 0
};
PackedAttentionAttrs packedAttentionAttrs(const Layer& layer);
// The softmax scale for heads of `headDim` elements.
float packedAttentionAlpha(const PackedAttentionAttrs& attrs, int64_t headDim);

struct PackedEmbLayerNormAttrs {
  double epsilon = 1e-12;      // finite, >= 0
  int64_t positionOffset = 0;  // position of a sequence's first token in the position table
  int64_t maxSeqLen = 0;       // required, > 0
};
PackedEmbLayerNormAttrs packedEmbLayerNormAttrs(const Layer& layer);

// SkipLayerNorm's epsilon (default 1e-12; finite, >= 0).
double skipLayerNormEpsilonAttr(const Layer& layer);

enum class FcActivation { None, Relu, Gelu };
// FullyConnected's activation: "none" (default), "relu" or "gelu" (exact erf).
FcActivation fullyConnectedActivation(const Layer& layer);

}  // namespace inferrt::bert_cuda
