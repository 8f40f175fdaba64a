// Channels-last conversion: 2-D convolutions whose channels suit tensor cores run NHWC (channels_last = 1, see
// native/ir/LAYERS.md), so cuDNN need not transpose inside every call. Layers are visited in order:
// - a Convolution converts when it is 2-D, float, its weights are constant (transposed here to [M, kH, kW, C/g])
//   and C/group and M/group are multiples of 8 (or it is depthwise, group = C = M, with C a multiple of 8); in
//   'auto' mode only when it runs in fp16. A stem convolution (group 1, C = 1..7, M a multiple of 8) converts with
//   its channels zero-padded to 8: weights [M, kH, kW, 8] and a Pad layer after its input's transpose, whose
//   output only padded convolutions read (the extra channels meet zero weights, so the result is unchanged);
// - a QuantizedConvolution (the INT8 pass's) converts when it is 2-D, group 1, with symmetric pads, C and M multiples
//   of 16 (16-byte int8 rows for cuDNN's int8 kernels); in 'auto' mode only in fp16 engines (half_output = 1);
// - a 2-D Pooling converts when its input was written in NHWC by a converted layer, and so does a QuantizeLinear
//   with one scale (it does not care about the layout);
// - ElementWise / Activation / Unary / Pointwise layers and channel Concats convert when an input was written in NHWC and
//   every other input is available in NHWC or a constant (permuted here): layers between converted ones stay NHWC.
// Every tensor a converted layer writes gets an NHWC twin (the new output); the original tensor, under its old
// name, is produced by a Transpose [0, 3, 1, 2] only where an NCHW reader or a network output needs it, and an
// NCHW tensor a converted layer reads gets one Transpose [0, 2, 3, 1] shared by all such readers. Each converted
// layer is checked by its shape rule before it is committed; a layer the rule rejects stays NCHW. Back-to-back
// transposes (the model's own next to inserted ones) are then merged or cancelled.
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "backend/cpu/movement_common.h"
#include "builder/passes.h"
#include "ir/error.h"
#include "ir/op_registry.h"

namespace inferrt {

namespace {

const std::vector<int64_t> kToNhwc = {0, 2, 3, 1}, kToNchw = {0, 3, 1, 2};
constexpr int64_t kPaddedChannels = 8;  // a stem convolution's input channels, padded (tensor cores take C % 8 == 0)

Dims permuted(const Dims& d, const std::vector<int64_t>& perm) {
  Dims out(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) out[i] = d[perm[i]];
  return out;
}

// `v` (rank <= 4) with leading unit dims up to rank 4, permuted NCHW -> NHWC (weights: KCRS -> KRSC); with
// `channels` > 0, the last dim is zero-padded to that many.
TensorPtr toNhwcValue(const Tensor& v, int64_t channels = 0) {
  Dims four = v.dims();
  four.insert(four.begin(), 4 - four.size(), 1);
  const Tensor x = v.reshaped(four);
  const std::vector<int64_t> in = stridesOf(four);
  std::vector<int64_t> strides(4);
  for (size_t i = 0; i < 4; ++i) strides[i] = in[kToNhwc[i]];
  Tensor out(v.dtype(), permuted(four, kToNhwc));
  stridedCopy(x, 0, strides, out);
  if (channels <= four[1]) return std::make_shared<const Tensor>(std::move(out));
  Dims dims = out.dims();
  dims[3] = channels;
  Tensor padded(v.dtype(), dims);  // zero-filled
  const size_t row = static_cast<size_t>(four[1]) * dtypeSize(v.dtype());
  const size_t paddedRow = static_cast<size_t>(channels) * dtypeSize(v.dtype());
  const auto* src = static_cast<const uint8_t*>(out.raw());
  auto* dst = static_cast<uint8_t*>(padded.raw());
  for (size_t r = 0; r < static_cast<size_t>(out.numel() / four[1]); ++r)
    std::memcpy(dst + r * paddedRow, src + r * row, row);
  return std::make_shared<const Tensor>(std::move(padded));
}

bool isElementwiseKind(const std::string& kind) {
  return kind == "ElementWise" || kind == "Activation" || kind == "Unary" || kind == "Pointwise";
}

class ChannelsLastRewriter {
 public:
  ChannelsLastRewriter(const Network& network, bool fp16Only)
      : source_(network),
        tensors_(network.tensors()),
        fp16Only_(fp16Only),
        twin_(tensors_.size(), -1),
        writtenNhwc_(tensors_.size(), false),
        pending_(tensors_.size(), false),
        twinPrecision_(tensors_.size(), LayerPrecision::Float32) {
    for (const TensorInfo& t : tensors_) tensorNames_.insert(t.name);
    for (const Layer& l : network.layers()) layerNames_.insert(l.name);
  }

