// The 2:4 check of constant MatMul / QuantizedMatMul / Convolution weights along their reduction dimension
// (sparse_eligibility.h).
// It only reads: a weight that is not 2:4 gets a note saying how far from it, never a change.
#include "builder/sparse_eligibility.h"

#include <cstring>

#include "ir/error.h"

namespace inferrt {

namespace {

// Whether element `i` is non-zero. Floats: its bits without the sign, so +0 and -0 (and only they) read as zero.
// Integers: all its bits (the int8 weights of QuantizedMatMul, where the sign bit alone is -128).
template <typename Bits, bool kFloat>
bool nonZero(const uint8_t* data, int64_t i) {
  Bits bits;
  std::memcpy(&bits, data + i * static_cast<int64_t>(sizeof(Bits)), sizeof(Bits));
  constexpr Bits signBit = static_cast<Bits>(Bits(1) << (8 * sizeof(Bits) - 1));
  constexpr Bits magnitude = kFloat ? static_cast<Bits>(~signBit) : static_cast<Bits>(~Bits(0));
  return (bits & magnitude) != 0;
}

template <typename Bits, bool kFloat>
TwoFourCount count(const uint8_t* data, const ReductionVectors& v) {
  TwoFourCount c;
  for (int64_t b = 0; b < v.blocks; ++b) {
    for (int64_t vec = 0; vec < v.vectors; ++vec) {
      const int64_t base = b * v.blockStride + vec * v.vectorStride;
      for (int64_t g = 0; g < v.length / 4; ++g) {
        int nonZeros = 0;
        for (int64_t e = 4 * g; e < 4 * g + 4; ++e)
          nonZeros += nonZero<Bits, kFloat>(data, base + e * v.elementStride) ? 1 : 0;
        ++c.groups;
        if (nonZeros > 2) ++c.violations;
      }
    }
  }
  return c;
}

// The largest flat offset a view reaches (every stride is non-negative).
int64_t lastOffset(const ReductionVectors& v) {
  return (v.blocks - 1) * v.blockStride + (v.vectors - 1) * v.vectorStride + (v.length - 1) * v.elementStride;
}

bool constantFloat(const Network& network, int tensor) {
  if (tensor < 0) return false;
  const TensorInfo& t = network.tensor(tensor);
  return t.value && t.producer < 0 && isFloat(t.dtype) && isFloat(t.value->dtype());
}

bool constantInt8(const Network& network, int tensor) {
  if (tensor < 0) return false;
  const TensorInfo& t = network.tensor(tensor);
  return t.value && t.producer < 0 && t.dtype == DType::Int8 && t.value->dtype() == DType::Int8;
}

// The verdict on `reduction`; `other` is the weight along the layer's output dimension, named `otherName`, for the
// hint that the pruning ran along the wrong axis.
void judge(const Tensor& w, SparseCandidate& c, const ReductionVectors& other, const char* otherName,
           const char* reductionName) {
  if (w.numel() == 0) {
    c.note = "empty weight";
    return;
  }
  if (c.view.length % 4 != 0) {
    c.note = "reduction length " + std::to_string(c.view.length) + " is not a multiple of 4";
    return;
  }
  const TwoFourCount along = countTwoFour(w, c.view);
  if (along.violations == 0) {
    c.eligible = true;
    return;
  }
  // A weight pruned along the wrong axis gets a hint rather than a count.
  if (other.length % 4 == 0 && other.length > 0 && countTwoFour(w, other).violations == 0) {
    c.note = std::string("2:4 along the ") + otherName + ", not the " + reductionName;
    return;
  }
  c.note = "not 2:4: " + std::to_string(along.violations) + " of " + std::to_string(along.groups) +
           " groups of four have 3 or 4 non-zeros";
}

// B [K, N] (transB = 0) or [N, K] (transB = 1): reduces over K, one vector per output column n.
bool matMulCandidate(const Network& network, const Layer& layer, SparseCandidate& c) {
  if (layer.inputs.size() < 2 || !constantFloat(network, layer.inputs[1])) return false;
  const Tensor& w = *network.tensor(layer.inputs[1]).value;
  if (w.rank() != 2) return false;
  const bool transB = layer.attrs.getInt("transB", 0) != 0;
  const int64_t k = transB ? w.dims()[1] : w.dims()[0];
  const int64_t n = transB ? w.dims()[0] : w.dims()[1];
  const int64_t kStride = transB ? 1 : n, nStride = transB ? k : 1;
  c.view = ReductionVectors{n, k, nStride, kStride};
  judge(w, c, ReductionVectors{k, n, kStride, nStride}, "output dimension", "reduction dimension");
  return true;
}

// The INT8 pass's QuantizedMatMul: its int8 weight is stored [N, K] (a row per output channel) and reduces over K.
// Quantizing keeps zeros zero (and may add some), so a float weight that was 2:4 along K stays so.
bool quantizedMatMulCandidate(const Network& network, const Layer& layer, SparseCandidate& c) {
  if (layer.inputs.size() < 2 || !constantInt8(network, layer.inputs[1])) return false;
  const Tensor& w = *network.tensor(layer.inputs[1]).value;
  if (w.rank() != 2) return false;
  const int64_t n = w.dims()[0], k = w.dims()[1];
  c.view = ReductionVectors{n, k, k, 1};
  judge(w, c, ReductionVectors{k, n, 1, k}, "output dimension", "reduction dimension");
  return true;
}

// w [M, C/g, k...] (or [M, kH, kW, C/g] with channels_last = 1): reduces over C/g per output channel and kernel
// position.
bool convolutionCandidate(const Network& network, const Layer& layer, SparseCandidate& c) {
  if (layer.inputs.size() < 2 || !constantFloat(network, layer.inputs[1])) return false;
  const Tensor& w = *network.tensor(layer.inputs[1]).value;
  if (w.rank() < 3) return false;
  const bool channelsLast = layer.attrs.getInt("channels_last", 0) == 1;
  const int64_t m = w.dims()[0];
  const int64_t channels = channelsLast ? w.dims().back() : w.dims()[1];
  const int64_t window = m > 0 && channels > 0 ? w.numel() / (m * channels) : 0;
  ReductionVectors other;  // along M, one vector per (channel, kernel position)
  if (channelsLast) {
    c.view = ReductionVectors{m * window, channels, channels, 1};
    other = ReductionVectors{window * channels, m, 1, window * channels};
  } else {
    c.view = ReductionVectors{window, channels, 1, window, m, channels * window};
    other = ReductionVectors{channels * window, m, 1, channels * window};
  }
  judge(w, c, other, "output channels", "input channels");
  return true;
}

}  // namespace

TwoFourCount countTwoFour(const Tensor& weights, const ReductionVectors& view) {
  if (view.length % 4 != 0 || view.length < 0 || view.vectors < 0 || view.blocks < 0 || view.vectorStride < 0 ||
      view.elementStride < 0 || view.blockStride < 0)
    fail(ErrorCode::InvalidArgument, "2:4 count: a view of ", view.blocks, " x ", view.vectors, " vectors of ",
         view.length, " elements (strides ", view.blockStride, ", ", view.vectorStride, ", ", view.elementStride,
         ") needs a length that is a multiple of 4 and no negative size or stride");
  if (view.length == 0 || view.vectors == 0 || view.blocks == 0) return {};
  if (lastOffset(view) >= weights.numel())
    fail(ErrorCode::InvalidArgument, "2:4 count: the view reaches element ", lastOffset(view), " of a weight of ",
         weights.numel(), " elements ", dimsToString(weights.dims()));
  const uint8_t* data = static_cast<const uint8_t*>(weights.raw());
  switch (weights.dtype()) {
    case DType::Float32: return count<uint32_t, true>(data, view);
    case DType::Float16: return count<uint16_t, true>(data, view);
    case DType::Int8: return count<uint8_t, false>(data, view);
    default:
      fail(ErrorCode::DTypeMismatch, "2:4 count: weights must be float32, float16 or int8, got ",
           dtypeName(weights.dtype()));
  }
}

std::vector<SparseCandidate> findSparseCandidates(const Network& network) {
  std::vector<SparseCandidate> out;
  for (size_t i = 0; i < network.layers().size(); ++i) {
    const Layer& layer = network.layers()[i];
    SparseCandidate c;
    c.layer = static_cast<uint32_t>(i);
    const bool candidate = layer.kind == "MatMul"            ? matMulCandidate(network, layer, c)
                           : layer.kind == "QuantizedMatMul" ? quantizedMatMulCandidate(network, layer, c)
                           : layer.kind == "Convolution"     ? convolutionCandidate(network, layer, c)
                                                             : false;
    if (candidate) out.push_back(std::move(c));
  }
  return out;
}

}  // namespace inferrt
