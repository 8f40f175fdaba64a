// INT8 output fusion, after the channels-last pass (the CUDA kernels fuse it into their cuDNN graphs, or the layer
// norm, attention and NHWC fp16 max pool kernels' stores):
// - a channels-last QuantizedConvolution, or an fp16-engine QuantizedMatMul that CUDA runs on cuDNN (without exact
//   GELU: BERT's FFN-in hands its GELU to the QuantizeLinear instead, gelu_quantize_handoff.cc, which runs first),
//   whose output one-scale int8 QuantizeLinear layers read (the
//   INT8 pass puts one in front of each INT8 layer) writes their int8 values itself: as its only output when nothing
//   else reads the float one (a ResNet bottleneck's first two convolutions: their float outputs never reach memory),
//   quantizing the unrounded value; else as a second output, quantized from the float output as stored (exactly the
//   QuantizeLinear's values). A layer norm whose output is also read as float (BERT's: the next GEMM's input and a
//   residual) writes that second output; an attention layer read only by them (through a Reshape: BERT's merged
//   heads) writes the int8 values alone, and so does a max pooling read only by them (ResNet's stem pool: it quantizes
//   the maximum it computes, as stored, by the QuantizeLinear's rule). Either way the separate
//   QuantizeLinear goes (CUDA's generic attention path still quantizes in a second pass inside the layer, as does
//   its pooling outside the fp16 NHWC vector kernel);
// - then a float output that only such convolutions read, as their residual (a bottleneck's last convolution feeding
//   the next block), goes too: they read the int8 values (residual_scale).
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "builder/int8_passes.h"
#include "ir/gemm_layers.h"

