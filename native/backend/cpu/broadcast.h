// Numpy-style broadcast indexing for CPU kernels: walks an output shape in row-major order and keeps, for each
// operand, the flat element offset that broadcasting maps the output element to. Header-only so any kernel
// family (elementwise, Where, Expand, ...) can use it without a link dependency.
#pragma once
#include <cstdint>
#include <vector>

#include "ir/dims.h"
#include "ir/error.h"

namespace inferrt {

// Element strides of `in` viewed as broadcast to `out` (right-aligned; 0 on broadcast or missing dims).
// Throws ShapeMismatch when `in` does not broadcast to `out`. Both shapes must be static.
inline std::vector<int64_t> broadcastStrides(const Dims& in, const Dims& out) {
  if (in.size() > out.size())
    fail(ErrorCode::ShapeMismatch, "shape ", dimsToString(in), " has more dims than broadcast shape ",
         dimsToString(out));
  std::vector<int64_t> strides(out.size(), 0);
  const size_t lead = out.size() - in.size();
  int64_t stride = 1;
  for (size_t i = in.size(); i-- > 0;) {
    const int64_t d = in[i];
    if (d != out[lead + i] && d != 1)
      fail(ErrorCode::ShapeMismatch, "shape ", dimsToString(in), " does not broadcast to ", dimsToString(out));
    strides[lead + i] = d == 1 ? 0 : stride;
    stride *= d;
  }
  return strides;
}

// Iterates every element of `out` with the matching offsets into each operand:
//   BroadcastWalker walk(outDims, {a.dims(), b.dims()});
//   walk.forEach([&](int64_t i, const int64_t* off) { o[i] = pa[off[0]] + pb[off[1]]; });
// The innermost dimension runs as a tight loop; the walker itself allocates once.
class BroadcastWalker {
 public:
  BroadcastWalker(const Dims& out, const std::vector<Dims>& operands) : out_(out) {
    numel_ = volume(out);
    strides_.reserve(operands.size());
    for (const Dims& d : operands) strides_.push_back(broadcastStrides(d, out));
  }

  int64_t numel() const { return numel_; }
  size_t numOperands() const { return strides_.size(); }

  template <typename Fn>
  void forEach(Fn&& fn) const {
    if (numel_ == 0) return;
    const size_t n = strides_.size();
    std::vector<int64_t> offsets(n, 0);
    if (out_.empty()) {  // rank 0: one element at offset 0 everywhere
      fn(int64_t{0}, offsets.data());
      return;
    }
    const size_t rank = out_.size();
    const int64_t inner = out_[rank - 1];
    std::vector<int64_t> innerStride(n);
    for (size_t k = 0; k < n; ++k) innerStride[k] = strides_[k][rank - 1];
    std::vector<int64_t> coord(rank, 0);
    std::vector<int64_t> base(n, 0);  // offsets at the start of the current inner row
    for (int64_t i = 0; i < numel_; i += inner) {
      for (size_t k = 0; k < n; ++k) offsets[k] = base[k];
      for (int64_t j = 0; j < inner; ++j) {
        fn(i + j, offsets.data());
        for (size_t k = 0; k < n; ++k) offsets[k] += innerStride[k];
      }
      // Advance the outer coordinates (all but the last), like an odometer.
      for (size_t d = rank - 1; d-- > 0;) {
        for (size_t k = 0; k < n; ++k) base[k] += strides_[k][d];
        if (++coord[d] < out_[d]) break;
        for (size_t k = 0; k < n; ++k) base[k] -= strides_[k][d] * out_[d];
        coord[d] = 0;
      }
    }
  }

 private:
  Dims out_;
  int64_t numel_ = 0;
  std::vector<std::vector<int64_t>> strides_;
};

}  // namespace inferrt
