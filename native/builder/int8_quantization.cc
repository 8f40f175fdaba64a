// The INT8 layer pass: MatMul and Convolution layers whose input has an activation scale run as QuantizedMatMul /
// QuantizedConvolution. Their input is quantized by a QuantizeLinear layer (one per tensor, shared by its readers),
// their weights per output channel here, at build time: with the scales of the network's own DequantizeLinear when
// it had one (explicit quantization), else amax / 127 of each channel (TensorRT's implicit INT8). The fused epilogue
// (alpha, bias, residual, activation) moves into the INT8 layer, alpha into its dequantScale.
#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "backend/cpu/executor.h"
#include "builder/int8_passes.h"
#include "ir/error.h"
#include "ir/op_registry.h"

namespace inferrt {

namespace {

struct Candidate {
  int input = -1, weight = -1;
  int64_t channelAxis = 0;       // of the weight as stored
  bool transposeWeight = false;  // a MatMul's [K, N] weight (transB = 0), stored [N, K] by the INT8 layer
};

const Tensor* floatConstant(const std::vector<TensorInfo>& tensors, int t) {
  if (t < 0 || tensors[t].producer >= 0 || !tensors[t].value || tensors[t].value->dtype() != DType::Float32) return nullptr;
  return tensors[t].value.get();
}

bool floatOrAbsent(const std::vector<TensorInfo>& tensors, const Layer& layer, size_t i) {
  return i >= layer.inputs.size() || layer.inputs[i] < 0 || tensors[layer.inputs[i]].dtype == DType::Float32;
}

// Whether `layer` has the INT8 form; `why` says why not when it is a MatMul / Convolution that doesn't.
bool candidateOf(const Layer& layer, const std::vector<TensorInfo>& tensors, Candidate* c, std::string* why) {
  if (layer.kind != "MatMul" && layer.kind != "Convolution") return false;
  c->input = layer.inputs[0];
  c->weight = layer.inputs[1];
  const Tensor* w = floatConstant(tensors, c->weight);
  if (tensors[c->input].dtype != DType::Float32) *why = "its input is not float32";
  else if (!w) *why = "its weights are not a float32 constant";
  else if (!floatOrAbsent(tensors, layer, 2) || !floatOrAbsent(tensors, layer, 3)) *why = "its bias or residual is not float32";
  if (!why->empty()) return true;
  if (layer.kind == "Convolution") {
    if (layer.attrs.getInt("channels_last", 0) != 0) *why = "it runs channels-last";
    c->channelAxis = 0;
    return true;
  }
  if (w->rank() != 2) *why = "its weights are not 2-D";
  else if (layer.attrs.getInt("transA", 0) != 0) *why = "it transposes its input";
  else if (tensors[c->input].dims.size() < 2) *why = "its input is 1-D";
  c->transposeWeight = layer.attrs.getInt("transB", 0) == 0;
  c->channelAxis = c->transposeWeight ? 1 : 0;
  return true;
}

// With fp16 allowed, a convolution with few input channels per group stays float (fp16): int8 is slower there.
// ResNet-50's 3-channel stem took 6.1 ms on the im2col INT8 path (H200) and 11 ms in cuDNN's int8 NHWC kernels
// (H100, bench/probes/cudnn-int8-conv.cu), against 1.2 ms in fp16; the channels-last INT8 path needs 16 channels.
constexpr int64_t kMinInt8ConvChannels = 16;

std::string fasterInFp16(const Layer& layer, const std::vector<TensorInfo>& tensors, const BuildConfig& config) {
  if (!config.fp16 || layer.kind != "Convolution") return "";
  const Dims& x = tensors[layer.inputs[0]].dims;
  const int64_t group = layer.attrs.getInt("group", 1);
  if (x.size() < 3 || x[1] < 0 || group < 1) return "";
  const int64_t perGroup = x[1] / group;
  if (perGroup >= kMinInt8ConvChannels) return "";
  return "C/group = " + std::to_string(perGroup) + " < " + std::to_string(kMinInt8ConvChannels) +
         ": fp16 is faster";
}

// Per output channel weight scales: the explicit ones when they fit the channel axis, else amax / 127.
std::vector<float> weightScales(const Tensor& w, int64_t axis, const WeightScales* given) {
  const int64_t channels = w.dims()[axis];
  if (given && given->scales.size() == 1) return std::vector<float>(channels, given->scales[0]);
  if (given && given->axis == axis && static_cast<int64_t>(given->scales.size()) == channels) return given->scales;
  int64_t inner = 1;
  for (size_t d = axis + 1; d < w.dims().size(); ++d) inner *= w.dims()[d];
  std::vector<float> amax(channels, 0.0f);
  for (int64_t i = 0; i < w.numel(); ++i) {
    float& m = amax[(i / inner) % channels];
    m = std::max(m, std::fabs(w.data<float>()[i]));
  }
  for (float& s : amax) s = s > 0 ? s / 127.0f : 1.0f;
  return amax;
}

// Symmetric int8 weights: round-half-even(w / scale[channel]) saturated to [-128, 127]; MatMul weights as [N, K].
Tensor quantizedWeight(const Tensor& w, const Candidate& c, const std::vector<float>& scales) {
  const Dims& d = w.dims();
  Dims out = c.transposeWeight ? Dims{d[1], d[0]} : d;
  Tensor q(DType::Int8, out);
  int64_t inner = 1;
  for (size_t k = c.channelAxis + 1; k < d.size(); ++k) inner *= d[k];
  const int64_t channels = d[c.channelAxis];
  for (int64_t i = 0; i < w.numel(); ++i) {
    const float v = std::nearbyint(w.data<float>()[i] / scales[(i / inner) % channels]);
    const int64_t at = c.transposeWeight ? (i % d[1]) * d[0] + i / d[1] : i;
    q.data<int8_t>()[at] = static_cast<int8_t>(std::clamp(v, -128.0f, 127.0f));
  }
  return q;
}

class Int8Rewriter {
 public:
  explicit Int8Rewriter(const Network& network) : tensors_(network.tensors()) {
    for (const TensorInfo& t : tensors_) names_.insert(t.name);
    for (const Layer& l : network.layers()) layerNames_.insert(l.name);
  }