  void run() {
    for (const Layer& layer : source_.layers()) {
      if (!convert(layer)) keepNchw(layer);
    }
    for (int t : source_.outputs())
      if (pending_[t]) materialize(t);
  }

  void apply(Network& network) {
    network.assign(std::move(tensors_), std::move(layers_), source_.inputs(), source_.outputs());
    compactNetwork(network, std::vector<bool>(network.layers().size(), true));  // drops the replaced tensors
  }

  size_t convolutions = 0, poolings = 0, others = 0, padded = 0;
  std::set<int64_t> paddedFrom;  // the channel counts padded to kPaddedChannels
  std::set<std::string> insertedTransposes;

 private:
  bool isConstant(int t) const { return t >= 0 && tensors_[t].producer < 0 && tensors_[t].value; }

  // Whether Convolution `layer` converts; *padTo becomes kPaddedChannels for a stem convolution whose input
  // channels are zero-padded first, else 0.
  bool eligibleConvolution(const Layer& layer, int64_t* padTo) const {
    *padTo = 0;
    if (layer.inputs.size() < 2 || (fp16Only_ && layer.precision != LayerPrecision::Float16)) return false;
    const TensorInfo& x = tensors_[layer.inputs[0]];
    const int w = layer.inputs[1];
    if (x.dims.size() != 4 || !isFloat(x.dtype) || !isConstant(w) || tensors_[w].dims.size() != 4) return false;
    const int64_t group = layer.attrs.getInt("group", 1), c = x.dims[1], m = tensors_[w].dims[0];
    if (group < 1 || c < 1 || m < 1 || c % group != 0 || m % group != 0) return false;
    if (group == 1 && c < kPaddedChannels && m % 8 == 0) *padTo = kPaddedChannels;
    const bool depthwise = group == c && m == c && c % 8 == 0;
    return *padTo || depthwise || ((c / group) % 8 == 0 && (m / group) % 8 == 0);
  }

  // Whether QuantizedConvolution `layer` converts: 2-D, group 1, constant weights, 16-byte int8 rows (C and M
  // multiples of 16) and symmetric pads, what the CUDA kernel's cuDNN graph takes. In 'auto' mode only in fp16
  // engines (half_output = 1): an int8-only engine keeps the NCHW kernel, whose results equal the CPU's bit for bit.
  bool eligibleQuantizedConvolution(const Layer& layer) const {
    if (layer.inputs.size() < 3 || (fp16Only_ && layer.attrs.getInt("half_output", 0) != 1)) return false;
    const TensorInfo& x = tensors_[layer.inputs[0]];
    const int w = layer.inputs[1];
    if (x.dims.size() != 4 || x.dtype != DType::Int8 || !isConstant(w) || tensors_[w].dims.size() != 4) return false;
    const std::vector<int64_t> pads = layer.attrs.getInts("pads", {});  // [top, left, bottom, right]
    const std::string autoPad = layer.attrs.getString("auto_pad", "NOTSET");
    if ((pads.size() == 4 && (pads[0] != pads[2] || pads[1] != pads[3])) || (autoPad != "NOTSET" && autoPad != "VALID"))
      return false;
    return layer.attrs.getInt("group", 1) == 1 && x.dims[1] > 0 && x.dims[1] % 16 == 0 && tensors_[w].dims[0] % 16 == 0;
  }

  // Whether `layer` (not a convolution) reads a tensor written in NHWC and can read all its inputs in NHWC.
  bool followsNhwc(const Layer& layer) const {
    if (layer.kind == "QuantizeLinear") return isPerTensorQuantize(layer);
    if (layer.kind == "Pooling") {
      const int x = layer.inputs.empty() ? -1 : layer.inputs[0];
      return x >= 0 && writtenNhwc_[x] && tensors_[x].dims.size() == 4;
    }
    const bool concat = layer.kind == "Concat";
    if (!isElementwiseKind(layer.kind) && !concat) return false;
    if (layer.outputs.size() != 1 || tensors_[layer.outputs[0]].dims.size() != 4) return false;
    if (concat && layer.attrs.getInt("axis", 0) != 1 && layer.attrs.getInt("axis", 0) != -3) return false;
    bool any = false;
    for (int t : layer.inputs) {
      if (t < 0) continue;
      if (twin_[t] >= 0 && tensors_[t].dims.size() == 4) {
        any = any || writtenNhwc_[t];
      } else if (!isConstant(t) || tensors_[t].dims.size() > 4 || (concat && tensors_[t].dims.size() != 4)) {
        return false;
      }
    }
    return any;
  }

