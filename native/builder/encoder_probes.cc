// Probe-based checks of the BERT encoder match (builder/encoder_probes.h).
#include "builder/encoder_probes.h"

#include <cmath>
#include <optional>
#include <sstream>

#include "builder/graph_probe.h"
#include "ir/error.h"

namespace inferrt {

namespace {

template <typename... Parts>
std::string text(const Parts&... parts) {
  std::ostringstream s;
  (s << ... << parts);
  return s.str();
}

}  // namespace

std::map<int, TensorPtr> EncoderProbes::inputs(int64_t batch, int64_t length, int64_t token, int64_t type) const {
  std::map<int, TensorPtr> in;
  auto filled = [&](int input, int64_t value) {
    const TensorInfo& info = net_.tensor(input);
    Tensor t(info.dtype, {batch, length});
    for (int64_t i = 0; i < t.numel(); ++i) {
      if (info.dtype == DType::Int64) t.data<int64_t>()[i] = value;
      else if (info.dtype == DType::Int32) t.data<int32_t>()[i] = static_cast<int32_t>(value);
      else if (info.dtype == DType::Float32) t.data<float>()[i] = static_cast<float>(value);
      else if (info.dtype == DType::Bool) t.data<uint8_t>()[i] = value != 0;
      else return;  // an input of another dtype stays unknown: what depends on it can't be probed
    }
    in[input] = std::make_shared<const Tensor>(std::move(t));
  };
  filled(ids_, token);
  if (mask_ >= 0) filled(mask_, 1);
  if (types_ >= 0) filled(types_, type);
  return in;
}

bool EncoderProbes::dims(int t, int64_t batch, int64_t length, Dims& out) const {
  const std::optional<TensorDesc> d = probeDesc(net_, t, inputs(batch, length, 5));
  if (!d) return false;
  out = d->dims;
  return true;
}

std::string EncoderProbes::exactGelu(int layer, int x) const {
  const Layer& g = net_.layers()[layer];
  constexpr int kPoints = 41;
  Tensor probe(DType::Float32, {kPoints});
  for (int i = 0; i < kPoints; ++i) probe.data<float>()[i] = -6.0f + 0.3f * static_cast<float>(i);
  std::vector<TensorPtr> values(g.inputs.size());
  for (size_t i = 0; i < g.inputs.size(); ++i)
    if (g.inputs[i] == x) values[i] = std::make_shared<const Tensor>(probe);
  const std::vector<TensorPtr> out = probeLayer(net_, layer, values);
  if (out.size() != 1 || out[0]->numel() != kPoints || out[0]->dtype() != DType::Float32)
    return text(g.kind, " '", g.name, "' could not be evaluated as a function of '", net_.tensor(x).name, "' alone");
  for (int i = 0; i < kPoints; ++i) {
    const double v = probe.data<float>()[i];
    const double want = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    if (std::fabs(out[0]->data<float>()[i] - want) > 1e-5 * (1.0 + std::fabs(want)))
      return text(g.kind, " '", g.name, "' is not exact GELU (at ", v, " it gives ", out[0]->data<float>()[i], ")");
  }
  return "";
}

bool EncoderProbes::addsInputs(int layer) const {
  const Layer& l = net_.layers()[layer];
  std::vector<TensorPtr> values;
  Tensor want(DType::Float32, {4});
  for (size_t i = 0; i < l.inputs.size(); ++i) {
    if (l.inputs[i] < 0 || net_.tensor(l.inputs[i]).value) return false;
    Tensor v(DType::Float32, {4});
    for (int k = 0; k < 4; ++k) {
      v.data<float>()[k] = static_cast<float>((i + 1) * 0.25 + k * 1.5);
      want.data<float>()[k] += v.data<float>()[k];
    }
    values.push_back(std::make_shared<const Tensor>(std::move(v)));
  }
  const std::vector<TensorPtr> out = probeLayer(net_, layer, values);
  if (out.size() != 1 || out[0]->numel() != 4 || out[0]->dtype() != DType::Float32) return false;
  for (int k = 0; k < 4; ++k)
    if (out[0]->data<float>()[k] != want.data<float>()[k]) return false;
  return true;
}

std::string EncoderProbes::classifyIndices(int indices, int64_t longest, Indices& kind, int64_t& offset) const {
  struct Probe {
    int64_t length, token, type;
  };
  bool positions = true, zeros = true;
  int64_t first = -1;
  for (const Probe& p : {Probe{5, 5, 0}, Probe{9, 7, 1}, Probe{longest, 6, 1}}) {
    TensorPtr v = probeTensor(net_, indices, inputs(1, p.length, p.token, p.type));
    if (!v || v->numel() != p.length || !isInteger(v->dtype()))
      return text("could not be evaluated for a [1, ", p.length, "] input_ids probe");
    for (int64_t i = 0; i < p.length; ++i) {
      const int64_t x = v->getInt(i);
      if (first < 0 && i == 0) first = x;
      positions = positions && x == first + i;
      zeros = zeros && x == 0;
    }
  }
  offset = first;
  if (positions && first >= 0) {
    kind = Indices::Positions;
    return "";
  }
  if (zeros) {
    kind = Indices::Zeros;
    return "";
  }
  return "are neither the input ids, the token types, nor positions (0, 1, ... plus an offset)";
}

std::string EncoderProbes::maskAllZeros(int mask, int64_t batch, int64_t length) const {
  TensorPtr v = probeTensor(net_, mask, inputs(batch, length, 5));
  if (!v) return text("the attention mask '", net_.tensor(mask).name, "' could not be evaluated for an all-ones attention_mask");
  const Tensor f = toFloat32(*v);
  for (int64_t i = 0; i < f.numel(); ++i)
    if (f.data<float>()[i] != 0.0f)
      return text("the attention mask '", net_.tensor(mask).name,
                  "' is not all zeros for an all-ones attention_mask of length ", length, " (a causal or other mask)");
  return "";
}

}  // namespace inferrt
