#include "plugin_attrs.h"

#include <cmath>
#include <string>

#include "ir/error.h"

namespace inferrt::bert_cuda {

namespace {

int64_t requiredPositive(const Layer& layer, const char* plugin, const char* key) {
  if (!layer.attrs.has(key)) fail(ErrorCode::InvalidArgument, plugin, " needs the attribute '", key, "'");
  const int64_t v = layer.attrs.getInt(key);
  if (v <= 0) fail(ErrorCode::InvalidArgument, plugin, " attribute '", key, "' must be > 0, got ", v);
  return v;
}

double epsilonAttr(const Layer& layer, const char* plugin) {
  const double eps = layer.attrs.getFloat("epsilon", 1e-12);
  if (!(eps >= 0) || std::isinf(eps))
    fail(ErrorCode::InvalidArgument, plugin, " attribute 'epsilon' must be finite and >= 0, got ", eps);
  return eps;
}

}  // namespace

PackedAttentionAttrs packedAttentionAttrs(const Layer& layer) {
  PackedAttentionAttrs a;
  a.numHeads = requiredPositive(layer, "PackedAttention", "num_heads");
  a.maxSeqLen = requiredPositive(layer, "PackedAttention", "max_seq_len");
  a.hasAlpha = layer.attrs.has("alpha");
  if (a.hasAlpha) {
    a.alpha = layer.attrs.getFloat("alpha");
    if (!std::isfinite(a.alpha))
      fail(ErrorCode::InvalidArgument, "PackedAttention attribute 'alpha' must be finite, got ", a.alpha);
  }
  return a;
}

float packedAttentionAlpha(const PackedAttentionAttrs& attrs, int64_t headDim) {
  if (attrs.hasAlpha) return static_cast<float>(attrs.alpha);
  return headDim > 0 ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(headDim))) : 1.0f;
}

PackedEmbLayerNormAttrs packedEmbLayerNormAttrs(const Layer& layer) {
  PackedEmbLayerNormAttrs a;
  a.epsilon = epsilonAttr(layer, "PackedEmbLayerNorm");
  a.positionOffset = layer.attrs.getInt("position_offset", 0);
  a.maxSeqLen = requiredPositive(layer, "PackedEmbLayerNorm", "max_seq_len");
  return a;
}

double skipLayerNormEpsilonAttr(const Layer& layer) { return epsilonAttr(layer, "SkipLayerNorm"); }

FcActivation fullyConnectedActivation(const Layer& layer) {
  const std::string act = layer.attrs.getString("activation", "none");
  if (act == "none") return FcActivation::None;
  if (act == "relu") return FcActivation::Relu;
  if (act == "gelu") return FcActivation::Gelu;
  fail(ErrorCode::InvalidArgument, "FullyConnected attribute 'activation' must be none, relu or gelu, got '", act,
       "'");
}

}  // namespace inferrt::bert_cuda