  // A QuantizeLinear of one scale (and zero point) reading an NHWC-written rank-4 tensor: layout-agnostic.
  bool isPerTensorQuantize(const Layer& layer) const {
    const int x = layer.inputs.empty() ? -1 : layer.inputs[0];
    if (x < 0 || !writtenNhwc_[x] || tensors_[x].dims.size() != 4 || layer.outputs.size() != 1) return false;
    for (size_t i = 1; i < layer.inputs.size(); ++i) {
      const int t = layer.inputs[i];
      if (t >= 0 && (!isConstant(t) || tensors_[t].value->numel() != 1)) return false;
    }
    return true;
  }

  // Converts `layer` when it qualifies and its shape rule accepts the NHWC form; false leaves everything as it was.
  bool convert(const Layer& layer) {
    const bool quantizedConv = layer.kind == "QuantizedConvolution";
    const bool conv = quantizedConv || layer.kind == "Convolution";
    const bool quantize = layer.kind == "QuantizeLinear";
    if ((conv || layer.kind == "Pooling") && layer.attrs.getInt("channels_last", 0) != 0) return false;  // the user's
    int64_t padTo = 0;  // a stem convolution's padded channel count
    const bool eligible = quantizedConv ? eligibleQuantizedConvolution(layer)
                          : conv        ? eligibleConvolution(layer, &padTo)
                                        : followsNhwc(layer);
    if (!eligible) return false;
    Layer nhwc = layer;
    if (conv || layer.kind == "Pooling") nhwc.attrs.set("channels_last", int64_t{1});
    if (layer.kind == "Concat") nhwc.attrs.set("axis", int64_t{3});
    std::vector<TensorDesc> descs;
    std::vector<TensorPtr> values(layer.inputs.size());  // permuted constants, by input
    std::vector<bool> moves(layer.inputs.size(), false);  // activations read through their NHWC twin
    for (size_t i = 0; i < layer.inputs.size(); ++i) {
      const int t = layer.inputs[i];
      TensorDesc d;
      if (t < 0) {
        d.present = false;
        descs.push_back(d);
        continue;
      }
      d.dtype = tensors_[t].dtype;
      d.dims = tensors_[t].dims;
      d.value = tensors_[t].value;
      // A conv's x and residual move; its weights are a permuted constant and its bias (a QuantizedConvolution's
      // dequantScale and bias) stays [M]; a QuantizeLinear's scalars stay. Other kinds: constants are permuted,
      // everything else moves.
      const bool stays = quantize ? i > 0 : quantizedConv ? i == 2 || i == 3 : conv && i == 2;
      const bool weights = conv ? i == 1 : isConstant(t);
      if (stays) {
        // read as it is
      } else if (weights) {
        values[i] = toNhwcValue(*tensors_[t].value, conv ? padTo : 0);
        d.dims = values[i]->dims();
        d.value = values[i];
      } else {
        moves[i] = true;
        d.dims = permuted(d.dims, kToNhwc);
        d.value = nullptr;
        if (conv && i == 0 && padTo) d.dims[3] = padTo;
      }
      descs.push_back(std::move(d));
    }
    try {  // the shape rule must agree that the NHWC layer writes the NCHW output, permuted
      const std::vector<TensorDesc> out = inferLayerShapes(nhwc, descs);
      for (size_t o = 0; o < out.size(); ++o) {
        const TensorInfo& want = tensors_[layer.outputs[o]];
        if (out[o].dtype != want.dtype || out[o].dims != permuted(want.dims, kToNhwc)) return false;
      }
    } catch (const Error&) {
      return false;
    }
    // An INT8 layer's residual goes through an fp32 transpose (exact; the layer also reads fp16 as stored, so an
    // fp16 one would do with half the bytes) and it writes float32, or fp16 values with half_output: the transposes
    // after it run at that precision.
    const LayerPrecision reads = quantizedConv ? LayerPrecision::Float32 : layer.precision;
    const LayerPrecision writes = !quantizedConv                              ? layer.precision
                                  : layer.attrs.getInt("half_output", 0) == 1 ? LayerPrecision::Float16
                                                                              : LayerPrecision::Float32;
    for (size_t i = 0; i < layer.inputs.size(); ++i) {
      if (values[i]) nhwc.inputs[i] = addConstant(layer.inputs[i], values[i]);
      else if (moves[i]) nhwc.inputs[i] = toNhwc(layer.inputs[i], reads);
    }
    if (padTo) {
      paddedFrom.insert(tensors_[layer.inputs[0]].dims[1]);
      nhwc.inputs[0] = padChannels(nhwc.inputs[0], padTo, layer.precision);
      ++padded;
    }
    const int index = static_cast<int>(layers_.size());
    for (int& t : nhwc.outputs) {
      const int twin = addTensor(tensors_[t].name + "_nhwc", tensors_[t].dtype, permuted(tensors_[t].dims, kToNhwc));
      tensors_[twin].producer = index;
      twin_[t] = twin;
      writtenNhwc_[t] = true;
      pending_[t] = true;
      twinPrecision_[t] = writes;
      tensors_[t].producer = -1;  // until a Transpose back writes it (or it is dropped)
      t = twin;
    }
    layers_.push_back(std::move(nhwc));
    (conv ? convolutions : layer.kind == "Pooling" ? poolings : others) += 1;
    return true;
  }

