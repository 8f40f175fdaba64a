// The checks of the BERT encoder match (bert_encoder_match.cc) that evaluate part of the network on probe inputs
// (graph_probe.h) instead of reading its structure: what exporters spell differently must still compute the same
// thing. Each returns "" when the check holds, else why not (naming the layer or tensor).
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "ir/network.h"

namespace inferrt {

class EncoderProbes {
 public:
  // The encoder's inputs (-1: the model has none): input_ids, attention_mask, token_type_ids.
  EncoderProbes(const Network& network, int ids, int mask, int types) : net_(network), ids_(ids), mask_(mask), types_(types) {}

  // `length` copies of token `token` in `batch` sequences, all attended, of type `type`.
  std::map<int, TensorPtr> inputs(int64_t batch, int64_t length, int64_t token, int64_t type = 0) const;

  // The dims of `t` for a [batch, length] probe (a head split's static sizes where the network's dims are
  // symbolic); false when they can't be worked out.
  bool dims(int t, int64_t batch, int64_t length, Dims& out) const;

  // Layer `layer` (Pointwise / Activation) computes exact (erf) GELU of its input `x`, on 41 points in [-6, 6].
  std::string exactGelu(int layer, int x) const;

  // Pointwise layer `layer` adds its (non-constant) inputs.
  bool addsInputs(int layer) const;

  // What index tensor `indices` holds for probes of lengths 5, 9 and min(longest, rows), various token ids and types:
  enum class Indices { Positions, Zeros };
  // positions 0, 1, ... plus `offset` (>= 0), or all zeros whatever the inputs; else the reason.
  std::string classifyIndices(int indices, int64_t longest, Indices& kind, int64_t& offset) const;

  // Mask tensor `mask` is all zeros for an all-ones attention_mask of `length` tokens.
  std::string maskAllZeros(int mask, int64_t batch, int64_t length) const;

 private:
  const Network& net_;
  int ids_, mask_, types_;
};

}  // namespace inferrt
