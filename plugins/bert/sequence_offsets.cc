// Checks of packed-sequence offsets, shared by the packed BERT plugins' CPU implementations and shape rules
// (which check the values where they are known: a constant cu_seqlens at build time, every input at run time).
#include "sequence_offsets.h"

#include <cstdint>

#include "ir/error.h"
#include "plugin_inputs.h"

namespace inferrt {

int64_t packedMaxSeqLen(const Layer& layer, const char* plugin) {
  if (!layer.attrs.has("max_seq_len"))
    fail(ErrorCode::InvalidArgument, plugin, " layer '", layer.name, "': attribute 'max_seq_len' is required");
  const int64_t maxSeqLen = layer.attrs.getInt("max_seq_len");
  if (maxSeqLen <= 0 || maxSeqLen > INT32_MAX)
    fail(ErrorCode::InvalidArgument, plugin, " layer '", layer.name,
         "': attribute 'max_seq_len' must be in [1, 2147483647], got ", maxSeqLen);
  return maxSeqLen;
}

int64_t packedMinSeqLen(const Layer& layer, const char* plugin) {
  const int64_t minSeqLen = layer.attrs.getInt("min_seq_len", 0);
  const int64_t maxSeqLen = packedMaxSeqLen(layer, plugin);
  if (minSeqLen < 0 || minSeqLen > maxSeqLen)
    fail(ErrorCode::InvalidArgument, plugin, " layer '", layer.name, "': attribute 'min_seq_len' must be in [0, ",
         maxSeqLen, "] (max_seq_len), got ", minSeqLen);
  return minSeqLen;
}

void validateSequenceOffsets(const char* plugin, const Layer& layer, const int32_t* cu, int64_t count,
                             int64_t tokens, int64_t maxSeqLen, int64_t minSeqLen) {
  if (count < 1)
    fail(ErrorCode::InvalidArgument, plugin, " layer '", layer.name,
         "': cu_seqlens is empty; it needs B + 1 >= 1 offsets");
  if (cu[0] != 0)
    fail(ErrorCode::InvalidArgument, plugin, " layer '", layer.name, "': cu_seqlens[0] = ", cu[0],
         "; the first offset must be 0");
  for (int64_t i = 1; i < count; ++i) {
    const int64_t length = static_cast<int64_t>(cu[i]) - static_cast<int64_t>(cu[i - 1]);
    if (length < 0)
      fail(ErrorCode::InvalidArgument, plugin, " layer '", layer.name, "': cu_seqlens[", i, "] = ", cu[i],
           " is less than cu_seqlens[", i - 1, "] = ", cu[i - 1], "; offsets must never decrease");
    if (length > maxSeqLen)
      fail(ErrorCode::InvalidArgument, plugin, " layer '", layer.name, "': cu_seqlens[", i, "] = ", cu[i],
           " makes sequence ", i - 1, " ", length, " tokens long, more than max_seq_len ", maxSeqLen);
    if (length < minSeqLen)
      fail(ErrorCode::InvalidArgument, plugin, " layer '", layer.name, "': cu_seqlens[", i, "] = ", cu[i],
           " makes sequence ", i - 1, " ", length, " tokens long, fewer than min_seq_len ", minSeqLen,
           length == 0 ? " (an empty sequence)" : "");
  }
  if (cu[count - 1] != tokens)
    fail(ErrorCode::InvalidArgument, plugin, " layer '", layer.name, "': cu_seqlens[", count - 1, "] = ",
         cu[count - 1], " but the packed input has ", tokens, " tokens; the last offset must equal the token count");
}

void checkSequenceOffsetsInput(const char* plugin, const Layer& layer, const std::vector<TensorDesc>& in, size_t i,
                               int64_t tokens, int64_t maxSeqLen, int64_t minSeqLen) {
  requirePluginInput(plugin, in, i, "cu_seqlens", {DType::Int32}, 1);
  const int64_t count = in[i].dims[0];
  if (count == 0)
    fail(ErrorCode::ShapeMismatch, plugin, " input ", i, " (cu_seqlens) is empty; it needs B + 1 >= 1 offsets");
  const TensorPtr& value = in[i].value;
  if (!value || tokens < 0 || value->dtype() != DType::Int32 || value->numel() != count) return;
  validateSequenceOffsets(plugin, layer, value->data<int32_t>(), count, tokens, maxSeqLen, minSeqLen);
}

}  // namespace inferrt