  void keepNchw(const Layer& layer) {
    for (int t : layer.inputs)
      if (t >= 0 && pending_[t]) materialize(t);
    const int index = static_cast<int>(layers_.size());
    for (int t : layer.outputs) tensors_[t].producer = index;
    layers_.push_back(layer);
  }

  // The NHWC twin of NCHW tensor `t`: written by a converted layer, or made by a Transpose on first use. A
  // Transpose runs at its reader's precision (an fp16 one rounds what it copies), so readers of another precision
  // get their own: an fp32 layer must not read fp16-rounded data.
  int toNhwc(int t, LayerPrecision precision) {
    const LayerPrecision p = isFloat(tensors_[t].dtype) ? precision : LayerPrecision::Float32;
    const auto made = transposed_.find({t, p});
    if (made != transposed_.end()) return made->second;
    if (twin_[t] >= 0 && !transposedFrom_.count(t)) return twin_[t];  // a converted layer writes it
    const int twin = addTensor(tensors_[t].name + "_nhwc", tensors_[t].dtype, permuted(tensors_[t].dims, kToNhwc));
    addTranspose(t, twin, kToNhwc, p, tensors_[t].name + "_to_nhwc");
    if (twin_[t] < 0) twin_[t] = twin;
    transposed_[{t, p}] = twin;
    transposedFrom_.insert(t);
    return twin;
  }

  // A zero-padded copy of NHWC tensor `t` with `channels` channels, made by a Pad layer on first use. Only padded
  // convolutions read it: it is nobody's twin, so no other layer reads it in place of `t`.
  int padChannels(int t, int64_t channels, LayerPrecision precision) {
    auto found = padded_.find({t, precision});
    if (found != padded_.end()) return found->second;
    Dims dims = tensors_[t].dims;
    const int64_t extra = channels - dims[3];
    dims[3] = channels;
    const int out = addTensor(tensors_[t].name + "_padded", tensors_[t].dtype, dims);
    const int pads = addTensor(tensors_[t].name + "_channel_pads", DType::Int64, {8});
    tensors_[pads].value = std::make_shared<const Tensor>(makeInt64({0, 0, 0, 0, 0, 0, 0, extra}, {8}));
    tensors_[pads].isConstant = true;
    Layer pad;
    pad.kind = "Pad";  // mode constant, value 0 (the defaults)
    pad.name = unique(layerNames_, tensors_[t].name + "_pad_channels");
    pad.inputs = {t, pads};
    pad.outputs = {out};
    pad.precision = precision;
    tensors_[out].producer = static_cast<int>(layers_.size());
    layers_.push_back(std::move(pad));
    padded_[{t, precision}] = out;
    return out;
  }

  // Writes NCHW tensor `t` from its NHWC twin, for an NCHW reader or a network output.
  void materialize(int t) {
    const LayerPrecision p = isFloat(tensors_[t].dtype) ? twinPrecision_[t] : LayerPrecision::Float32;
    addTranspose(twin_[t], t, kToNchw, p, tensors_[t].name + "_to_nchw");
    pending_[t] = false;
  }

