// The fusion stage: batch norms folded into convolutions, then layer norms (their tails are Mul/Add, never
// MatMul), then GEMM and convolution
// epilogues (disjoint patterns: MatMul vs Convolution heads). Attention's scales (into bias-less MatMuls' alpha)
// and additive masks (into Softmax) follow the GEMM fusion, and whole attention blocks (MatMul -> Softmax ->
// MatMul -> one Attention layer) follow, once their scale and mask sit on the MatMul and the Softmax. Residual adds
// go into the layer norms that read them (skip layernorm) after the GEMM fusion has taken the bias adds and the conv
// fusion its residual adds. Pointwise fusion comes last: it takes whatever elementwise chains the pattern fusions
// left. The "fusion:" log line counts layers before the skip-layernorm pass; it and the attention and pointwise
// passes log their own lines.
#include <string>
#include <utility>

#include "builder/passes.h"

namespace inferrt {

namespace {

// The "fusion:" log line: what the passes before the attention fusion did, e.g. "fusion: 2 layer norms from ...;
// 12 MatMul+bias GEMMs (2 with GELU, 0 with ReLU); 70 -> 52 layers".
std::string describeFusions(size_t before, size_t after, size_t norms, const GemmFusions& gemms,
                            const ScaleFusions& scales, size_t softmaxes, const ConvFusions& convs) {
  const size_t convTotal = convs.relu + convs.add + convs.addRelu;
  std::string line = "fusion:";
  if (norms)
    line += " " + std::to_string(norms) + " layer norm" + (norms == 1 ? "" : "s") +
            " from decomposed ReduceMean/Sub/Pow/Sqrt/Div;";
  if (gemms.gemms)
    line += " " + std::to_string(gemms.gemms) + " MatMul+bias GEMM" + (gemms.gemms == 1 ? "" : "s") + " (" +
            std::to_string(gemms.gelu) + " with GELU, " + std::to_string(gemms.relu) + " with ReLU);";
  if (scales.matmuls)
    line += " " + std::to_string(scales.matmuls) + " MatMul scale" + (scales.matmuls == 1 ? "" : "s") + " (" +
            std::to_string(scales.scales) + " Mul/Div into alpha);";
  if (softmaxes) line += " " + std::to_string(softmaxes) + " masked softmax" + (softmaxes == 1 ? ";" : "es;");
  if (convTotal) {  // e.g. " 5 Conv+ReLU, 4 Conv+add+ReLU;": only the kinds that occurred
    std::string parts;
    for (const auto& [n, what] : {std::pair{convs.relu, "Conv+ReLU"}, std::pair{convs.addRelu, "Conv+add+ReLU"},
                                  std::pair{convs.add, "Conv+add"}})
      if (n) parts += (parts.empty() ? " " : ", ") + std::to_string(n) + " " + what;
    line += parts + ";";
  }
  line += " " + std::to_string(before) + " -> " + std::to_string(after) + " layers";
  return line;
}

void logPointwise(const PointwiseFusions& fused, BuildLog& log) {
  if (!fused.chains) return;
  log.push_back("pointwise: " + std::to_string(fused.chains) + (fused.chains == 1 ? " chain" : " chains") +
                " fused (" + std::to_string(fused.layers) + " layers)");
}

}  // namespace

void fuseLayers(Network& network, BuildLog& log) {
  // Batch norms first: a folded conv can then take its ReLU / residual epilogue in the conv fusion.
  if (const size_t folded = foldBatchNorms(network))
    log.push_back("batchnorm: " + std::to_string(folded) + " folded into convolutions");
  const size_t before = network.layers().size();
  const size_t norms = fuseLayerNorms(network);
  const GemmFusions gemms = fuseGemms(network);
  const ScaleFusions scales = fuseMatMulScales(network);  // after GEMMs: GELU's "* 0.5" feeds a MatMul too
  const size_t softmaxes = fuseMaskedSoftmax(network);    // after scales: the scores then come from a MatMul
  const ConvFusions convs = fuseConvolutions(network);
  const size_t convTotal = convs.relu + convs.add + convs.addRelu;
  if (norms || gemms.gemms || convTotal || scales.matmuls || softmaxes)
    log.push_back(describeFusions(before, network.layers().size(), norms, gemms, scales, softmaxes, convs));
  if (const size_t skips = fuseSkipLayerNorms(network))
    log.push_back("skip layernorm: " + std::to_string(skips) + " residual add" + (skips == 1 ? "" : "s") + " fused");
  const AttentionFusions attention = fuseAttention(network);
  if (attention.blocks)
    log.push_back("attention: " + std::to_string(attention.blocks) + " fused (" + std::to_string(attention.absorbed) +
                  " transposes absorbed" + (attention.inserted ? ", " + std::to_string(attention.inserted) + " inserted" : "") +
                  ")");
  logPointwise(fusePointwise(network), log);
}

}  // namespace inferrt
