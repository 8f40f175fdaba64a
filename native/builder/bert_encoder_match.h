// Recognizing a BERT / RoBERTa / DistilBERT encoder (HuggingFace-style ONNX exports, TorchScript or dynamo exporter) in the
// fused network, for the packed-sequence rewrite (packed_bert.cc). The match works on what the fusion passes left
// (MatMul with bias / GELU, Normalization with skip, Attention) and checks by evaluation what exporters spell
// differently: the position ids (BERT: 0..S-1; RoBERTa: padding_idx + 1 + i), the token type ids when the model
// has no token_type_ids input (all 0), the additive attention mask for an all-ones attention_mask (all 0), and
// GELU left as a fused elementwise program.
#pragma once
#include <string>
#include <vector>

#include "ir/network.h"

namespace inferrt {

// A dense layer: y = x · weight + bias, weight [K, N] (MatMul's b layout), bias [N] (null: none).
struct DenseWeights {
  TensorPtr weight, bias;
  std::string name;  // the source layer's name
};

struct LayerNormWeights {
  TensorPtr gamma, beta;  // [H]
  double epsilon = 1e-12;
  std::string name;
};

// One encoder layer: self-attention (Q, K, V, output projection, residual LayerNorm), then the feed-forward
// block (dense + GELU, dense, residual LayerNorm).
struct BertLayerWeights {
  DenseWeights query, key, value, attentionOutput, intermediate, output;
  LayerNormWeights attentionNorm, outputNorm;
  int64_t heads = 0;
  double alpha = 1.0;  // the attention's logit scale
};

struct BertEncoderMatch {
  int64_t hidden = 0;
  TensorPtr wordEmbeddings, positionEmbeddings, tokenTypeEmbeddings;  // [V, H], [P, H], [Tt, H] (type: may be null)
  int64_t positionOffset = 0;  // position id of a sequence's first token
  bool tokenTypeInput = false;  // the type ids come from the model's token_type_ids input (else all 0)
  LayerNormWeights embeddingNorm;
  std::vector<BertLayerWeights> layers;
  int lastHidden = -1;          // the encoder's output tensor in the source network
  int firstTokenGather = -1;    // a Gather of each sequence's first token (the pooler's input), or -1
};

// matched and the encoder, or, when the network is not such an encoder, `reason`: what did not fit, naming the
// layer or tensor.
struct BertMatchResult {
  bool matched = false;
  BertEncoderMatch encoder;
  std::string reason;
};

// `maxSeqLen`: the longest sequence the engine will take (the probes run up to min(maxSeqLen, 192) tokens).
BertMatchResult matchBertEncoder(const Network& network, int64_t maxSeqLen);

}  // namespace inferrt