  int addTensor(const std::string& base, DType dtype, Dims dims, TensorPtr value) {
    TensorInfo t;
    t.name = unique(base, names_);
    t.dtype = dtype;
    t.dims = std::move(dims);
    t.value = std::move(value);
    t.isConstant = t.value != nullptr;
    tensors_.push_back(t);
    return static_cast<int>(tensors_.size()) - 1;
  }
  std::string layerName(const std::string& base) { return unique(base, layerNames_); }

  // The int8 copy of `input` at `scale`, made by a QuantizeLinear layer appended to `layers` on first use.
  int quantized(int input, float scale, std::vector<Layer>& layers) {
    const auto key = std::make_pair(input, scale);
    for (const auto& [k, t] : quantizedInputs_)
      if (k == key) return t;
    Tensor s(DType::Float32, {});
    *s.data<float>() = scale;
    const std::string name = tensors_[input].name;  // a copy: addTensor may move tensors_
    const Dims dims = tensors_[input].dims;
    const int scaleT = addTensor(name + ":int8_scale", DType::Float32, {}, std::make_shared<const Tensor>(std::move(s)));
    const int out = addTensor(name + ":int8", DType::Int8, dims, nullptr);
    Layer q;
    q.kind = "QuantizeLinear";
    q.name = layerName(name + "/quantize_int8");
    q.inputs = {input, scaleT};
    q.outputs = {out};
    q.attrs.set("outputDType", std::string("int8"));
    checkShapes(q);
    layers.push_back(q);
    quantizedInputs_.push_back({key, out});
    return out;
  }

  // Runs the layer's shape rule; throws when it rejects the layer or disagrees with the recorded output.
  void checkShapes(const Layer& layer) const {
    const std::vector<TensorDesc> out = inferLayerShapes(layer, inputDescs(layer, tensors_));
    const TensorInfo& o = tensors_[layer.outputs[0]];
    if (out[0].dtype != o.dtype || out[0].dims != o.dims)
      fail(ErrorCode::Internal, "INT8 form of '", layer.name, "' gives ", dtypeName(out[0].dtype), " ",
           dimsToString(out[0].dims), ", expected ", dtypeName(o.dtype), " ", dimsToString(o.dims));
  }

  std::vector<TensorInfo>& tensors() { return tensors_; }

