// Packed sequences (the PackedEmbLayerNorm and PackedAttention plugins): T tokens of B sequences one after
// another, with cu_seqlens int32 [B + 1] saying where each starts. The rules checked here: cu_seqlens[0] = 0,
// never decreasing, cu_seqlens[B] = T, no sequence longer than the layer's max_seq_len, and none shorter than its
// min_seq_len (default 0: empty sequences are allowed; the builder's packed BERT sets 1, since its pooler reads each
// sequence's first token). The CPU implementations check them before reading anything.
#pragma once
#include <cstdint>
#include <vector>

#include "ir/op_registry.h"

namespace inferrt {

// The layer's required `max_seq_len` attribute, in [1, 2^31 - 1] (cu_seqlens is int32), and its optional
// `min_seq_len`, in [0, max_seq_len] (InvalidArgument naming the plugin and layer otherwise).
int64_t packedMaxSeqLen(const Layer& layer, const char* plugin);
int64_t packedMinSeqLen(const Layer& layer, const char* plugin);

// Throws InvalidArgument "<plugin> layer '<name>': cu_seqlens[<i>] = <v> ..." naming the first offset that breaks
// a rule, and the rule. `count` is B + 1 (at least 1); `tokens` is T.
void validateSequenceOffsets(const char* plugin, const Layer& layer, const int32_t* cuSeqlens, int64_t count,
                             int64_t tokens, int64_t maxSeqLen, int64_t minSeqLen);

// Shape-rule check of the cu_seqlens input (index `i`): int32, 1-D, at least one offset; when its values are
// known (a build-time constant, or run time) and `tokens` is known, validateSequenceOffsets on them.
void checkSequenceOffsetsInput(const char* plugin, const Layer& layer, const std::vector<TensorDesc>& in, size_t i,
                               int64_t tokens, int64_t maxSeqLen, int64_t minSeqLen);

}  // namespace inferrt
