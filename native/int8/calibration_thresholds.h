// INT8 calibration thresholds (amax) from the statistics of native/int8/amax_histogram.h, and the scale an
// amax gives. Counts are doubles so that callers may pass any histogram (exact for integers below 2^53); bin j
// covers (j·w, (j+1)·w]. Bad arguments: INVALID_ARGUMENT naming the argument.
#pragma once
#include <cstddef>

namespace inferrt {

constexpr int kDefaultQuantBins = 128;
// The entropy sweep is O(bins²): larger histograms are refused rather than left to run for minutes.
constexpr size_t kMaxEntropyBins = 16384;

// The threshold minimizing KL(P || Q) between the histogram clipped at a candidate edge and its quantization
// into `quantBins` levels: TensorRT's entropy calibration as NVIDIA's GTC 2017 talk "8-bit Inference with
// TensorRT" (S7310) describes it; the rule in full is in calibration_thresholds.cc. 0 for an empty histogram.
// Needs kMaxEntropyBins >= bins >= quantBins >= 1.
double entropyThreshold(const double* counts, size_t bins, double binWidth, int quantBins = kDefaultQuantBins);

// The largest |x| seen, as is (validated: finite, >= 0).
double minMaxThreshold(double maxAbs);

// The upper edge (j+1)·w of the first bin j where the cumulative count reaches `percentile`% of the total,
// tested as cumulative·100 >= percentile·total in double. percentile in (0, 100]; 0 for an empty histogram.
double percentileThreshold(const double* counts, size_t bins, double binWidth, double percentile);

}  // namespace inferrt
