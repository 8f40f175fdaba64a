// Window geometry of the CPU convolution kernels (Convolution, ConvInteger) and Pooling: spatial dims padded to
// three (leading 1s) so one loop nest serves 1-D to 3-D, and the run-time checks of a convolution's channels.
// Header-only (inline).
#pragma once
#include <algorithm>
#include <cstdint>

#include "ir/ops/shape_helpers.h"
#include "ir/tensor.h"

namespace inferrt {

// Window geometry in three spatial dims.
struct Geometry3 {
  int64_t in[3], out[3], kernel[3], stride[3], dilation[3], padBegin[3], padEnd[3];
  int64_t inSize() const { return in[0] * in[1] * in[2]; }
  int64_t outSize() const { return out[0] * out[1] * out[2]; }
};

inline Geometry3 geometryOf(const Dims& xDims, const SpatialWindow& w) {
  Geometry3 g;
  const size_t n = xDims.size() - 2, lead = 3 - n;
  for (size_t i = 0; i < 3; ++i) {
    const bool real = i >= lead;
    const size_t j = i - lead;
    g.in[i] = real ? xDims[2 + j] : 1;
    g.out[i] = real ? w.output[j] : 1;
    g.kernel[i] = real ? w.kernel[j] : 1;
    g.stride[i] = real ? w.strides[j] : 1;
    g.dilation[i] = real ? w.dilations[j] : 1;
    g.padBegin[i] = real ? w.padBegin[j] : 0;
    g.padEnd[i] = real ? w.padEnd[j] : 0;
  }
  return g;
}

// Output positions o in [lo, hi] whose tap k lands inside the input along dim i.
inline void tapRange(const Geometry3& g, int i, int64_t k, int64_t* lo, int64_t* hi) {
  const int64_t offset = k * g.dilation[i] - g.padBegin[i];  // input = o * stride + offset
  *lo = std::max<int64_t>(0, ceilDiv(-offset, g.stride[i]));
  *hi = std::min<int64_t>(g.out[i] - 1, floorDiv(g.in[i] - 1 - offset, g.stride[i]));
}

inline void requireRank3to5(const Tensor& x, const char* kind) {
  if (x.rank() < 3 || x.rank() > 5)
    fail(ErrorCode::ShapeMismatch, kind, " input must have rank 3 to 5, got ", dimsToString(x.dims()));
}

// The window of an NCHW convolution of x [N, C, spatial...] by w [M, C/group, k...] (kernel from w's dims), after
// checking ranks, channels and group against the concrete tensors (ShapeMismatch naming `kind`).
inline SpatialWindow convolutionWindow(const Attributes& attrs, const Tensor& x, const Tensor& w, const char* kind) {
  requireRank3to5(x, kind);
  if (w.rank() != x.rank()) fail(ErrorCode::ShapeMismatch, kind, " weights must have the input's rank");
  const int64_t channels = x.dims()[1], outChannels = w.dims()[0];
  const int64_t group = attrs.getInt("group", 1);
  if (group < 1 || channels % group != 0 || outChannels % group != 0 || channels / group != w.dims()[1])
    fail(ErrorCode::ShapeMismatch, kind, " channels ", channels, " / weights ", dimsToString(w.dims()),
         " do not fit group ", group);
  return resolveWindow(attrs, Dims(x.dims().begin() + 2, x.dims().end()), Dims(w.dims().begin() + 2, w.dims().end()),
                       false);
}

// Adds one input channel's contribution to an output plane, weight-stationary: for each tap k of `w` (the channel's
// kernel, row-major) plane[o] += w[k] * x[o * stride + k * dilation - padBegin] over the outputs whose tap lands
// inside the input, so padding adds nothing and each output sums its taps in kernel order. Products and sums are
// in Acc (double for float inputs, int64 for integer ones).
template <typename X, typename W, typename Acc>
void accumulateTaps(const X* x, const W* w, const Geometry3& g, Acc* plane) {
  for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
    int64_t dLo, dHi;
    tapRange(g, 0, kd, &dLo, &dHi);
    for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
      int64_t hLo, hHi;
      tapRange(g, 1, kh, &hLo, &hHi);
      for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
        int64_t wLo, wHi;
        tapRange(g, 2, kw, &wLo, &wHi);
        const Acc wv = static_cast<Acc>(w[(kd * g.kernel[1] + kh) * g.kernel[2] + kw]);
        const int64_t wOffset = kw * g.dilation[2] - g.padBegin[2];
        for (int64_t od = dLo; od <= dHi; ++od) {
          const int64_t id = od * g.stride[0] + kd * g.dilation[0] - g.padBegin[0];
          for (int64_t oh = hLo; oh <= hHi; ++oh) {
            const int64_t ih = oh * g.stride[1] + kh * g.dilation[1] - g.padBegin[1];
            const X* xrow = x + (id * g.in[1] + ih) * g.in[2];
            Acc* prow = plane + (od * g.out[1] + oh) * g.out[2];
            for (int64_t ow = wLo; ow <= wHi; ++ow) prow[ow] += wv * static_cast<Acc>(xrow[ow * g.stride[2] + wOffset]);
          }
        }
      }
    }
  }
}

}  // namespace inferrt
