// Geometry of the Attention layer (ir/LAYERS.md), shared by its shape rule and its kernels so that all read the
// attributes and lay out q, k, v and the output the same way. Each of the four tensors is logically
// [B, H, S, D]; its layout entry says how it is stored: 0 = [B, H, S, D], 1 = [B, S, H, D] (heads not yet
// transposed). Header-only.
#pragma once
#include <array>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "ir/attributes.h"
#include "ir/dims.h"
#include "ir/error.h"

namespace inferrt {

struct AttentionAttrs {
  float alpha = 1.0f;                      // scale of q·kᵀ, applied in fp32 like MatMul's alpha
  std::array<int64_t, 4> layout{0, 0, 0, 0};  // q, k, v, out
  bool zeroNanRows = false;  // a row whose probabilities are NaN gives 0 (PyTorch SDPA's Where(IsNaN(p), 0, p))
};

// Reads and checks alpha (finite), layout (4 entries of 0 or 1) and zero_nan_rows (0 or 1); InvalidArgument names
// the attribute.
inline AttentionAttrs readAttentionAttrs(const Attributes& attrs) {
  AttentionAttrs a;
  const double alpha = attrs.getFloat("alpha", 1.0);
  if (!std::isfinite(alpha) || !std::isfinite(static_cast<float>(alpha)))
    fail(ErrorCode::InvalidArgument, "attribute 'alpha' must be a finite float, got ", alpha);
  a.alpha = static_cast<float>(alpha);
  const std::vector<int64_t> layout = attrs.getInts("layout", {0, 0, 0, 0});
  if (layout.size() != 4)
    fail(ErrorCode::InvalidArgument, "attribute 'layout' needs 4 entries (q, k, v, out), got ", layout.size());
  for (size_t i = 0; i < 4; ++i) {
    if (layout[i] != 0 && layout[i] != 1)
      fail(ErrorCode::InvalidArgument, "attribute 'layout' entry ", i, " must be 0 ([B, H, S, D]) or 1 ([B, S, H, D]), got ",
           layout[i]);
    a.layout[i] = layout[i];
  }
  const int64_t zero = attrs.getInt("zero_nan_rows", 0);
  if (zero != 0 && zero != 1) fail(ErrorCode::InvalidArgument, "attribute 'zero_nan_rows' must be 0 or 1, got ", zero);
  a.zeroNanRows = zero == 1;
  return a;
}

// Logical [B, H, S, D] of rank-4 stored dims, and back: layout 1 swaps dims 1 and 2 (its own inverse).
inline Dims attentionSwapForLayout(Dims d, int64_t layout) {
  if (layout == 1 && d.size() == 4) std::swap(d[1], d[2]);
  return d;
}

// Element strides of the logical axes [B, H, S, D] of a contiguous tensor stored per `layout` (static dims).
inline std::array<int64_t, 4> attentionStrides(const Dims& logical, int64_t layout) {
  const Dims stored = attentionSwapForLayout(logical, layout);
  std::array<int64_t, 4> s{};  // of the stored axes first
  s[3] = 1;
  for (int i = 2; i >= 0; --i) s[i] = s[i + 1] * stored[i + 1];
  if (layout == 1) std::swap(s[1], s[2]);
  return s;
}

}  // namespace inferrt