 private:
  static std::string unique(const std::string& base, std::set<std::string>& taken) {
    std::string name = base;
    for (int i = 1; taken.count(name); ++i) name = base + "_" + std::to_string(i);
    taken.insert(name);
    return name;
  }
  std::vector<TensorInfo> tensors_;
  std::set<std::string> names_, layerNames_;
  std::vector<std::pair<std::pair<int, float>, int>> quantizedInputs_;
};

std::optional<float> activationScale(const std::string& name, const BuildConfig& config, const QuantizationTable& table) {
  if (auto it = table.activations.find(name); it != table.activations.end()) return it->second;
  if (auto it = config.int8Scales.find(name); it != config.int8Scales.end()) return it->second;
  return std::nullopt;
}

// The INT8 layer replacing `layer`, its new constants added to the rewriter; its input's QuantizeLinear appended to
// `layers` when first needed.
Layer int8Layer(const Layer& layer, const Candidate& c, float scale, const BuildConfig& config,
                const QuantizationTable& table, Int8Rewriter& rw, std::vector<Layer>& layers) {
  const TensorPtr weight = rw.tensors()[c.weight].value;  // held: adding tensors below may move the table
  const auto given = table.weights.find(rw.tensors()[c.weight].name);
  const Tensor& w = *weight;
  const std::vector<float> ws = weightScales(w, c.channelAxis, given == table.weights.end() ? nullptr : &given->second);
  const float alpha = static_cast<float>(layer.attrs.getFloat("alpha", 1.0));
  Tensor dq(DType::Float32, {static_cast<int64_t>(ws.size())});
  for (size_t i = 0; i < ws.size(); ++i) dq.data<float>()[i] = scale * ws[i] * alpha;
  Tensor q = quantizedWeight(w, c, ws);
  Layer out = layer;
  out.kind = layer.kind == "MatMul" ? "QuantizedMatMul" : "QuantizedConvolution";
  for (const char* key : {"alpha", "transA", "transB"}) out.attrs.erase(key);
  out.precision = LayerPrecision::Int8;
  if (config.fp16) out.attrs.set("half_output", int64_t{1});  // its readers run in fp16: no fp32 round trip
  const Dims qDims = q.dims(), dqDims = dq.dims();  // copies: the tensors are moved in the same calls
  out.inputs = {rw.quantized(c.input, scale, layers),
                rw.addTensor(layer.name + ":weights_int8", DType::Int8, qDims, std::make_shared<const Tensor>(std::move(q))),
                rw.addTensor(layer.name + ":dequant_scale", DType::Float32, dqDims, std::make_shared<const Tensor>(std::move(dq)))};
  for (size_t i = 2; i < layer.inputs.size(); ++i) out.inputs.push_back(layer.inputs[i]);
  while (out.inputs.back() < 0) out.inputs.pop_back();  // bias and residual keep their positions (3, 4)
  rw.checkShapes(out);
  return out;
}

std::string listOf(const std::vector<std::string>& items, size_t shown) {
  std::string s;
  for (size_t i = 0; i < items.size() && i < shown; ++i) s += (i ? ", " : "") + items[i];
  if (items.size() > shown) s += ", ... (" + std::to_string(items.size() - shown) + " more)";
  return s;
}

}  // namespace

void quantizeLayers(Network& network, const BuildConfig& config, const QuantizationTable& table, BuildLog& log) {
  Int8Rewriter rw(network);
  std::vector<Layer> layers;
  std::vector<std::string> int8, stayed;
  for (const Layer& layer : network.layers()) {
    Candidate c;
    std::string why;
    if (!candidateOf(layer, rw.tensors(), &c, &why)) {
      layers.push_back(layer);
      continue;
    }
    const std::optional<float> scale = activationScale(rw.tensors()[c.input].name, config, table);
    if (why.empty() && (layer.precision == LayerPrecision::Float32 || layer.precision == LayerPrecision::Float16))
      why = "its precision is set to fp" + std::string(layer.precision == LayerPrecision::Float32 ? "32" : "16");
    if (why.empty() && layer.precision != LayerPrecision::Int8) why = fasterInFp16(layer, rw.tensors(), config);
    if (why.empty() && !scale) why = "no INT8 scale for its input '" + rw.tensors()[c.input].name + "'";
    if (why.empty()) {  // candidateOf admits only layers whose INT8 form is valid: a shape error here is a bug
      Layer q = int8Layer(layer, c, *scale, config, table, rw, layers);
      layers.push_back(std::move(q));
      int8.push_back(layer.name);
      continue;
    }
    stayed.push_back(layer.name + " (" + why + ")");
    layers.push_back(layer);
  }
  std::vector<TensorInfo> tensors = std::move(rw.tensors());
  for (TensorInfo& t : tensors)
    if (t.producer >= 0) t.producer = -1;
  for (size_t l = 0; l < layers.size(); ++l)
    for (int t : layers[l].outputs) tensors[t].producer = static_cast<int>(l);
  network.assign(std::move(tensors), std::move(layers), network.inputs(), network.outputs());
  // Drop the float weights the INT8 layers replaced (no layer reads them now): they would only fill the plan.
  compactNetwork(network, std::vector<bool>(network.layers().size(), true));
  network.validate();
  log.push_back("int8: " + std::to_string(int8.size()) + " of " + std::to_string(int8.size() + stayed.size()) +
                " MatMul/Convolution layers run in int8" + (int8.empty() ? "" : ": " + listOf(int8, 8)));
  if (!stayed.empty()) log.push_back("int8: stay float: " + listOf(stayed, 8));
}

}  // namespace inferrt
