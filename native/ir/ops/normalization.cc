// Shape rule of Normalization (modes layer / instance / batch; ONNX LayerNormalization,
// InstanceNormalization and inference-mode BatchNormalization). Layer mode takes an optional skip (input 5) added
// to x first, the builder's skip-layernorm fusion of a residual Add, and with output_scale (the builder's INT8 output
// fusion) writes y's int8 values as a second output instead of the optional Mean / InvStdDev.
#include <cmath>
#include <string>
#include <vector>

#include "ir/ops/shape_helpers.h"

namespace inferrt {

namespace {

constexpr std::initializer_list<DType> kFloats = {DType::Float32, DType::Float16};

// Checks that `param` broadcasts into `x` without growing it (unidirectional broadcast).
void requireBroadcastsInto(const TensorDesc& param, size_t index, const Dims& x) {
  const Dims b = broadcastDims(x, param.dims);
  bool grows = b.size() != x.size();
  for (size_t i = 0; !grows && i < b.size(); ++i) grows = x[i] != kDynamic && b[i] != x[i];
  if (grows)
    fail(ErrorCode::ShapeMismatch, "input ", index, " of shape ", dimsToString(param.dims),
         " does not broadcast to the input shape ", dimsToString(x));
}

// Checks a per-channel parameter: 1-D of length C (lenient where either is unknown).
void requireChannelVector(const TensorDesc& param, size_t index, int64_t channels) {
  requireDType(param, index, kFloats);
  requireRank(param, index, 1, 1);
  unifyDim(param.dims[0], channels, ("input " + std::to_string(index) + " length vs channel count").c_str());
}

constexpr size_t kSkip = 5;

// Layer mode's skip: x's dtype and exactly x's dims (no broadcast; a dim unknown on one side takes the other's).
// Returns the output dims.
Dims unifySkip(const TensorDesc& x, const TensorDesc& skip) {
  if (skip.dtype != x.dtype)
    fail(ErrorCode::DTypeMismatch, "skip (input 5) has dtype ", dtypeName(skip.dtype), ", expected x's dtype ",
         dtypeName(x.dtype));
  const auto mismatch = [&] {
    fail(ErrorCode::ShapeMismatch, "skip (input 5) has shape ", dimsToString(skip.dims), ", expected x's shape ",
         dimsToString(x.dims));
  };
  if (skip.dims.size() != x.dims.size()) mismatch();
  Dims out = x.dims;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] >= 0 && skip.dims[i] >= 0 && out[i] != skip.dims[i]) mismatch();
    if (out[i] < 0) out[i] = skip.dims[i];
  }
  return out;
}

std::vector<TensorDesc> inferNormalization(const Layer& layer, const std::vector<TensorDesc>& in) {
  const std::string mode = layer.attrs.getString("mode");
  const double eps = layer.attrs.getFloat("epsilon", 1e-5);
  if (!(eps >= 0) || std::isinf(eps))
    fail(ErrorCode::InvalidArgument, "attribute 'epsilon' must be finite and >= 0, got ", eps);
  const TensorDesc& x = in[0];
  requireDType(x, 0, kFloats);
  const size_t numOutputs = layer.outputs.size();

  if (mode == "layer") {
    requireRank(x, 0, 1);
    const int64_t rank = static_cast<int64_t>(x.dims.size());
    const int64_t axis = normalizeAxis(layer.attrs.getInt("axis", -1), rank, "axis");
    if (hasInput(in, 3) || hasInput(in, 4))
      fail(ErrorCode::InvalidModel, "layer normalization takes no mean/var inputs (3, 4)");
    const Dims dims = hasInput(in, kSkip) ? unifySkip(x, in[kSkip]) : x.dims;
    for (size_t i = 1; i <= 2; ++i) {
      if (!hasInput(in, i)) continue;
      requireDType(in[i], i, kFloats);
      requireBroadcastsInto(in[i], i, dims);
    }
    std::vector<TensorDesc> out = {makeDesc(x.dtype, dims)};
    if (layer.attrs.has("output_scale")) {
      requireScaleAttribute(layer, "output_scale");
      if (numOutputs != 2)
        fail(ErrorCode::InvalidModel, "layer normalization with output_scale has 2 outputs (y, its int8 values), got ",
             numOutputs);
      out.push_back(makeDesc(DType::Int8, dims));
      return out;
    }
    // Optional Mean and InvStdDev outputs (ONNX stash_type 1: float32), reduced dims kept as 1.
    Dims stats(dims.begin(), dims.begin() + axis);
    stats.resize(static_cast<size_t>(rank), 1);
    for (size_t i = 1; i < numOutputs; ++i) out.push_back(makeDesc(DType::Float32, stats));
    return out;
  }
  if (hasInput(in, kSkip))
    fail(ErrorCode::InvalidModel, "skip (input 5) is only allowed in layer mode, got mode '", mode, "'");
  if (layer.attrs.has("output_scale"))
    fail(ErrorCode::InvalidModel, "output_scale is only allowed in layer mode, got mode '", mode, "'");
  if (numOutputs != 1) fail(ErrorCode::InvalidModel, mode, " normalization has 1 output, got ", numOutputs);
  if (mode == "instance") {
    requireRank(x, 0, 3);
    if (hasInput(in, 3) || hasInput(in, 4))
      fail(ErrorCode::InvalidModel, "instance normalization takes no mean/var inputs (3, 4)");
  } else if (mode == "batch") {
    requireRank(x, 0, 2);
    if (!hasInput(in, 3) || !hasInput(in, 4))
      fail(ErrorCode::InvalidModel, "batch normalization needs mean (input 3) and var (input 4)");
  } else {
    fail(ErrorCode::InvalidArgument, "unknown Normalization mode '", mode, "'; expected layer, instance or batch");
  }
  for (size_t i = 1; i < in.size(); ++i)
    if (hasInput(in, i)) requireChannelVector(in[i], i, x.dims[1]);
  return {makeDesc(x.dtype, x.dims)};
}

}  // namespace

void registerNormalizationSchemas() {
  registerOpSchema({"Normalization", 2, 6, 1, 3, inferNormalization});
}

}  // namespace inferrt
