// Packed sequences (the PackedEmbLayerNorm and PackedAttention plugins): T tokens of B sequences one after
// another, with cu_seqlens int32 [B + 1] saying where each starts. The rules checked here: cu_seqlens[0] = 0,
// never decreasing, cu_seqlens[B] = T, and no sequence longer than the layer's max_seq_len (empty sequences
// are allowed). The CPU implementations check them before reading anything.
#pragma once
#include <cstdint>
#include <vector>

#include "ir/op_registry.h"

namespace inferrt {

// The layer's required `max_seq_len` attribute, > 0 (InvalidArgument naming the plugin and layer otherwise).
int64_t packedMaxSeqLen(const Layer& layer, const char* plugin);

// Throws InvalidArgument "<plugin> layer '<name>': cu_seqlens[<i>] = <v> ..." naming the first offset that breaks
// a rule, and the rule. `count` is B + 1 (at least 1); `tokens` is T.
void validateSequenceOffsets(const char* plugin, const Layer& layer, const int32_t* cuSeqlens, int64_t count,
                             int64_t tokens, int64_t maxSeqLen);

// Shape-rule check of the cu_seqlens input (index `i`): int32, 1-D, at least one offset; when its values are
// known (a build-time constant, or run time) and `tokens` is known, validateSequenceOffsets on them.
void checkSequenceOffsetsInput(const char* plugin, const Layer& layer, const std::vector<TensorDesc>& in, size_t i,
                               int64_t tokens, int64_t maxSeqLen);

}  // namespace inferrt
