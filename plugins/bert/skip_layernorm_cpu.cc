// CPU reference of SkipLayerNorm v1: the oracle for the packed-BERT CUDA kernel. Per row of the last dim,
// s = (x + skip) + bias in float32; mean and variance of s in double (two passes, biased variance);
// y = (s - mean) / sqrt(var + epsilon) * gamma + beta in double, rounded once to the output dtype.
#include <cmath>
#include <vector>

#include "skip_layernorm.h"
#include "ir/error.h"
#include "ir/half.h"

namespace inferrt {

namespace {

// A float32 copy of an optional [hidden] parameter, or `fallback` repeated.
std::vector<float> paramOrDefault(const Tensor* t, int64_t hidden, float fallback, const char* what) {
  if (!t) return std::vector<float>(static_cast<size_t>(hidden), fallback);
  if (t->rank() != 1 || t->dims()[0] != hidden)
    fail(ErrorCode::ShapeMismatch, "SkipLayerNorm ", what, " has shape ", dimsToString(t->dims()), ", expected [",
         hidden, "]");
  std::vector<float> v(static_cast<size_t>(hidden));
  const Tensor f = toFloat32(*t);
  for (int64_t i = 0; i < hidden; ++i) v[i] = f.data<float>()[i];
  return v;
}

}  // namespace

void runSkipLayerNormCpu(const Layer& layer, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const double eps = skipLayerNormEpsilon(layer);
  auto input = [&](size_t i) { return i < in.size() ? in[i] : nullptr; };
  const Tensor* x = input(0);
  const Tensor* skip = input(1);
  if (!x || !skip || !input(2)) fail(ErrorCode::InvalidModel, "SkipLayerNorm needs x, skip and gamma");
  if (x->rank() < 1 || !isFloat(x->dtype()) || skip->dims() != x->dims() || skip->dtype() != x->dtype())
    fail(ErrorCode::ShapeMismatch, "SkipLayerNorm x is ", dtypeName(x->dtype()), " ", dimsToString(x->dims()),
         " and skip ",
         dtypeName(skip->dtype()), " ", dimsToString(skip->dims()), "; they must be the same float dtype and shape");
  if (out.size() != 1 || out[0].dtype() != x->dtype() || out[0].dims() != x->dims())
    fail(ErrorCode::Internal, "SkipLayerNorm output is not allocated as ", dtypeName(x->dtype()), " ",
         dimsToString(x->dims()));
  const int64_t hidden = x->dims().back();
  const std::vector<float> gamma = paramOrDefault(input(2), hidden, 1.0f, "gamma");
  const std::vector<float> beta = paramOrDefault(input(3), hidden, 0.0f, "beta");
  const std::vector<float> bias = paramOrDefault(input(4), hidden, 0.0f, "bias");
  if (x->numel() == 0) return;
  const Tensor xf = toFloat32(*x);
  const Tensor sf = toFloat32(*skip);
  const float* xp = xf.data<float>();
  const float* sp = sf.data<float>();
  const int64_t rows = x->numel() / hidden;
  std::vector<float> s(static_cast<size_t>(hidden));
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = xp + r * hidden;
    const float* sr = sp + r * hidden;
    double mean = 0, var = 0;
    for (int64_t k = 0; k < hidden; ++k) {
      s[k] = (xr[k] + sr[k]) + bias[k];
      mean += s[k];
    }
    mean /= static_cast<double>(hidden);
    for (int64_t k = 0; k < hidden; ++k) var += (s[k] - mean) * (s[k] - mean);
    var /= static_cast<double>(hidden);
    const double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t k = 0; k < hidden; ++k) {
      const float y = static_cast<float>((s[k] - mean) * inv * gamma[k] + beta[k]);
      if (x->dtype() == DType::Float32) out[0].data<float>()[r * hidden + k] = y;
      else out[0].data<uint16_t>()[r * hidden + k] = floatToHalf(y);
    }
  }
}

}  // namespace inferrt
