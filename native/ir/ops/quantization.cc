// Shape rules of the explicit-quantization layers (ONNX's QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
// MatMulInteger and ConvInteger): the dtypes they accept and their outputs' dtypes and dims. The math is in
// LAYERS.md and backend/cpu/quantization.cc. MatMulInteger and ConvInteger take their output dims from the MatMul
// and Convolution rules (shared_shape_rules.h).
#include <string>
#include <vector>

#include "ir/gemm_layers.h"
#include "ir/ops/shape_helpers.h"
#include "ir/ops/shared_shape_rules.h"

namespace inferrt {

namespace {

constexpr std::initializer_list<DType> kFloats = {DType::Float32, DType::Float16};
constexpr std::initializer_list<DType> kInt8s = {DType::Int8, DType::UInt8};

// Values of a scale or zero point: rank 0 holds one, rank 1 its length (kDynamic while unknown).
int64_t valueCount(const TensorDesc& d) { return d.dims.empty() ? 1 : d.dims[0]; }

// Scale (input 1) and zero point (input 2) of QuantizeLinear / DequantizeLinear. Both have one shape: one value
// (rank 0 or [1], per tensor) or 1-D [C] with C > 1, per axis: C must equal x's dim on `axis`.
void checkScaleAndZeroPoint(const Layer& layer, const std::vector<TensorDesc>& in) {
  const TensorDesc& x = in[0];
  const TensorDesc& scale = in[1];
  requireDType(scale, 1, kFloats);
  requireRank(scale, 1, 0, 1);
  int64_t count = valueCount(scale);
  if (hasInput(in, 2)) {
    requireRank(in[2], 2, 0, 1);
    count = unifyDim(valueCount(in[2]), count, "zero point (input 2) vs scale (input 1) value count");
  }
  if (count <= 1) return;  // per tensor (or unknown until run time): axis is not used
  const int64_t axisAttr = layer.attrs.getInt("axis", 1);
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  if (axisAttr < -rank || axisAttr >= rank)
    fail(ErrorCode::InvalidArgument, "axis ", axisAttr, " is out of range for x ", dimsToString(x.dims),
         " (per-axis scale of ", count, " values)");
  const int64_t axis = normalizeAxis(axisAttr, rank, "axis");
  const int64_t dim = x.dims[static_cast<size_t>(axis)];
  if (dim >= 0 && dim != count)
    fail(ErrorCode::ShapeMismatch, "scale (input 1) has ", count, " values but x ", dimsToString(x.dims), " has ",
         dim, " on axis ", axis, "; a per-axis scale needs one value per index of that axis");
}

std::vector<TensorDesc> inferQuantizeLinear(const Layer& layer, const std::vector<TensorDesc>& in) {
  requireDType(in[0], 0, {DType::Float32, DType::Float16, DType::Int32});
  // The builder's activation (gelu_quantize_handoff.cc), applied to x before quantizing: a GEMM activation.
  if (gemmActivationOf(layer) != GemmActivation::None && in[0].dtype == DType::Int32)
    fail(ErrorCode::DTypeMismatch, "QuantizeLinear layer '", layer.name, "' applies activation '",
         layer.attrs.getString("activation"), "' to x, which must then be float32 or float16, got int32");
  checkScaleAndZeroPoint(layer, in);
  const std::string name = layer.attrs.getString("outputDType", "uint8");
  if (name != "int8" && name != "uint8")
    fail(ErrorCode::InvalidArgument, "attribute 'outputDType' must be 'int8' or 'uint8', got '", name, "'");
  DType out = name == "int8" ? DType::Int8 : DType::UInt8;
  if (hasInput(in, 2)) {  // the zero point's dtype is the output's
    requireDType(in[2], 2, kInt8s);
    out = in[2].dtype;
  }
  return {makeDesc(out, in[0].dims)};
}

std::vector<TensorDesc> inferDequantizeLinear(const Layer& layer, const std::vector<TensorDesc>& in) {
  requireDType(in[0], 0, {DType::Int8, DType::UInt8, DType::Int32});
  checkScaleAndZeroPoint(layer, in);
  if (hasInput(in, 2)) requireSameDType(in, 0, 2);
  return {makeDesc(in[1].dtype, in[0].dims)};
}

std::vector<TensorDesc> inferDynamicQuantizeLinear(const Layer&, const std::vector<TensorDesc>& in) {
  requireDType(in[0], 0, {DType::Float32});
  return {makeDesc(DType::UInt8, in[0].dims), makeDesc(DType::Float32, {}), makeDesc(DType::UInt8, {})};
}

// Zero point `i` of an integer layer, for operand `operand`: the operand's dtype, one value (rank 0 or [1]) or,
// when `perLength` is not null, 1-D with *perLength values (`perWhat` says per what).
void checkIntegerZeroPoint(const std::vector<TensorDesc>& in, size_t i, size_t operand, const char* what,
                           const int64_t* perLength, const char* perWhat) {
  if (!hasInput(in, i)) return;
  requireSameDType(in, operand, i);
  const TensorDesc& zp = in[i];
  requireRank(zp, i, 0, 1);
  const int64_t count = valueCount(zp);
  if (count < 0 || count == 1) return;
  if (!perLength)
    fail(ErrorCode::ShapeMismatch, what, " (input ", i, ") must hold one value, got shape ", dimsToString(zp.dims));
  if (*perLength >= 0 && count != *perLength)
    fail(ErrorCode::ShapeMismatch, what, " (input ", i, ") must hold one value or ", *perLength, " (one per ",
         perWhat, "), got shape ", dimsToString(zp.dims));
}

std::vector<TensorDesc> inferMatMulInteger(const Layer&, const std::vector<TensorDesc>& in) {
  requireDType(in[0], 0, kInt8s);
  requireDType(in[1], 1, kInt8s);
  const Dims out = matmulOutputDims(in[0], in[1], false, false);
  const Dims& a = in[0].dims;
  const Dims& b = in[1].dims;
  const int64_t rows = a.size() == 1 ? 1 : a[a.size() - 2], cols = b.size() == 1 ? 1 : b.back();
  checkIntegerZeroPoint(in, 2, 0, "aZeroPoint", &rows, "row of A");
  checkIntegerZeroPoint(in, 3, 1, "bZeroPoint", &cols, "column of B");
  return {makeDesc(DType::Int32, out)};
}

std::vector<TensorDesc> inferConvInteger(const Layer& layer, const std::vector<TensorDesc>& in) {
  requireDType(in[0], 0, kInt8s);
  requireDType(in[1], 1, kInt8s);
  if (layer.attrs.getInt("channels_last", 0) != 0)
    fail(ErrorCode::InvalidArgument, "ConvInteger has no channels_last form (NCHW only)");
  const Dims out = convolutionOutputDims(layer, in[0], in[1]);
  const int64_t outChannels = in[1].dims[0];
  checkIntegerZeroPoint(in, 2, 0, "xZeroPoint", nullptr, "");
  checkIntegerZeroPoint(in, 3, 1, "wZeroPoint", &outChannels, "output channel");
  return {makeDesc(DType::Int32, out)};
}

}  // namespace

void registerQuantizationSchemas() {
  registerOpSchema({"QuantizeLinear", 2, 3, 1, 1, inferQuantizeLinear});
  registerOpSchema({"DequantizeLinear", 2, 3, 1, 1, inferDequantizeLinear});
  registerOpSchema({"DynamicQuantizeLinear", 1, 1, 3, 3, inferDynamicQuantizeLinear});
  registerOpSchema({"MatMulInteger", 2, 4, 1, 1, inferMatMulInteger});
  registerOpSchema({"ConvInteger", 2, 4, 1, 1, inferConvInteger});
}

}  // namespace inferrt
