// CPU reference of PackedAttention v1: the oracle for its CUDA kernel. cu_seqlens is checked before anything is
// read. One (sequence, head, query token) at a time with one row of scores; it rounds where the unfused
// per-sequence MatMul(q, kᵀ) -> Mul(alpha) -> Softmax -> MatMul(p, v) layers of this backend round (as the
// Attention kernel does): each dot product accumulates in double and is rounded to float, alpha is applied in
// fp32, the softmax runs in double and its probabilities are rounded to float, and p·v accumulates in double.
// Float16 qkv is widened first and the output rounded to float16 once at the end.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "packed_attention.h"
#include "sequence_offsets.h"
#include "ir/error.h"
#include "ir/half.h"

namespace inferrt {

namespace {
constexpr const char* kPlugin = "PackedAttention";
}  // namespace

void runPackedAttentionCpu(const Layer& layer, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const PackedAttentionAttrs attrs = readPackedAttentionAttrs(layer);
  const Tensor* qkv = in.size() > 0 ? in[0] : nullptr;
  const Tensor* cu = in.size() > 1 ? in[1] : nullptr;
  if (!qkv || !cu) fail(ErrorCode::InvalidModel, kPlugin, " needs qkv and cu_seqlens");
  // The shape rule checked these on the concrete inputs; what could read out of bounds is checked again.
  if (qkv->rank() != 2 || !isFloat(qkv->dtype()) || qkv->dims()[1] % 3 != 0 ||
      (qkv->dims()[1] / 3) % attrs.numHeads != 0 ||
      cu->dtype() != DType::Int32 || cu->rank() != 1)
    fail(ErrorCode::ShapeMismatch, kPlugin, " qkv is ", dtypeName(qkv->dtype()), " ", dimsToString(qkv->dims()),
         " and cu_seqlens ", dtypeName(cu->dtype()), " ", dimsToString(cu->dims()), "; expected float [T, 3 * H] "
         "with H divisible by num_heads ", attrs.numHeads, ", and int32 [B + 1]");
  const int64_t tokens = qkv->dims()[0], hidden = qkv->dims()[1] / 3, heads = attrs.numHeads;
  const int64_t d = hidden / heads, stride = 3 * hidden;
  if (out.size() != 1 || out[0].dtype() != qkv->dtype() || out[0].dims() != Dims{tokens, hidden})
    fail(ErrorCode::Internal, kPlugin, " output is not allocated as ", dtypeName(qkv->dtype()), " [", tokens, ", ",
         hidden, "]");
  const int32_t* offsets = cu->data<int32_t>();
  validateSequenceOffsets(kPlugin, layer, offsets, cu->numel(), tokens, attrs.maxSeqLen, attrs.minSeqLen);
  if (hidden == 0) return;
  const float alpha = packedAttentionAlpha(attrs, d);

  const Tensor q32 = toFloat32(*qkv);
  const float* base = q32.data<float>();
  std::vector<float> outF(out[0].dtype() == DType::Float32 ? 0 : static_cast<size_t>(tokens * hidden));
  float* po = out[0].dtype() == DType::Float32 ? out[0].data<float>() : outF.data();
  int64_t longest = 0;
  for (int64_t b = 0; b + 1 < cu->numel(); ++b) longest = std::max<int64_t>(longest, offsets[b + 1] - offsets[b]);
  std::vector<float> p(static_cast<size_t>(longest));  // one query row's scores, then probabilities
  std::vector<double> e(p.size()), acc(static_cast<size_t>(d));
  for (int64_t b = 0; b + 1 < cu->numel(); ++b) {
    const int64_t first = offsets[b], length = offsets[b + 1] - offsets[b];
    for (int64_t h = 0; h < heads; ++h) {
      const float* kBase = base + first * stride + hidden + h * d;
      const float* vBase = base + first * stride + 2 * hidden + h * d;
      for (int64_t i = 0; i < length; ++i) {
        const float* qRow = base + (first + i) * stride + h * d;
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < length; ++j) {
          const float* kRow = kBase + j * stride;
          double dot = 0;
          for (int64_t c = 0; c < d; ++c) dot += static_cast<double>(qRow[c]) * static_cast<double>(kRow[c]);
          p[j] = alpha * static_cast<float>(dot);
          mx = std::fmax(mx, p[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < length; ++j) sum += e[j] = std::exp(p[j] - mx);
        for (int64_t j = 0; j < length; ++j) p[j] = static_cast<float>(e[j] / sum);
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t j = 0; j < length; ++j) {
          const double pj = p[j];
          const float* vRow = vBase + j * stride;
          for (int64_t c = 0; c < d; ++c) acc[c] += pj * static_cast<double>(vRow[c]);
        }
        float* oRow = po + (first + i) * hidden + h * d;
        for (int64_t c = 0; c < d; ++c) oRow[c] = static_cast<float>(acc[c]);
      }
    }
  }
  if (out[0].dtype() == DType::Float16)
    for (int64_t i = 0; i < tokens * hidden; ++i) out[0].data<uint16_t>()[i] = floatToHalf(outF[i]);
}

}  // namespace inferrt
