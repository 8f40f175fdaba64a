// The BERT plugin family: fused layers for BERT-style encoders, including the packed-sequence (padding-free)
// layers of the packed-BERT rewrite. CUDA implementations register separately (plugins/bert/cuda/).
#include "fully_connected.h"
#include "packed_attention.h"
#include "packed_emb_layernorm.h"
#include "skip_layernorm.h"
#include "../builtin_plugins.h"
#include "ir/plugin_registry.h"

namespace inferrt {

namespace {

PluginDef makePlugin(const char* name, const char* description, int minInputs, int maxInputs, ShapeRule shapes,
                     decltype(PluginDef::runCpu) runCpu) {
  PluginDef def;
  def.name = name;
  def.version = "1";
  def.description = description;
  def.minInputs = minInputs;
  def.maxInputs = maxInputs;
  def.numOutputs = 1;
  def.inferShapes = shapes;
  def.runCpu = runCpu;
  return def;
}

}  // namespace

void registerBertPlugins() {
  registerPlugin(makePlugin(
      "SkipLayerNorm",
      "LayerNorm(x + skip [+ bias]) over the last dim, * gamma [+ beta]; inputs x, skip, gamma, beta?, bias?; "
      "attribute epsilon (1e-12)",
      3, 5, inferSkipLayerNorm, runSkipLayerNormCpu));
  // Inputs 1 and 5 are optional between required ones: the shape rule checks which are present.
  registerPlugin(makePlugin(
      "PackedEmbLayerNorm",
      "LayerNorm((word[ids] + type[segments]) + position[t - cu_seqlens[b] + position_offset]) * gamma + beta per "
      "token of packed sequences; inputs input_ids, segment_ids?, cu_seqlens, word_embeddings, position_embeddings, "
      "token_type_embeddings?, gamma, beta; attributes epsilon (1e-12), position_offset (0), max_seq_len (required)",
      1, 8, inferPackedEmbLayerNorm, runPackedEmbLayerNormCpu));
  registerPlugin(makePlugin(
      "PackedAttention",
      "multi-head self-attention within each packed sequence; inputs qkv [T, 3H] (Q, K, V of all heads), "
      "cu_seqlens [B+1]; attributes num_heads (required), alpha (1/sqrt(H/num_heads)), max_seq_len (required)",
      2, 2, inferPackedAttention, runPackedAttentionCpu));
  registerPlugin(makePlugin(
      "FullyConnected",
      "act(x . weight + bias) with weight [K, N]; inputs x, weight, bias?; attribute activation none | relu | gelu "
      "(exact erf GELU) | gelu_tanh (its tanh approximation); default none",
      2, 3, inferFullyConnected, runFullyConnectedCpu));
}

}  // namespace inferrt
