// Batch-norm folding: Convolution -> Normalization(mode batch) with constant statistics becomes one Convolution
// whose weights and bias absorb the per-channel affine map. With k[m] = scale[m] / sqrt(var[m] + epsilon):
//   w'[m, ...] = w[m, ...] * k[m]        b'[m] = (b[m] - mean[m]) * k[m] + bias[m]
// computed in double and stored as new float32 constants (the originals may have other readers). PyTorch's
// exporters fold batch norms themselves in eval mode; models from other tools often keep them.
//
// Soundness: the conv output feeds only the batch norm (and is not a network output); conv weights, conv bias
// (when present) and all four statistics are float32 constants of [M] values; the conv has no fused epilogue
// yet (this runs before the conv fusion); every var + epsilon is positive and every folded value finite, so the
// folded layer computes the same function up to float rounding.
#include <cmath>
#include <vector>

#include "builder/fusion_rewriter.h"
#include "builder/passes.h"

namespace inferrt {

namespace {

// The float32 constant at `t` with exactly `count` values, or null.
const Tensor* channelConstant(const FusionRewriter& g, int t, int64_t count) {
  const Tensor* v = g.constant(t);
  return v && v->rank() == 1 && v->numel() == count ? v : nullptr;
}

bool foldAt(FusionRewriter& g, int conv) {
  const Layer& c = g.layer(conv);
  if (c.inputs.size() < 2 || c.inputs.size() > 3 || c.attrs.getString("activation", "none") != "none") return false;
  // An NHWC output's axis 1 (the batch norm's channels) is H, not the conv's output channels.
  if (c.attrs.getInt("channels_last", 0) != 0) return false;
  const int y = c.outputs[0];
  const int bn = g.soleReader(y);
  if (bn < 0 || g.layer(bn).kind != "Normalization" || g.layer(bn).attrs.getString("mode", "") != "batch") return false;
  const Layer& norm = g.layer(bn);
  if (norm.inputs.size() != 5 || norm.inputs[0] != y || norm.outputs.size() != 1) return false;
  const Tensor* w = g.constant(c.inputs[1]);
  if (!w || w->rank() < 3 || g.tensor(y).dtype != DType::Float32) return false;
  const int64_t m = w->dims()[0];
  const bool hasBias = c.inputs.size() == 3 && c.inputs[2] >= 0;
  const Tensor* b = hasBias ? channelConstant(g, c.inputs[2], m) : nullptr;
  if (hasBias && !b) return false;
  const Tensor* scale = channelConstant(g, norm.inputs[1], m);
  const Tensor* shift = norm.inputs[2] >= 0 ? channelConstant(g, norm.inputs[2], m) : nullptr;
  const Tensor* mean = channelConstant(g, norm.inputs[3], m);
  const Tensor* var = channelConstant(g, norm.inputs[4], m);
  if (!scale || !mean || !var || (norm.inputs[2] >= 0 && !shift)) return false;
  if (!g.canFuse({conv, bn})) return false;

  const double eps = norm.attrs.getFloat("epsilon", 1e-5);
  const int64_t perChannel = m > 0 ? w->numel() / m : 0;
  Tensor folded(DType::Float32, w->dims()), bias(DType::Float32, {m});
  const float* wv = w->data<float>();
  float* fw = folded.data<float>();
  float* fb = bias.data<float>();
  for (int64_t o = 0; o < m; ++o) {
    const double denom = static_cast<double>(var->data<float>()[o]) + eps;
    if (!(denom > 0)) return false;
    const double k = static_cast<double>(scale->data<float>()[o]) / std::sqrt(denom);
    const double b0 = b ? b->data<float>()[o] : 0.0;
    const double beta = shift ? shift->data<float>()[o] : 0.0;
    fb[o] = static_cast<float>((b0 - mean->data<float>()[o]) * k + beta);
    if (!std::isfinite(fb[o])) return false;
    for (int64_t i = o * perChannel; i < (o + 1) * perChannel; ++i) {
      fw[i] = static_cast<float>(wv[i] * k);
      if (!std::isfinite(fw[i])) return false;
    }
  }
  Layer fused;
  fused.kind = "Convolution";
  fused.attrs = c.attrs;
  const std::string base = g.tensor(c.inputs[1]).name;
  fused.inputs = {c.inputs[0], g.addConstant(base + "_bn_folded", std::move(folded)),
                  g.addConstant(base + "_bn_bias", std::move(bias))};
  return g.replace({conv, bn}, std::move(fused));
}

}  // namespace

size_t foldBatchNorms(Network& network) {
  FusionRewriter g(network);
  size_t folded = 0;
  for (size_t l = 0; l < g.numLayers(); ++l)
    if (g.layer(l).kind == "Convolution" && foldAt(g, static_cast<int>(l))) ++folded;
  if (folded) g.apply(network);
  return folded;
}

}  // namespace inferrt
