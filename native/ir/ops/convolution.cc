// Shape rules of Convolution and Pooling: NCHW-style layouts with 1 to 3 spatial dims, or with channels_last = 1
// (the builder's channels-last pass) 2-D NHWC: x [N, H, W, C], conv weights [M, kH, kW, C/group], output
// [N, H', W', M]. Convolution may carry a fused epilogue (builder conv fusion): a residual input 3 of the output's
// shape and activation none / relu. Max pooling of a float input may carry output_scale (the builder's INT8 output
// fusion): its output is then the int8 values a one-scale QuantizeLinear of the maximum would give.
#include <string>
#include <vector>

#include "ir/ops/shape_helpers.h"
#include "ir/ops/shared_shape_rules.h"

namespace inferrt {

namespace {

constexpr std::initializer_list<DType> kFloats = {DType::Float32, DType::Float16};

// The kernel_shape attribute, checked against `fromWeights` (dims of the weight tensor; kDynamic allowed).
Dims kernelShape(const Layer& layer, const Dims& fromWeights) {
  if (!layer.attrs.has("kernel_shape")) return fromWeights;
  const std::vector<int64_t> k = layer.attrs.getInts("kernel_shape");
  if (k.empty()) return fromWeights;
  if (k.size() != fromWeights.size())
    fail(ErrorCode::InvalidArgument, "kernel_shape has ", k.size(), " values for ", fromWeights.size(),
         " spatial dims");
  Dims kernel(k.size());
  for (size_t i = 0; i < k.size(); ++i) {
    if (k[i] < 1) fail(ErrorCode::InvalidArgument, "kernel_shape values must be >= 1, got ", k[i]);
    kernel[i] = unifyDim(k[i], fromWeights[i], "kernel_shape vs weight dims");
  }
  return kernel;
}

// The channels_last attribute (0 or 1); 1 requires a rank-4 input (2-D spatial). Throws naming the layer kind.
bool channelsLastOf(const Layer& layer, const TensorDesc& x) {
  const int64_t v = layer.attrs.getInt("channels_last", 0);
  if (v != 0 && v != 1) fail(ErrorCode::InvalidArgument, "attribute 'channels_last' must be 0 or 1, got ", v);
  if (v == 1 && x.dims.size() != 4)
    fail(ErrorCode::ShapeMismatch, layer.kind, " with channels_last = 1 needs a rank-4 input [N, H, W, C], got ",
         dimsToString(x.dims));
  return v == 1;
}

// Output dims from the batch, channels and output spatial dims in the layer's layout.
Dims layoutDims(int64_t batch, int64_t channels, const Dims& spatial, bool channelsLast) {
  Dims out = {batch};
  if (!channelsLast) out.push_back(channels);
  out.insert(out.end(), spatial.begin(), spatial.end());
  if (channelsLast) out.push_back(channels);
  return out;
}

std::vector<TensorDesc> inferConvolution(const Layer& layer, const std::vector<TensorDesc>& in) {
  const TensorDesc& x = in[0];
  requireDType(x, 0, kFloats);
  requireSameDType(in, 0, 1);
  Dims out = convolutionOutputDims(layer, x, in[1]);
  const int64_t outChannels = in[1].dims[0];
  if (hasInput(in, 2)) {
    requireSameDType(in, 0, 2);
    requireRank(in[2], 2, 1, 1);
    unifyDim(in[2].dims[0], outChannels, "bias (input 2) length vs output channels");
  }
  const std::string act = layer.attrs.getString("activation", "none");
  if (act != "none" && act != "relu")
    fail(ErrorCode::InvalidArgument, "attribute 'activation' must be 'none' or 'relu', got '", act, "'");
  if (hasInput(in, 3)) {  // the residual is added element for element: same dtype and shape, no broadcast
    requireSameDType(in, 0, 3);
    const Dims& r = in[3].dims;
    if (r.size() != out.size())
      fail(ErrorCode::ShapeMismatch, "residual (input 3) ", dimsToString(r), " must have the output's shape ",
           dimsToString(out));
    for (size_t i = 0; i < out.size(); ++i) out[i] = unifyDim(out[i], r[i], "residual (input 3) vs output dim");
  }
  return {makeDesc(x.dtype, out)};
}

std::vector<TensorDesc> inferPooling(const Layer& layer, const std::vector<TensorDesc>& in) {
  const std::string mode = layer.attrs.getString("mode");
  const TensorDesc& x = in[0];
  const bool isMax = mode == "max" || mode == "global_max";
  if (isMax)
    requireDType(x, 0, {DType::Float32, DType::Float16, DType::Int8, DType::UInt8, DType::Int32, DType::Int64});
  else
    requireDType(x, 0, kFloats);
  requireRank(x, 0, 3, 5);
  const bool last = channelsLastOf(layer, x);
  const int64_t channels = x.dims[last ? 3 : 1];
  // output_scale s (the builder's INT8 output fusion): y is int8, QuantizeLinear(max, s) of the float maximum.
  const bool quantizes = layer.attrs.has("output_scale");
  if (quantizes) {
    requireScaleAttribute(layer, "output_scale");
    if (!isMax || !isFloat(x.dtype))
      fail(ErrorCode::InvalidModel, "Pooling with output_scale needs max pooling of a float input, got mode '", mode,
           "' on ", dtypeName(x.dtype));
  }
  const DType yType = quantizes ? DType::Int8 : x.dtype;
  if (mode == "global_max" || mode == "global_average")
    return {makeDesc(yType, layoutDims(x.dims[0], channels, Dims(x.dims.size() - 2, 1), last))};
  if (mode != "max" && mode != "average")
    fail(ErrorCode::InvalidArgument, "unknown Pooling mode '", mode,
         "'; expected max, average, global_max or global_average");
  const std::vector<int64_t> kernel = layer.attrs.getInts("kernel_shape");
  if (kernel.size() != x.dims.size() - 2)
    fail(ErrorCode::InvalidArgument, "kernel_shape has ", kernel.size(), " values for ", x.dims.size() - 2,
         " spatial dims");
  for (int64_t k : kernel)
    if (k < 1) fail(ErrorCode::InvalidArgument, "kernel_shape values must be >= 1, got ", k);
  for (const char* key : {"ceil_mode", "count_include_pad"}) {
    const int64_t v = layer.attrs.getInt(key, 0);
    if (v != 0 && v != 1) fail(ErrorCode::InvalidArgument, "attribute '", key, "' must be 0 or 1, got ", v);
  }
  const bool ceilMode = layer.attrs.getInt("ceil_mode", 0) == 1;
  const Dims spatial = last ? Dims(x.dims.begin() + 1, x.dims.end() - 1) : Dims(x.dims.begin() + 2, x.dims.end());
  const SpatialWindow win = resolveWindow(layer.attrs, spatial, kernel, ceilMode);
  return {makeDesc(yType, layoutDims(x.dims[0], channels, win.output, last))};
}

}  // namespace

Dims convolutionOutputDims(const Layer& layer, const TensorDesc& x, const TensorDesc& w) {
  requireRank(x, 0, 3, 5);
  if (w.dims.size() != x.dims.size())
    fail(ErrorCode::ShapeMismatch, "weights (input 1) ", dimsToString(w.dims), " must have the rank of the input ",
         dimsToString(x.dims));
  const bool last = channelsLastOf(layer, x);
  const size_t rank = x.dims.size(), cx = last ? rank - 1 : 1, cw = last ? rank - 1 : 1;  // channel dims of x, w
  const int64_t group = layer.attrs.getInt("group", 1);
  if (group < 1) fail(ErrorCode::InvalidArgument, "attribute 'group' must be >= 1, got ", group);
  const int64_t channels = x.dims[cx], outChannels = w.dims[0];
  if (channels >= 0 && channels % group != 0)
    fail(ErrorCode::ShapeMismatch, "input channels ", channels, " are not divisible by group ", group);
  if (channels >= 0 && w.dims[cw] >= 0 && channels / group != w.dims[cw])
    fail(ErrorCode::ShapeMismatch, "weights ", dimsToString(w.dims), " expect ", w.dims[cw], " x ", group,
         " (group) input channels, input ", dimsToString(x.dims), " has ", channels,
         last ? " (channels_last: x [N, H, W, C], weights [M, kH, kW, C/group])" : "");
  if (outChannels >= 0 && outChannels % group != 0)
    fail(ErrorCode::ShapeMismatch, "output channels ", outChannels, " are not divisible by group ", group);
  const Dims spatial = last ? Dims(x.dims.begin() + 1, x.dims.end() - 1) : Dims(x.dims.begin() + 2, x.dims.end());
  const Dims kernel = kernelShape(layer, last ? Dims(w.dims.begin() + 1, w.dims.end() - 1)
                                              : Dims(w.dims.begin() + 2, w.dims.end()));
  const SpatialWindow win = resolveWindow(layer.attrs, spatial, kernel, false);
  return layoutDims(x.dims[0], outChannels, win.output, last);
}

void registerConvolutionSchemas() {
  registerOpSchema({"Convolution", 2, 4, 1, 1, inferConvolution});
  registerOpSchema({"Pooling", 1, 1, 1, 1, inferPooling});
}

}  // namespace inferrt
