#include "int8/amax_histogram.h"

#include <cmath>

#include "ir/error.h"
#include "ir/half.h"

namespace inferrt {

AmaxHistogram::AmaxHistogram(size_t bins, double initialRange) {
  if (bins < 1 || bins > kMaxBins) fail(ErrorCode::InvalidArgument, "AmaxHistogram: bins must be in [1, ", kMaxBins, "], got ", bins);
  if (!std::isfinite(initialRange) || initialRange < 0)
    fail(ErrorCode::InvalidArgument, "AmaxHistogram: initialRange must be a finite number >= 0, got ", initialRange);
  counts_.assign(bins, 0);
  range_ = initialRange;
}

void AmaxHistogram::addFloat32(const float* data, size_t n) {
  add(n, [data](size_t i) { return data[i]; });
}

void AmaxHistogram::addFloat16(const uint16_t* data, size_t n) {
  add(n, [data](size_t i) { return halfToFloat(data[i]); });
}

// Two passes: the batch's max first (the range must cover it before any value of the batch is binned).
template <typename Load>
void AmaxHistogram::add(size_t n, Load load) {
  double batchMax = 0;
  for (size_t i = 0; i < n; ++i) {
    const float v = load(i);
    if (std::isnan(v)) {
      ++nanCount_;
    } else if (std::isinf(v)) {
      ++infCount_;
    } else {
      const double a = std::fabs(static_cast<double>(v));
      if (a > batchMax) batchMax = a;
    }
  }
  if (batchMax > range_) growTo(batchMax);
  if (batchMax > maxAbs_) maxAbs_ = batchMax;
  for (size_t i = 0; i < n; ++i) {
    const float v = load(i);
    if (!std::isfinite(v)) continue;
    ++counts_[binOf(std::fabs(static_cast<double>(v)))];
    ++count_;
  }
}

void AmaxHistogram::growTo(double maxAbs) {
  if (range_ == 0) {  // only zeros so far, all in bin 0, which stays bin 0 at any range
    range_ = maxAbs;
    return;
  }
  const size_t bins = counts_.size();
  while (range_ < maxAbs) {
    range_ *= 2;
    for (size_t j = 0; j < bins; ++j) {
      const size_t lo = 2 * j;
      counts_[j] = (lo < bins ? counts_[lo] : 0) + (lo + 1 < bins ? counts_[lo + 1] : 0);
    }
  }
}

// Bin j holds (j·w, (j+1)·w]; 0 goes to bin 0. The clamp guards the last bin against a quotient rounded up.
size_t AmaxHistogram::binOf(double a) const {
  if (a == 0 || range_ == 0) return 0;
  const double q = std::ceil(a / binWidth()) - 1;
  const double last = static_cast<double>(counts_.size() - 1);
  return q <= 0 ? 0 : q >= last ? counts_.size() - 1 : static_cast<size_t>(q);
}

}  // namespace inferrt
