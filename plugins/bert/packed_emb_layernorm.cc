// Shape rule and attributes of PackedEmbLayerNorm v1 (shared by its CPU and CUDA implementations).
#include "packed_emb_layernorm.h"

#include <cmath>
#include <string>

#include "plugin_inputs.h"
#include "sequence_offsets.h"

namespace inferrt {

namespace {
constexpr const char* kPlugin = "PackedEmbLayerNorm";
}  // namespace

PackedEmbLayerNormAttrs readPackedEmbLayerNormAttrs(const Layer& layer) {
  PackedEmbLayerNormAttrs a;
  a.epsilon = layer.attrs.getFloat("epsilon", 1e-12);
  if (!(a.epsilon >= 0) || std::isinf(a.epsilon))
    fail(ErrorCode::InvalidArgument, kPlugin, " layer '", layer.name,
         "': attribute 'epsilon' must be finite and >= 0, got ", a.epsilon);
  a.positionOffset = layer.attrs.getInt("position_offset", 0);
  if (a.positionOffset < 0)
    fail(ErrorCode::InvalidArgument, kPlugin, " layer '", layer.name, "': attribute 'position_offset' must be >= 0, got ",
         a.positionOffset);
  a.maxSeqLen = packedMaxSeqLen(layer, kPlugin);
  a.minSeqLen = packedMinSeqLen(layer, kPlugin);
  return a;
}

std::vector<TensorDesc> inferPackedEmbLayerNorm(const Layer& layer, const std::vector<TensorDesc>& in) {
  const PackedEmbLayerNormAttrs attrs = readPackedEmbLayerNormAttrs(layer);
  for (size_t i : {0, 2, 3, 4, 6, 7})
    if (!hasInput(in, i))
      fail(ErrorCode::InvalidModel, kPlugin, " needs inputs input_ids (0), cu_seqlens (2), word_embeddings (3), "
           "position_embeddings (4), gamma (6) and beta (7); input ", i, " is missing");
  const bool hasSegments = hasInput(in, 1), hasTypes = hasInput(in, 5);
  if (hasSegments && !hasTypes)
    fail(ErrorCode::InvalidModel, kPlugin, " input 1 (segment_ids) is given but input 5 (token_type_embeddings) "
         "is not; without a type table there must be no segment ids");

  requirePluginInput(kPlugin, in, 0, "input_ids", {DType::Int32}, 1);
  int64_t tokens = in[0].dims[0];
  if (hasSegments) {
    requirePluginInput(kPlugin, in, 1, "segment_ids", {DType::Int32}, 1);
    tokens = unifyPluginDim(kPlugin, tokens, in[1].dims[0], "segment_ids length vs input_ids length");
  }

  const char* names[] = {"input_ids", "segment_ids", "cu_seqlens", "word_embeddings", "position_embeddings",
                         "token_type_embeddings", "gamma", "beta"};
  requirePluginInput(kPlugin, in, 3, names[3], {DType::Float32, DType::Float16}, 2);
  int64_t hidden = in[3].dims[1];
  for (size_t i : {4, 5, 6, 7}) {
    if (!hasInput(in, i)) continue;
    requirePluginInput(kPlugin, in, i, names[i], {DType::Float32, DType::Float16}, i < 6 ? 2 : 1);
    requireSameFloat(kPlugin, in, i, names[i], 3, names[3]);
    hidden = unifyPluginDim(kPlugin, hidden, in[i].dims.back(),
                            std::string(names[i]) + " hidden size vs word_embeddings hidden size");
  }
  if (hasTypes && !hasSegments && in[5].dims[0] == 0)
    fail(ErrorCode::ShapeMismatch, kPlugin, " input 5 (token_type_embeddings) has no rows, but without "
         "segment_ids every token reads row 0");
  const int64_t positions = in[4].dims[0];
  // Written so that huge attributes cannot overflow: offset + max_seq_len <= P.
  if (positions >= 0 && attrs.positionOffset > positions - attrs.maxSeqLen)
    fail(ErrorCode::ShapeMismatch, kPlugin, " input 4 (position_embeddings) has ", positions,
         " rows, fewer than position_offset ", attrs.positionOffset, " + max_seq_len ", attrs.maxSeqLen);
  checkSequenceOffsetsInput(kPlugin, layer, in, 2, tokens, attrs.maxSeqLen, attrs.minSeqLen);
  return {makeDesc(in[3].dtype, {tokens, hidden})};
}

}  // namespace inferrt