namespace inferrt {

namespace {

// Per tensor, the layers reading it (a layer reading it twice, twice).
std::vector<std::vector<int>> readersOf(const Network& network) {
  std::vector<std::vector<int>> readers(network.tensors().size());
  for (size_t l = 0; l < network.layers().size(); ++l)
    for (int t : network.layers()[l].inputs)
      if (t >= 0) readers[t].push_back(static_cast<int>(l));
  return readers;
}

// The layers that can write the int8 values their QuantizeLinear readers need, and how.
enum class Int8Writer {
  None,
  Convolution,  // a channels-last QuantizedConvolution (the int8 values alone, or beside y)
  Gemm,         // an fp16-engine QuantizedMatMul on CUDA's cuDNN route (the same two forms)
  LayerNorm,    // a layer-mode Normalization without statistics outputs (beside y only: its float readers stay)
  Attention,    // fused attention (the int8 values alone), read by the QuantizeLinears directly or through a Reshape
  MaxPool,      // max pooling of a float input (the int8 values alone), quantizing its maxima (ResNet's stem pool)
};

// Whether a layer norm's rows (the dims from its axis on) have a known length that CUDA's fast kernel reads in
// 8-element vectors (or that no fast kernel takes: above 4096). Only that kernel writes int8 values; for other rows
// a fused layer would move to the general kernel, whose fp16 statistics (in double) may move y by an ulp from the
// unfused layer's.
bool vectorizedRows(const Layer& layer, const std::vector<TensorInfo>& tensors) {
  const Dims& x = tensors[layer.inputs[0]].dims;
  const int64_t rank = static_cast<int64_t>(x.size());
  int64_t axis = layer.attrs.getInt("axis", -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return false;
  int64_t n = 1;
  for (int64_t d = axis; d < rank; ++d) {
    if (x[d] < 0) return false;  // unknown at build time
    n *= x[d];
  }
  constexpr int64_t kVector = 8, kFastRowMax = 4096;  // kernels/normalization.cu: kNormVec<__half>, kNormRegsMaxN
  return n % kVector == 0 || n > kFastRowMax;
}

// Convolutions and GEMMs write int8 where the CUDA kernels compute it in their fused cuDNN epilogue: channels-last
// convolutions, and fp16-engine GEMMs with K and N multiples of 16 and no tanh GELU
// (kernels/quantized_matmul_cudnn.h); elsewhere a fused output would only move the quantize pass into the layer,
// storing y in fp32 in between. Layer norms and attention write them in their stores, on every backend; so do max
// poolings (CUDA's NHWC fp16 kernel; elsewhere the pool quantizes its maxima in a second pass, at no extra cost).
Int8Writer int8WriterOf(const Layer& layer, const std::vector<TensorInfo>& tensors) {
  if (layer.attrs.has("output_scale") || layer.outputs.size() != 1) return Int8Writer::None;
  if (layer.kind == "Normalization")
    return layer.attrs.getString("mode", "") == "layer" && vectorizedRows(layer, tensors) ? Int8Writer::LayerNorm
                                                                                          : Int8Writer::None;
  if (layer.kind == "Attention") return Int8Writer::Attention;
  if (layer.kind == "Pooling") {
    const std::string mode = layer.attrs.getString("mode", "");
    const bool floatInput = layer.inputs[0] >= 0 && isFloat(tensors[layer.inputs[0]].dtype);
    return (mode == "max" || mode == "global_max") && floatInput ? Int8Writer::MaxPool : Int8Writer::None;
  }
  if (layer.kind == "QuantizedConvolution")
    return layer.attrs.getInt("channels_last", 0) == 1 ? Int8Writer::Convolution : Int8Writer::None;
  if (layer.kind != "QuantizedMatMul" || layer.attrs.getInt("half_output", 0) != 1 ||
      layer.attrs.getString("activation", "none") == "gelu_tanh")
    return Int8Writer::None;
  return cudnnGemmShape(layer, tensors) ? Int8Writer::Gemm : Int8Writer::None;
}

}  // namespace

std::optional<float> oneScaleQuantize(const Layer& q, int x, const std::vector<TensorInfo>& tensors) {
  if (q.kind != "QuantizeLinear" || q.inputs.size() < 2 || q.inputs[0] != x || gemmActivationOf(q) != GemmActivation::None)
    return std::nullopt;
  if (q.attrs.getString("outputDType", "uint8") != "int8") return std::nullopt;
  if (q.inputs.size() > 2 && q.inputs[2] >= 0) return std::nullopt;  // a zero point
  const TensorInfo& s = tensors[q.inputs[1]];
  if (s.producer >= 0 || !s.value || s.value->dtype() != DType::Float32 || s.value->numel() != 1) return std::nullopt;
  return *s.value->data<float>();
}

bool cudnnGemmShape(const Layer& layer, const std::vector<TensorInfo>& tensors) {
  const Dims& w = tensors[layer.inputs[1]].dims;  // [N, K]
  constexpr int64_t kChannelMultiple = 16;
  return w.size() == 2 && w[0] % kChannelMultiple == 0 && w[1] % kChannelMultiple == 0;
}

namespace {

// Counts in `counts` the convolutions, GEMMs, layer norms, attention layers and max poolings that now write int8.
void fuseQuantizeLinears(Network& network, Int8OutputFusions& counts) {
  const std::vector<Layer>& layers = network.layers();
  std::vector<TensorInfo> tensors = network.tensors();
  const std::vector<std::vector<int>> readers = readersOf(network);
  const std::set<int> outputs(network.outputs().begin(), network.outputs().end());
  std::vector<Layer> fused = layers;
  std::vector<bool> keep(layers.size(), true);
  std::vector<int> replacement(tensors.size(), -1);  // a dropped QuantizeLinear's output -> the producer's
  for (size_t l = 0; l < layers.size(); ++l) {
    const Layer& producer = layers[l];
    const Int8Writer writer = int8WriterOf(producer, tensors);
    if (writer == Int8Writer::None) continue;
    const int y = producer.outputs[0];
    // The tensor the QuantizeLinears read: y, or (attention) the output of the one Reshape that reads y (BERT's
    // merge of the heads), which then reshapes the int8 values instead.
    int read = y;
    if (writer == Int8Writer::Attention && readers[y].size() == 1 && !outputs.count(y)) {
      const Layer& view = layers[readers[y][0]];
      if (view.kind == "Reshape" && view.inputs[0] == y) read = view.outputs[0];
    }
    std::optional<float> scale;
    std::vector<int> quantizers;
    bool floatReaders = outputs.count(read) != 0;
    for (int r : readers[read]) {
      const std::optional<float> s = oneScaleQuantize(layers[r], read, tensors);
      if (!s || outputs.count(layers[r].outputs[0]) || (scale && *s != *scale)) {
        floatReaders = true;  // reads the float value (or quantizes it differently): stays as it is
        continue;
      }
      scale = s;
      quantizers.push_back(r);
    }
    if (quantizers.empty() || (writer == Int8Writer::LayerNorm && !floatReaders) ||
        ((writer == Int8Writer::Attention || writer == Int8Writer::MaxPool) && floatReaders))
      continue;
    Layer& f = fused[l];
    f.attrs.set("output_scale", static_cast<double>(*scale));
    int q = y;  // the int8 output: the only one, or a second one beside the float output
    if (floatReaders) {
      TensorInfo info;
      info.name = tensors[y].name + ":int8";
      info.dtype = DType::Int8;
      info.dims = tensors[y].dims;
      info.producer = static_cast<int>(l);
      tensors.push_back(info);
      q = static_cast<int>(tensors.size()) - 1;
      f.outputs.push_back(q);
    } else {
      f.attrs.erase("half_output");
      tensors[y].dtype = DType::Int8;
      tensors[read].dtype = DType::Int8;  // y, or the Reshape's output
      q = read;
    }
    for (int r : quantizers) {
      keep[r] = false;
      replacement.resize(tensors.size(), -1);
      replacement[layers[r].outputs[0]] = q;
    }
    ++(writer == Int8Writer::Gemm        ? counts.gemmOutputs
       : writer == Int8Writer::LayerNorm ? counts.layerNormOutputs
       : writer == Int8Writer::Attention ? counts.attentionOutputs
       : writer == Int8Writer::MaxPool   ? counts.maxPoolOutputs
                                         : counts.outputs);
  }
  if (!counts.outputs && !counts.gemmOutputs && !counts.layerNormOutputs && !counts.attentionOutputs &&
      !counts.maxPoolOutputs)
    return;
  replacement.resize(tensors.size(), -1);
  for (Layer& layer : fused)
    for (int& t : layer.inputs)
      if (t >= 0 && replacement[t] >= 0) t = replacement[t];
  network.assign(std::move(tensors), std::move(fused), network.inputs(), network.outputs());
  compactNetwork(network, keep);
}

// A constant float32 tensor `t` divided by `s` element by element (fp32), as a new tensor named after it (a name no
// tensor has: one constant may feed several readers).
int dividedConstant(std::vector<TensorInfo>& tensors, int t, float s) {
  Tensor v(DType::Float32, tensors[t].dims);
  const float* from = tensors[t].value->data<float>();
  for (int64_t i = 0; i < v.numel(); ++i) v.data<float>()[i] = from[i] / s;
  TensorInfo info = tensors[t];
  std::set<std::string> taken;
  for (const TensorInfo& other : tensors) taken.insert(other.name);
  const std::string base = info.name + ":per_residual_scale";
  info.name = base;
  for (int n = 1; taken.count(info.name); ++n) info.name = base + "_" + std::to_string(n);
  info.value = std::make_shared<const Tensor>(std::move(v));
  tensors.push_back(std::move(info));
  return static_cast<int>(tensors.size()) - 1;
}

// A convolution writing float y and its int8 values q (scale s), whose y only channels-last QuantizedConvolutions read
// as their residual: it writes q alone, and they read q with residual_scale s (their dequantScale and bias divided by
// s, so y' = (acc * dequantScale / s + bias / s + q) * s). The residual then moves as int8, and y is not stored.
size_t readResidualsAsInt8(Network& network) {
  const std::vector<Layer>& layers = network.layers();
  std::vector<TensorInfo> tensors = network.tensors();
  const std::vector<std::vector<int>> readers = readersOf(network);
  const std::set<int> outputs(network.outputs().begin(), network.outputs().end());
  auto residualOnly = [&](const Layer& r, int y) {
    if (r.kind != "QuantizedConvolution" || r.attrs.getInt("channels_last", 0) != 1 || r.attrs.has("residual_scale") ||
        r.inputs.size() != 5 || r.inputs[4] != y)
      return false;
    for (size_t i = 0; i < 4; ++i)
      if (r.inputs[i] == y) return false;
    for (size_t i : {2, 3})  // dequantScale, bias: constants to divide
      if (i < r.inputs.size() && r.inputs[i] >= 0 && (tensors[r.inputs[i]].producer >= 0 || !tensors[r.inputs[i]].value))
        return false;
    return true;
  };
  std::vector<Layer> fused = layers;
  size_t count = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    const Layer& conv = layers[l];
    if (conv.kind != "QuantizedConvolution" || conv.outputs.size() != 2 || !conv.attrs.has("output_scale")) continue;
    const int y = conv.outputs[0], q = conv.outputs[1];
    bool all = !outputs.count(y) && !readers[y].empty();
    for (int r : readers[y]) all = all && residualOnly(layers[r], y);
    if (!all) continue;
    const float s = static_cast<float>(conv.attrs.getFloat("output_scale"));
    fused[l].outputs = {q};  // y goes: the int8-only form (quantizing the unrounded value)
    fused[l].attrs.erase("half_output");
    for (int r : readers[y]) {
      Layer& reader = fused[r];
      reader.inputs[4] = q;
      reader.attrs.set("residual_scale", static_cast<double>(s));
      reader.inputs[2] = dividedConstant(tensors, reader.inputs[2], s);
      if (reader.inputs[3] >= 0) reader.inputs[3] = dividedConstant(tensors, reader.inputs[3], s);
    }
    ++count;
  }
  if (!count) return 0;
  network.assign(std::move(tensors), std::move(fused), network.inputs(), network.outputs());
  compactNetwork(network, std::vector<bool>(network.layers().size(), true));  // drops the float outputs and constants
  return count;
}

}  // namespace

Int8OutputFusions fuseInt8Outputs(Network& network) {
  Int8OutputFusions f;
  f.geluHandoffs = handGeluToQuantizeLinears(network);
  fuseQuantizeLinears(network, f);
  if (f.outputs) f.residuals = readResidualsAsInt8(network);
  return f;
}

}  // namespace inferrt
