// The builder's passes, each in its own file, run in this order by buildPlan (builder/builder.cc). Each takes
// the network (a copy of the user's) and adds lines to the build log; later passes (tactics, memory
// planning) slot in between.
#pragma once
#include <string>
#include <vector>

#include "builder/build_config.h"
#include "ir/network.h"
#include "plan/sparsity.h"

namespace inferrt {

using BuildLog = std::vector<std::string>;

// Checks the config against the network and returns its profiles completed: every input in every profile
// (static inputs min = opt = max = their dims), one profile when none was given and all inputs are static.
// Also evaluates the network's shapes at each profile's min, opt and max (config_validation.cc).
std::vector<OptimizationProfile> validateConfig(const Network& network, const BuildConfig& config, BuildLog& log);

// Replaces every layer whose outputs are computable at build time by constants (constant_folding.cc).
void foldConstants(Network& network, BuildLog& log);

// Drops layers and tensors that no output depends on; network inputs stay (dead_layer_elimination.cc).
void eliminateDeadLayers(Network& network, BuildLog& log);

// Fusion, run between dead-layer elimination and precision assignment. Each pass replaces only chains it
// can prove equivalent (float32, intermediates read by the chain alone, constants of the right value and
// shape) and returns what it fused.
// Convolution -> Normalization(mode batch) with constant statistics -> one Convolution with folded weights and
// bias; runs first, before the conv epilogue fusion (batchnorm_folding.cc).
size_t foldBatchNorms(Network& network);
// Decomposed layer norms (ReduceMean/Sub/Pow/Sqrt/Div[/Mul/Add]) -> Normalization (layer_norm_fusion.cc).
size_t fuseLayerNorms(Network& network);
// MatMul(a, W) + bias [N] (+ relu / GELU, exact or tanh) -> one MatMul with bias and activation (gemm_fusion.cc).
struct GemmFusions {
  size_t gemms = 0, relu = 0, gelu = 0;
};
GemmFusions fuseGemms(Network& network);
// Mul/Div of a bias-less float MatMul's product (or Mul of its operands) by scalar constants -> its alpha
// (scale_fusion.cc).
struct ScaleFusions {
  size_t matmuls = 0, scales = 0;  // MatMuls given an alpha, Mul/Div layers folded into them
};
ScaleFusions fuseMatMulScales(Network& network);
// Softmax(Add(x, mask)) -> Softmax(x, mask), the mask broadcast into x (softmax_mask_fusion.cc).
size_t fuseMaskedSoftmax(Network& network);
// Add(a, b) of same-shape operands read only by a layer-mode Normalization as its x -> that Normalization with x = a
// and skip = b (skip_layernorm_fusion.cc). Runs after the GEMM fusion (the residual branch's bias Add has gone into
// its MatMul) and before the attention and pointwise fusions.
size_t fuseSkipLayerNorms(Network& network);
// MatMul(Q, Kᵀ, alpha) -> Softmax(last axis, mask) -> MatMul(P, V) -> one Attention layer, reading around the
// transposes that split and merge heads (attention_fusion.cc). Runs after the scale and masked-softmax fusions.
struct AttentionFusions {
  size_t blocks = 0, absorbed = 0, inserted = 0;  // Attention layers made; Transposes read around; inserted
};
AttentionFusions fuseAttention(Network& network);
// With config.packed enabled: rebuilds a BERT / RoBERTa encoder over packed tokens from the BERT plugins and
// replaces config.profiles with the packed inputs' one; true when it did. Otherwise (or when the network is not
// such an encoder) the log says why and nothing changes (packed_bert.cc). Runs after fusion.
bool packBertEncoder(Network& network, BuildConfig& config, BuildLog& log);
// Convolution -> relu and Convolution -> Add(residual of the same shape) [-> relu] -> one Convolution with an
// activation and a residual input (conv_fusion.cc).
struct ConvFusions {
  size_t relu = 0, add = 0, addRelu = 0;
};
ConvFusions fuseConvolutions(Network& network);
// Regions of float ElementWise/Unary/Activation layers -> one Pointwise layer each (pointwise_fusion.cc); runs
// after the passes above, so their patterns are taken first.
struct PointwiseFusions {
  size_t chains = 0, layers = 0;  // Pointwise layers made, layers they replace
};
PointwiseFusions fusePointwise(Network& network);
// Reshape [B, H, S, D] -> [B*H, S, D], Transpose [0, 2, 1], Reshape -> [B, H, D, S] (PyTorch dynamo's kᵀ of
// scaled_dot_product_attention) -> one Transpose; returns how many (reshape_transpose_folding.cc). Runs before
// dead-layer elimination, which drops the shape computations it leaves unread.
size_t foldReshapeTransposes(Network& network);
// Runs the fusion passes in order and logs what they fused (fusion.cc).
void fuseLayers(Network& network, BuildLog& log);
// With config.approximateGelu: the exact GELUs fused into MatMul / QuantizedMatMul / FullyConnected layers become
// "gelu_tanh" (gelu_approximation.cc); returns how many. Runs after fusion and the packed-BERT rewrite.
size_t approximateGelus(Network& network);

// Layers with the same kind, attributes, precision and inputs (one tensor, or equal small constants) as an earlier
// one: their readers read the earlier one's outputs and they go; plugins and layers writing network outputs stay.
// Returns how many went (common_subexpressions.cc). Runs after the INT8 pass, before precision assignment.
size_t eliminateCommonSubexpressions(Network& network);

// Resolves each layer's precision (fp32 / fp16) and, for fp16, rounds the fp32 weights fp16 layers read to
// fp16-representable values (precision.cc).
void assignPrecision(Network& network, const BuildConfig& config, BuildLog& log);

// Runs 2-D convolutions (and the poolings and elementwise layers between them) channels-last (NHWC), with
// Transpose layers where they meet NCHW ones, per config.channelsLast; runs after precision assignment, as 'auto'
// converts only fp16 layers (channels_last.cc). Then merges back-to-back transposes.
void convertToChannelsLast(Network& network, const BuildConfig& config, BuildLog& log);
// Transpose of a Transpose -> one Transpose of the first one's input, or nothing when the two cancel; returns how
// many were rewritten (transpose_cancellation.cc).
size_t cancelTransposePairs(Network& network);

// sparseWeights builds, after the channels-last pass (weights in their final layout): one record per MatMul /
// Convolution layer with constant float weights, layers ascending, saying whether its weights are 2:4 along the
// reduction dimension (eligible) and, when not, why (note); sparse stays false. Logs a summary line naming the
// eligible layers and a line for each of the first few ineligible ones (sparse_report.cc). A CUDA build then
// times the eligible layers' sparse kernels and fills in sparse, the timings and the algorithm.
std::vector<LayerSparsity> reportSparsity(const Network& network, const BuildConfig& config, BuildLog& log);

// Rebuilds `network` keeping only the layers with keepLayer[i]; tensors nobody keeps (not an input, output,
// or read/written by a kept layer) go too. Indices are renumbered (graph_compaction.cc).
void compactNetwork(Network& network, const std::vector<bool>& keepLayer);

}  // namespace inferrt
