// Shape rules of the builder's INT8 layers (builder/int8_quantization.cc makes them; they are not imported):
// QuantizedConvolution (weights [M, C/group, k...], NCHW; with channels_last = 1 Convolution's NHWC form, x
// [N, H, W, C] and weights [M, kH, kW, C/group]) and QuantizedMatMul (weights [N, K]: a row per output channel, as
// for convolutions and cuBLASLt's int8 "TN" GEMMs) take an int8 input and int8 constant weights, accumulate in
// int32, and dequantize in their epilogue: y = act(float(acc) * dequantScale[c] + bias[c] (+ residual)), float32
// out (with half_output = 1, rounded to fp16 values: in fp16 builds their readers take fp16, and CUDA stores them
// so; with output_scale s either writes int8 saturate(roundHalfEven(y / s)) instead, y unrounded, or as a second
// output beside y, from y as that holds it: exactly what a QuantizeLinear reading y would give; with residual_scale
// r (QuantizedConvolution) its residual is int8 and y = act((float(acc) * dequantScale[c] + bias[c] + residual) * r)).
// Their geometry is Convolution's and MatMul's: the rules check the int8 operands, then ask those schemas.
#include <string>
#include <vector>

#include "ir/ops/shape_helpers.h"

namespace inferrt {

namespace {

// The float layer's view of the operands: x and w as float32, the epilogue inputs at their float positions.
std::vector<TensorDesc> asFloatOperands(const std::vector<TensorDesc>& in, const std::vector<size_t>& epilogue) {
  std::vector<TensorDesc> out{in[0], in[1]};
  out[0].dtype = out[1].dtype = DType::Float32;
  out[0].value = out[1].value = nullptr;
  for (size_t i : epilogue) {
    out.push_back(i < in.size() ? in[i] : TensorDesc{DType::Float32, {}, nullptr, false});
    out.back().dtype = DType::Float32;  // an int8 residual (residual_scale) is float in the float layer's view
  }
  while (!out.empty() && !out.back().present) out.pop_back();
  return out;
}

// The float layer's shape rule (Convolution's, MatMul's) on the float view, without its error prefix.
std::vector<TensorDesc> floatLayerShapes(const char* kind, const Layer& layer, const std::vector<TensorDesc>& in) {
  Layer view = layer;
  view.kind = kind;
  if (view.kind == std::string("MatMul")) view.attrs.set("transB", int64_t{1});  // the weight is stored [N, K]
  return findOpSchema(kind)->inferShapes(view, in);
}

// dequantScale: float32 [channels] (one per output channel; per-tensor weights repeat their scale).
void requireDequantScale(const TensorDesc& scale, int64_t channels) {
  requireDType(scale, 2, {DType::Float32});
  requireRank(scale, 2, 1, 1);
  unifyDim(scale.dims[0], channels, "dequantScale length vs output channels");
}

// half_output (0/1): the float32 result is rounded to fp16 values (stored as fp16 on CUDA) for fp16 readers.
void requireHalfOutputFlag(const Layer& layer) {
  const int64_t v = layer.attrs.getInt("half_output", 0);
  if (v != 0 && v != 1) fail(ErrorCode::InvalidArgument, "attribute 'half_output' must be 0 or 1, got ", v);
}

void requireInt8Operands(const std::vector<TensorDesc>& in) {
  requireDType(in[0], 0, {DType::Int8});
  requireDType(in[1], 1, {DType::Int8});
}

// output_scale (builder/int8_output_fusion.cc): the layer also quantizes its result, int8 out.
void requireOutputScale(const Layer& layer) {
  if (!layer.attrs.has("output_scale")) return;
  requireScaleAttribute(layer, "output_scale");
  if (layer.outputs.size() == 1 && layer.attrs.getInt("half_output", 0) != 0)
    fail(ErrorCode::InvalidArgument, "an int8-only output (output_scale, one output) takes no 'half_output'");
}

// The outputs with output_scale: y's int8 values alone, or beside y as a second output.
std::vector<TensorDesc> withInt8Output(const Layer& layer, const std::vector<TensorDesc>& out) {
  if (layer.outputs.size() == 2 && !layer.attrs.has("output_scale"))
    fail(ErrorCode::InvalidArgument, "a second output (int8) needs attribute 'output_scale'");
  if (!layer.attrs.has("output_scale")) return out;
  TensorDesc quantized = out[0];
  quantized.dtype = DType::Int8;
  if (layer.outputs.size() == 2) return {out[0], quantized};
  return {quantized};
}

std::vector<TensorDesc> inferQuantizedConvolution(const Layer& layer, const std::vector<TensorDesc>& in) {
  requireInt8Operands(in);
  requireHalfOutputFlag(layer);
  requireOutputScale(layer);
  const bool int8Residual = layer.attrs.has("residual_scale");
  if (int8Residual) {
    requireScaleAttribute(layer, "residual_scale");
    if (!hasInput(in, 4)) fail(ErrorCode::InvalidArgument, "attribute 'residual_scale' needs a residual (input 4)");
  }
  if (hasInput(in, 3)) requireDType(in[3], 3, {DType::Float32});
  if (hasInput(in, 4)) requireDType(in[4], 4, {int8Residual ? DType::Int8 : DType::Float32});
  std::vector<TensorDesc> out = floatLayerShapes("Convolution", layer, asFloatOperands(in, {3, 4}));
  requireRank(in[1], 1, 3, 5);
  requireDequantScale(in[2], in[1].dims[0]);
  return withInt8Output(layer, out);
}

std::vector<TensorDesc> inferQuantizedMatMul(const Layer& layer, const std::vector<TensorDesc>& in) {
  requireInt8Operands(in);
  requireHalfOutputFlag(layer);
  requireOutputScale(layer);
  requireRank(in[1], 1, 2, 2);
  if (layer.attrs.has("transA") || layer.attrs.has("transB"))
    fail(ErrorCode::InvalidArgument, "QuantizedMatMul has no transA / transB: its weight is stored [N, K]");
  if (layer.attrs.getFloat("alpha", 1.0) != 1.0)
    fail(ErrorCode::InvalidArgument, "QuantizedMatMul has no alpha: it is part of dequantScale");
  if (hasInput(in, 3)) requireDType(in[3], 3, {DType::Float32});
  const std::vector<TensorDesc> out = floatLayerShapes("MatMul", layer, asFloatOperands(in, {3}));
  requireDequantScale(in[2], in[1].dims[0]);
  return withInt8Output(layer, out);
}

}  // namespace

void registerQuantizedLayerSchemas() {
  registerOpSchema({"QuantizedConvolution", 3, 5, 1, 2, inferQuantizedConvolution});
  registerOpSchema({"QuantizedMatMul", 3, 4, 1, 2, inferQuantizedMatMul});
}

}  // namespace inferrt
