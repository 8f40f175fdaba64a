// Shape rule and attributes of PackedAttention v1 (shared by its CPU and CUDA implementations).
#include "packed_attention.h"

#include <cmath>

#include "plugin_inputs.h"
#include "sequence_offsets.h"

namespace inferrt {

namespace {
constexpr const char* kPlugin = "PackedAttention";
}  // namespace

PackedAttentionAttrs readPackedAttentionAttrs(const Layer& layer) {
  PackedAttentionAttrs a;
  if (!layer.attrs.has("num_heads"))
    fail(ErrorCode::InvalidArgument, kPlugin, " layer '", layer.name, "': attribute 'num_heads' is required");
  a.numHeads = layer.attrs.getInt("num_heads");
  if (a.numHeads <= 0)
    fail(ErrorCode::InvalidArgument, kPlugin, " layer '", layer.name, "': attribute 'num_heads' must be > 0, got ",
         a.numHeads);
  a.maxSeqLen = packedMaxSeqLen(layer, kPlugin);
  a.minSeqLen = packedMinSeqLen(layer, kPlugin);
  a.hasAlpha = layer.attrs.has("alpha");
  if (a.hasAlpha) {
    const double alpha = layer.attrs.getFloat("alpha");
    a.alpha = static_cast<float>(alpha);
    if (!std::isfinite(a.alpha))
      fail(ErrorCode::InvalidArgument, kPlugin, " layer '", layer.name, "': attribute 'alpha' must be finite, got ",
           alpha);
  }
  return a;
}

float packedAttentionAlpha(const PackedAttentionAttrs& attrs, int64_t headSize) {
  return attrs.hasAlpha ? attrs.alpha : static_cast<float>(1.0 / std::sqrt(static_cast<double>(headSize)));
}

std::vector<TensorDesc> inferPackedAttention(const Layer& layer, const std::vector<TensorDesc>& in) {
  const PackedAttentionAttrs attrs = readPackedAttentionAttrs(layer);
  requirePluginInput(kPlugin, in, 0, "qkv", {DType::Float32, DType::Float16}, 2);
  const int64_t tokens = in[0].dims[0], columns = in[0].dims[1];
  int64_t hidden = kDynamic;
  if (columns >= 0) {
    if (columns == 0 || columns % 3 != 0)
      fail(ErrorCode::ShapeMismatch, kPlugin, " input 0 (qkv) has ", columns,
           " columns, expected 3 * hidden (Q, K and V of every head), a positive multiple of 3");
    hidden = columns / 3;
    if (hidden % attrs.numHeads != 0)
      fail(ErrorCode::ShapeMismatch, kPlugin, " input 0 (qkv) has hidden size ", hidden, " (", columns,
           " columns / 3), not divisible by num_heads ", attrs.numHeads);
  }
  checkSequenceOffsetsInput(kPlugin, layer, in, 1, tokens, attrs.maxSeqLen, attrs.minSeqLen);
  return {makeDesc(in[0].dtype, {tokens, hidden})};
}

}  // namespace inferrt
