#include "int8/calibration_thresholds.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ir/error.h"

namespace inferrt {

namespace {

void checkHistogram(const char* fn, const double* counts, size_t bins, double binWidth) {
  if (bins == 0) fail(ErrorCode::InvalidArgument, fn, ": counts must hold at least 1 bin, got 0");
  for (size_t j = 0; j < bins; ++j) {
    if (!std::isfinite(counts[j]) || counts[j] < 0)
      fail(ErrorCode::InvalidArgument, fn, ": counts[", j, "] must be a finite number >= 0, got ", counts[j]);
  }
  if (!std::isfinite(binWidth) || binWidth < 0)
    fail(ErrorCode::InvalidArgument, fn, ": binWidth must be a finite number >= 0, got ", binWidth);
}

// KL(P || Q) of one candidate: the first `kept` bins, with the mass above them (`outliers`) added to the last
// kept bin in P only. Infinity when Q is 0 where P is not (a quantization level with no mass of its own that
// receives the outliers): such a candidate cannot be chosen.
double candidateDivergence(const double* counts, size_t kept, double outliers, int quantBins, std::vector<double>& levelMass,
                           std::vector<double>& levelNonzero) {
  const size_t levels = static_cast<size_t>(quantBins);
  levelMass.assign(levels, 0);
  levelNonzero.assign(levels, 0);
  // floor(kept / quantBins) consecutive bins per level, the last level also taking the remainder (the talk's
  // num_merged_bins; MXNet and ONNX Runtime do the same). An even split (level floor(j·quantBins / kept)) makes the
  // divergence jump between neighbouring candidates on a spiky histogram, as a spike falls alone in a level or
  // shares one, and a lucky alignment then wins: it clipped 21% of a ReLU output of the Fashion-MNIST CNN.
  const size_t merged = kept / levels;
  auto levelOf = [&](size_t j) { return std::min(j / merged, levels - 1); };
  double sumP = 0;
  for (size_t j = 0; j < kept; ++j) {
    const double p = counts[j] + (j + 1 == kept ? outliers : 0);
    sumP += p;
    levelMass[levelOf(j)] += counts[j];  // Q quantizes the clipped bins without the outliers
    if (p > 0) levelNonzero[levelOf(j)] += 1;
  }
  double sumQ = 0;
  for (size_t l = 0; l < levels; ++l) sumQ += levelMass[l];
  if (sumQ <= 0) return std::numeric_limits<double>::infinity();
  double kl = 0;
  for (size_t j = 0; j < kept; ++j) {
    const double p = counts[j] + (j + 1 == kept ? outliers : 0);
    if (p <= 0) continue;  // 0·log(0/q) = 0; Q is 0 there too (empty bins of P stay empty in Q)
    const size_t l = levelOf(j);
    const double q = levelMass[l] / levelNonzero[l];
    if (q <= 0) return std::numeric_limits<double>::infinity();
    const double pn = p / sumP;
    kl += pn * std::log(pn / (q / sumQ));
  }
  return kl;
}

}  // namespace

// The rule (TensorRT-style entropy calibration; sources: NVIDIA GTC 2017 S7310 "8-bit Inference with TensorRT",
// slides on the calibration algorithm, for the loop, P, Q and the threshold position; TensorRT's developer guide
// only says IInt8EntropyCalibrator2 minimizes information loss, so the details below are this code's choices
// where the talk is silent):
//   for each candidate i (bins kept) from quantBins to bins:
//     P = counts[0..i), with the outliers sum(counts[i..bins)) added to P[i-1]
//     Q = counts[0..i) (without the outliers, as in the talk) merged into quantBins levels of floor(i/quantBins)
//         consecutive bins, the last level taking the remainder too (the talk's num_merged_bins = i / 128, as
//         MXNet and ONNX Runtime implement it), then expanded back: a level's mass spread evenly over its bins
//         where P is nonzero, 0 where P is 0 (the talk's "preserve empty bins")
//     P and Q normalized; KL(P || Q) = Σ P ln(P/Q) over P > 0; no epsilon smoothing (MXNet and ONNX Runtime
//         smooth with 1e-4; here a candidate with Q = 0 where P > 0 has infinite divergence and is skipped)
//   the smallest i with the least divergence wins (first minimum on a tie);
//   threshold = (i + 0.5)·w as the talk gives, capped at the range bins·w.
// Differences from the talk: the talk's loop stops at bins - 1; this one also tries i = bins (nothing clipped),
// so a histogram that needs its full range (e.g. uniform) gets it, and at least one candidate always has finite
// divergence (with nothing clipped, Q is nonzero wherever P is).
double entropyThreshold(const double* counts, size_t bins, double binWidth, int quantBins) {
  checkHistogram("entropyThreshold", counts, bins, binWidth);
  if (quantBins < 1) fail(ErrorCode::InvalidArgument, "entropyThreshold: quantBins must be an integer >= 1, got ", quantBins);
  if (bins > kMaxEntropyBins) fail(ErrorCode::InvalidArgument, "entropyThreshold: counts may hold at most ", kMaxEntropyBins, " bins, got ", bins);
  if (bins < static_cast<size_t>(quantBins))
    fail(ErrorCode::InvalidArgument, "entropyThreshold: counts must hold at least quantBins (", quantBins, ") bins, got ", bins);
  // Outliers above candidate i, from the top down (each is a sum of the same terms in the same order).
  std::vector<double> above(bins + 1, 0);
  for (size_t j = bins; j-- > 0;) above[j] = above[j + 1] + counts[j];
  if (above[0] <= 0) return 0;

  std::vector<double> levelMass;
  std::vector<double> levelNonzero;
  size_t best = bins;
  double bestKl = std::numeric_limits<double>::infinity();
  for (size_t i = static_cast<size_t>(quantBins); i <= bins; ++i) {
    const double kl = candidateDivergence(counts, i, above[i], quantBins, levelMass, levelNonzero);
    if (kl < bestKl) {
      bestKl = kl;
      best = i;
    }
  }
  const double range = static_cast<double>(bins) * binWidth;
  const double threshold = (static_cast<double>(best) + 0.5) * binWidth;
  return threshold < range ? threshold : range;
}

double minMaxThreshold(double maxAbs) {
  if (!std::isfinite(maxAbs) || maxAbs < 0) fail(ErrorCode::InvalidArgument, "minMaxThreshold: maxAbs must be a finite number >= 0, got ", maxAbs);
  return maxAbs;
}

double percentileThreshold(const double* counts, size_t bins, double binWidth, double percentile) {
  checkHistogram("percentileThreshold", counts, bins, binWidth);
  if (!(percentile > 0 && percentile <= 100))
    fail(ErrorCode::InvalidArgument, "percentileThreshold: percentile must be in (0, 100], got ", percentile);
  double total = 0;
  for (size_t j = 0; j < bins; ++j) total += counts[j];
  if (total <= 0) return 0;
  const double target = percentile * total;
  double cumulative = 0;
  for (size_t j = 0; j < bins; ++j) {
    cumulative += counts[j];
    if (cumulative * 100 >= target) return static_cast<double>(j + 1) * binWidth;
  }
  return static_cast<double>(bins) * binWidth;  // not reached: at j = bins-1, cumulative == total
}

}  // namespace inferrt
