// CPU kernel of Attention: softmax(alpha · q·kᵀ + mask) · v, one (batch, head, query row) at a time with one row of
// scores, so no [Sq, Sk] buffer. It rounds exactly where the unfused MatMul(q, kᵀ, alpha) -> Softmax(axis -1, mask)
// -> MatMul(p, v) layers of this backend round, so in fp32 the two agree bit for bit: each dot product accumulates
// in double and is rounded to float, alpha and the mask are applied in fp32, the softmax runs in double and its
// probabilities are rounded to float, and p·v accumulates in double over the keys in order. Float16 inputs are
// widened first and the output is rounded to float16 once at the end.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "backend/cpu/broadcast.h"
#include "backend/cpu/kernel_registry.h"
#include "backend/cpu/math_common.h"
#include "ir/half.h"
#include "ir/ops/attention_geometry.h"

namespace inferrt {

namespace {

// Logical [B, H, S, D] dims of input i and the element strides of those axes in its storage.
struct OperandView {
  Dims dims;
  std::array<int64_t, 4> strides{};
};

OperandView viewOf(const Tensor& t, int64_t layout, const char* name) {
  if (t.rank() != 4) fail(ErrorCode::ShapeMismatch, "Attention ", name, " must have rank 4, got ", dimsToString(t.dims()));
  OperandView v;
  v.dims = attentionSwapForLayout(t.dims(), layout);
  v.strides = attentionStrides(v.dims, layout);
  return v;
}

void runAttention(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  const AttentionAttrs attrs = readAttentionAttrs(layer.attrs);
  const Tensor& q = *inputs[0];
  const Tensor& k = *inputs[1];
  const Tensor& v = *inputs[2];
  const Tensor* mask = inputs.size() > 3 ? inputs[3] : nullptr;
  if (!isFloat(q.dtype()) || k.dtype() != q.dtype() || v.dtype() != q.dtype())
    fail(ErrorCode::DTypeMismatch, "Attention q, k and v must be float32 or float16 of one dtype, got ",
         dtypeName(q.dtype()), ", ", dtypeName(k.dtype()), ", ", dtypeName(v.dtype()));
  const OperandView qv = viewOf(q, attrs.layout[0], "q"), kv = viewOf(k, attrs.layout[1], "k"),
                    vv = viewOf(v, attrs.layout[2], "v");
  const int64_t batch = qv.dims[0], heads = qv.dims[1], sq = qv.dims[2], d = qv.dims[3];
  const int64_t sk = kv.dims[2], dv = vv.dims[3];
  // The shape rule checked these on the concrete dims; re-checked so no stride below can leave its tensor.
  if (kv.dims[0] != batch || vv.dims[0] != batch || kv.dims[1] != heads || vv.dims[1] != heads || kv.dims[3] != d ||
      vv.dims[2] != sk)
    fail(ErrorCode::ShapeMismatch, "Attention q ", dimsToString(q.dims()), ", k ", dimsToString(k.dims()), " and v ",
         dimsToString(v.dims()), " do not fit together");
  // output_scale s: out is int8, from the float output o computed into `floatOut` and rounded as stored.
  const bool quantizes = layer.attrs.has("output_scale");
  const Dims outDims = attentionSwapForLayout({batch, heads, sq, dv}, attrs.layout[3]);
  requireKernelOutput(outputs[0], quantizes ? DType::Int8 : q.dtype(), outDims, "Attention output");
  Tensor floatOut = quantizes ? Tensor(DType::Float32, outDims) : Tensor();
  Tensor& out = quantizes ? floatOut : outputs[0];
  const std::array<int64_t, 4> os = attentionStrides({batch, heads, sq, dv}, attrs.layout[3]);

  const Tensor q32 = toFloat32(q), k32 = toFloat32(k), v32 = toFloat32(v);
  const float* pq = q32.data<float>();
  const float* pk = k32.data<float>();
  const float* pv = v32.data<float>();
  Tensor m32;
  std::vector<int64_t> ms(4, 0);
  if (mask) {
    if (!isFloat(mask->dtype()))
      fail(ErrorCode::DTypeMismatch, "Attention mask must be float32 or float16, got ", dtypeName(mask->dtype()));
    m32 = toFloat32(*mask);
    ms = broadcastStrides(m32.dims(), {batch, heads, sq, sk});  // throws unless it broadcasts without enlarging
  }
  const float* pm = mask ? m32.data<float>() : nullptr;
  FloatOutput o(out);
  float* po = o.data();

  std::vector<float> p(static_cast<size_t>(sk));  // the scores, then the probabilities, of one query row
  std::vector<double> e(static_cast<size_t>(sk)), acc(static_cast<size_t>(dv));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      const float* kBase = pk + b * kv.strides[0] + h * kv.strides[1];
      const float* vBase = pv + b * vv.strides[0] + h * vv.strides[1];
      for (int64_t i = 0; i < sq; ++i) {
        const float* qRow = pq + b * qv.strides[0] + h * qv.strides[1] + i * qv.strides[2];
        const float* mRow = pm ? pm + b * ms[0] + h * ms[1] + i * ms[2] : nullptr;
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < sk; ++j) {
          const float* kRow = kBase + j * kv.strides[2];
          double dot = 0;
          for (int64_t c = 0; c < d; ++c) dot += static_cast<double>(qRow[c]) * static_cast<double>(kRow[c]);
          float s = static_cast<float>(dot);
          if (attrs.alpha != 1.0f) s = attrs.alpha * s;
          if (mRow) s = s + mRow[j * ms[3]];
          p[j] = s;
          mx = std::fmax(mx, s);  // a NaN score makes the row NaN below, as in Softmax
        }
        double sum = 0;
        for (int64_t j = 0; j < sk; ++j) sum += e[j] = std::exp(p[j] - mx);  // all -inf: exp(NaN), a NaN row
        for (int64_t j = 0; j < sk; ++j) p[j] = static_cast<float>(e[j] / sum);
        if (attrs.zeroNanRows)  // as Where(IsNaN(p), 0, p) after the Softmax
          for (int64_t j = 0; j < sk; ++j) p[j] = std::isnan(p[j]) ? 0.0f : p[j];
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t j = 0; j < sk; ++j) {
          const double pj = p[j];
          const float* vRow = vBase + j * vv.strides[2];
          for (int64_t c = 0; c < dv; ++c) acc[c] += pj * static_cast<double>(vRow[c]);
        }
        float* oRow = po + b * os[0] + h * os[1] + i * os[2];
        for (int64_t c = 0; c < dv; ++c) oRow[c] = static_cast<float>(acc[c]);
      }
    }
  }
  o.commit();
  if (quantizes) {
    // As a QuantizeLinear reading o would: o as stored (fp16 values in an fp16 layer or from fp16 operands).
    const bool half = q.dtype() == DType::Float16 || layer.precision == LayerPrecision::Float16;
    const float s = static_cast<float>(layer.attrs.getFloat("output_scale"));
    int8_t* qo = outputs[0].data<int8_t>();
    const float* v = floatOut.data<float>();
    for (int64_t i = 0; i < floatOut.numel(); ++i) qo[i] = quantizeToInt8(half ? roundToHalf(v[i]) : v[i], s);
  }
}

}  // namespace

void registerAttentionKernels() { registerCpuKernel({"Attention", runAttention}); }

}  // namespace inferrt