  void addTranspose(int from, int to, const std::vector<int64_t>& perm, LayerPrecision precision,
                    const std::string& name) {
    Layer t;
    t.kind = "Transpose";
    t.name = unique(layerNames_, name);
    t.inputs = {from};
    t.outputs = {to};
    t.attrs.set("perm", perm);
    t.precision = precision;
    tensors_[to].producer = static_cast<int>(layers_.size());
    insertedTransposes.insert(t.name);
    layers_.push_back(std::move(t));
  }

  int addTensor(const std::string& name, DType dtype, Dims dims) {
    TensorInfo info;
    info.name = unique(tensorNames_, name);
    info.dtype = dtype;
    info.dims = std::move(dims);
    tensors_.push_back(std::move(info));
    twin_.push_back(-1);
    writtenNhwc_.push_back(false);
    pending_.push_back(false);
    twinPrecision_.push_back(LayerPrecision::Float32);
    return static_cast<int>(tensors_.size()) - 1;
  }

  // One permuted (and maybe padded) copy of constant `source` per shape, shared by every converted reader.
  int addConstant(int source, TensorPtr value) {
    const std::pair<int, Dims> key(source, value->dims());
    auto found = constants_.find(key);
    if (found != constants_.end()) return found->second;
    const int t = addTensor(tensors_[source].name + "_nhwc", value->dtype(), value->dims());
    tensors_[t].value = std::move(value);
    tensors_[t].isConstant = true;
    constants_[key] = t;
    return t;
  }

  static std::string unique(std::set<std::string>& taken, const std::string& base) {
    std::string name = base;
    for (int i = 1; taken.count(name); ++i) name = base + "_" + std::to_string(i);
    taken.insert(name);
    return name;
  }

  const Network& source_;
  std::vector<TensorInfo> tensors_;
  std::vector<Layer> layers_;
  const bool fp16Only_;
  std::vector<int> twin_;              // per tensor: its NHWC twin, -1 when none yet
  std::vector<bool> writtenNhwc_;      // per tensor: a converted layer wrote it (its twin is the original)
  std::vector<bool> pending_;          // per tensor: written NHWC, its NCHW form not made yet
  std::vector<LayerPrecision> twinPrecision_;  // per tensor written NHWC: its writer's precision
  std::map<std::pair<int, Dims>, int> constants_;  // permuted copy per source constant and shape
  std::map<std::pair<int, LayerPrecision>, int> padded_;      // per NHWC tensor and reader precision: its padded copy
  std::map<std::pair<int, LayerPrecision>, int> transposed_;  // per NCHW tensor and reader precision: its Transpose
  std::set<int> transposedFrom_;                              // NCHW tensors with an inserted Transpose
  std::set<std::string> tensorNames_, layerNames_;
};

}  // namespace

void convertToChannelsLast(Network& network, const BuildConfig& config, BuildLog& log) {
  if (config.channelsLast == ChannelsLast::Off) return;
  const bool automatic = config.channelsLast == ChannelsLast::Auto;
  if (automatic && config.backend != "cuda") return;
  const auto transposes = [](const Network& n) {
    size_t count = 0;
    for (const Layer& l : n.layers()) count += l.kind == "Transpose";
    return count;
  };
  ChannelsLastRewriter rewriter(network, automatic);
  rewriter.run();
  if (!rewriter.convolutions && !rewriter.poolings && !rewriter.others) return;
  rewriter.apply(network);
  const size_t before = transposes(network);
  cancelTransposePairs(network);
  const size_t removed = before - transposes(network);
  size_t inserted = 0;
  for (const Layer& l : network.layers()) inserted += rewriter.insertedTransposes.count(l.name);
  std::string padded;
  for (int64_t c : rewriter.paddedFrom) padded += (padded.empty() ? "" : "/") + std::to_string(c);
  if (rewriter.padded)
    padded = " (" + std::to_string(rewriter.padded) + " with channels padded " + padded + " -> " +
             std::to_string(kPaddedChannels) + ")";
  std::string line = "channels-last: " + std::to_string(rewriter.convolutions) + " convolutions" + padded + ", " +
                     std::to_string(rewriter.poolings) + " pooling layers, " + std::to_string(rewriter.others) +
                     " elementwise/concat layers in NHWC, " + std::to_string(inserted) + " transposes inserted";
  if (removed) line += "; " + std::to_string(removed) + " back-to-back transposes removed";
  log.push_back(line);
}

}  // namespace inferrt
