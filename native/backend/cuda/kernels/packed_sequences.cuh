// Device side of packed variable-length sequences (packed_sequences.h): where sequence b lies, never outside the
// T tokens, whatever cu_seqlens holds.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace inferrt::cudakernels {

// Tokens start .. start + length - 1 of sequence b.
struct SequenceSpan {
  int64_t start = 0, length = 0;
};

// Sequence b (0 <= b < batch) of cu [batch + 1]: reads cu[b] and cu[b + 1] only. A sequence that breaks a rule
// seen from its own two offsets (start >= 0 and, for b = 0, = 0; end >= start; end <= totalTokens and, for the last
// sequence, = totalTokens; length <= maxSeqLen) gets length 0, so nothing reads or writes past the T tokens or
// past maxSeqLen rows; the validation kernel (launchValidateCuSeqlens) reports the error.
__device__ inline SequenceSpan sequenceSpan(const int32_t* cu, int64_t b, int64_t batch, int64_t totalTokens,
                                            int64_t maxSeqLen) {
  const int64_t start = cu[b], end = cu[b + 1];
  const bool ok = start >= 0 && end >= start && end <= totalTokens && end - start <= maxSeqLen &&
                  (b != 0 || start == 0) && (b != batch - 1 || end == totalTokens);
  SequenceSpan s;
  if (ok) {
    s.start = start;
    s.length = end - start;
  }
  return s;
}

// The sequence holding token t (0 <= t < totalTokens), by binary search: the largest b < batch with cu[b] <= t
// (empty sequences before it are skipped), reading entries 0 .. batch - 1 only; -1 when batch = 0. With valid
// offsets sequenceSpan(b) then contains t; with invalid ones the caller checks that it does.
__device__ inline int64_t sequenceOfToken(const int32_t* cu, int64_t batch, int64_t t) {
  if (batch <= 0) return -1;
  int64_t lo = 0, hi = batch;  // answer in [lo, hi)
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (cu[mid] <= t) lo = mid;
    else hi = mid;
  }
  return lo;
}

}  // namespace inferrt::cudakernels
