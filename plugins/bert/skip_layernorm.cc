// Shape rule of SkipLayerNorm v1 (shared by its CPU and, later, CUDA implementations).
#include <cmath>
#include <string>

#include "skip_layernorm.h"
#include "ir/ops/shape_helpers.h"

namespace inferrt {

double skipLayerNormEpsilon(const Layer& layer) {
  const double eps = layer.attrs.getFloat("epsilon", 1e-12);
  if (!(eps >= 0) || std::isinf(eps))
    fail(ErrorCode::InvalidArgument, "SkipLayerNorm attribute 'epsilon' must be finite and >= 0, got ", eps);
  return eps;
}

std::vector<TensorDesc> inferSkipLayerNorm(const Layer& layer, const std::vector<TensorDesc>& in) {
  skipLayerNormEpsilon(layer);
  const TensorDesc& x = in[0];
  requireDType(x, 0, {DType::Float32, DType::Float16});
  requireRank(x, 0, 1);
  const char* names[] = {"x", "skip", "gamma", "beta", "bias"};
  for (size_t i = 1; i < in.size(); ++i)
    if (hasInput(in, i)) requireSameDType(in, 0, i);
  // skip must match x exactly (no broadcasting): packed and padded layouts both pass the full activation.
  const TensorDesc& skip = in[1];
  if (skip.dims.size() != x.dims.size())
    fail(ErrorCode::ShapeMismatch, "skip has shape ", dimsToString(skip.dims), ", expected x's shape ",
         dimsToString(x.dims));
  Dims out = x.dims;
  for (size_t d = 0; d < out.size(); ++d)
    out[d] = unifyDim(out[d], skip.dims[d], ("skip vs x dim " + std::to_string(d)).c_str());
  int64_t& hidden = out.back();
  for (size_t i = 2; i < in.size(); ++i) {
    if (!hasInput(in, i)) continue;
    if (in[i].dims.size() != 1)
      fail(ErrorCode::ShapeMismatch, "input ", i, " (", names[i], ") must be 1-D [hidden], got ",
           dimsToString(in[i].dims));
    hidden = unifyDim(hidden, in[i].dims[0], (std::string(names[i]) + " length vs hidden size").c_str());
  }
  return {makeDesc(x.dtype, out)};
}

}  // namespace inferrt
