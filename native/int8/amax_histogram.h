// A histogram of |x| for INT8 calibration: the statistics an entropy or percentile calibrator reads its
// threshold (amax) from. CPU only, O(n) per add(); calibration batches are small, so callers may run it on the
// thread that owns the data.
//
// Binning. The histogram has a fixed number of bins (2048 by default) over [0, range]; bin j holds |x| in
// (j·w, (j+1)·w] with w = range / bins, and bin 0 also holds 0. Closing bins on the right puts the range's own
// top value (the max that set it) in the last bin without clamping, and keeps re-binning exact (below).
//
// Range growth. The range starts as the max |x| of the first batch with a nonzero finite value (or at the
// initial range given to the constructor). When a later batch holds a larger |x|, the range doubles until it
// covers that value, and each doubling merges bins pairwise (new bin j = old bins 2j and 2j+1), so the bin
// count stays fixed and no count is split. This is the rule TensorRT's developer guide describes for its
// entropy calibrators ("the histogram range is increased by a power of two to accommodate the new maximum
// value", with the known cost that a late growth leaves half the bins empty). Because w only ever doubles
// (exact in binary floating point), a histogram grown this way equals one built in a single pass at the final
// range: ceil(a / 2w) - 1 == floor((ceil(a / w) - 1) / 2). MXNet, ONNX Runtime and pytorch-quantization keep
// the bin width instead and add bins; a fixed count keeps the 128..bins threshold sweep of the entropy rule
// meaningful.
//
// NaN and ±Inf are counted (nanCount, infCount) and left out of the histogram, the max and count.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace inferrt {

class AmaxHistogram {
 public:
  static constexpr size_t kDefaultBins = 2048;
  static constexpr size_t kMaxBins = size_t(1) << 24;

  // bins in [1, kMaxBins]; initialRange finite and >= 0 (0: taken from the first nonzero batch). Else
  // INVALID_ARGUMENT.
  explicit AmaxHistogram(size_t bins = kDefaultBins, double initialRange = 0);

  void addFloat32(const float* data, size_t n);
  // IEEE half bits.
  void addFloat16(const uint16_t* data, size_t n);

  const std::vector<uint64_t>& counts() const { return counts_; }
  size_t bins() const { return counts_.size(); }
  // 0 while every finite value seen is 0 (they are all in bin 0 then).
  double range() const { return range_; }
  double binWidth() const { return range_ / static_cast<double>(counts_.size()); }
  // Largest finite |x| seen (0 when none).
  double maxAbs() const { return maxAbs_; }
  // Finite values binned.
  uint64_t count() const { return count_; }
  uint64_t nanCount() const { return nanCount_; }
  uint64_t infCount() const { return infCount_; }

 private:
  template <typename Load>
  void add(size_t n, Load load);
  void growTo(double maxAbs);
  size_t binOf(double a) const;

  std::vector<uint64_t> counts_;
  double range_ = 0;
  double maxAbs_ = 0;
  uint64_t count_ = 0;
  uint64_t nanCount_ = 0;
  uint64_t infCount_ = 0;
};

}  // namespace inferrt
