// Which layers' constant weights follow the 2:4 structured-sparsity pattern (at most two non-zeros in every four
// consecutive elements) along the dimension the layer reduces over: what a sparseWeights build may run on
// sparse tensor cores. A weight that is not exactly 2:4 is never pruned here; it stays dense.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ir/network.h"

namespace inferrt {

// A weight seen as `blocks` x `vectors` reduction vectors of `length` elements: element i of vector v of block b
// is at flat offset b * blockStride + v * vectorStride + i * elementStride (in elements) of the weight tensor.
// One block covers a MatMul's B and a channels-last convolution; an NCHW convolution's vectors (one per output
// channel and kernel position) take a block per output channel, as its kernel positions lie inside a channel.
struct ReductionVectors {
  int64_t vectors = 0, length = 0;
  int64_t vectorStride = 0, elementStride = 0;
  int64_t blocks = 1, blockStride = 0;
};

struct TwoFourCount {
  int64_t groups = 0;      // groups of four consecutive elements along the reduction (length / 4 per vector)
  int64_t violations = 0;  // groups with three or four non-zeros
};

// Counts the 2:4 violations of a float32, float16 or int8 weight (`length` must be a multiple of 4, and the view
// must lie inside the tensor: InvalidArgument otherwise). A float value is zero when it is +0 or -0.
TwoFourCount countTwoFour(const Tensor& weights, const ReductionVectors& view);

// One MatMul or Convolution layer with a constant float weight (or QuantizedMatMul with its constant int8 one), as
// a sparseWeights build reports it.
struct SparseCandidate {
  uint32_t layer = 0;
  int weightInput = 1;           // the weight's input index
  ReductionVectors view;         // the weight along the layer's reduction dimension
  bool eligible = false;         // exactly 2:4 along the reduction dimension
  std::string note;              // when not: why ("not 2:4: 37 of 65536 groups of four have 3 or 4 non-zeros")
};

// Every MatMul whose B is a constant 2-D float weight, every QuantizedMatMul (the INT8 pass's MatMul) with its
// constant int8 weight [N, K], and every Convolution with a constant float weight, in layer order, with its
// verdict. MatMul reduces over B's rows (its columns with transB = 1), QuantizedMatMul over its weight's columns
// (K); Convolution over its input channels (and kernel window), so the pattern runs along the input-channel axis
// of the weight ([M, C/group, kh, kw], or [M, kh, kw, C/group] when channels_last = 1). QuantizedConvolution
// layers are not listed: no sparse kernel takes them.
std::vector<SparseCandidate> findSparseCandidates(const Network& network);

}  // namespace inferrt
