// Shape rules of the "Generator" family: ConstantOfShape, Range, Cast, Identity.
#include <vector>

#include "ir/ops/movement_geometry.h"
#include "ir/ops/shape_helpers.h"

namespace inferrt {

namespace {

std::vector<TensorDesc> inferConstantOfShape(const Layer&, const std::vector<TensorDesc>& in) {
  const int64_t rank = shapeVectorLength(in[0], 0, "shape");
  DType dtype = DType::Float32;  // ONNX default: a float32 zero
  if (hasInput(in, 1)) {
    requireOneElement(in[1], 1, "value");
    dtype = in[1].dtype;
  }
  std::vector<int64_t> shape;
  if (!knownInts(in[0], "shape", &shape)) return {makeDesc(dtype, Dims(static_cast<size_t>(rank), kDynamic))};
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] < 0) fail(ErrorCode::InvalidArgument, "shape[", i, "] = ", shape[i], " must be >= 0");
  requireAllocatable(dtype, shape, "ConstantOfShape output");
  return {makeDesc(dtype, shape)};
}

std::vector<TensorDesc> inferRange(const Layer&, const std::vector<TensorDesc>& in) {
  const char* names[] = {"start", "limit", "delta"};
  for (size_t i = 0; i < 3; ++i) {
    requireDType(in[i], i, {DType::Float32, DType::Float16, DType::Int32, DType::Int64});
    requireSameDType(in, 0, i);
    requireOneElement(in[i], i, names[i]);
  }
  const DType dtype = in[0].dtype;
  if (!in[0].value || !in[1].value || !in[2].value) return {makeDesc(dtype, {kDynamic})};
  for (size_t i = 0; i < 3; ++i)
    if (in[i].value->numel() != 1)
      fail(ErrorCode::ShapeMismatch, "input ", i, " (", names[i], ") must hold one element, got ",
           in[i].value->numel());
  const Tensor &start = *in[0].value, &limit = *in[1].value, &delta = *in[2].value;
  const int64_t n = isFloat(dtype) ? rangeLengthFloat(static_cast<float>(start.getDouble(0)),
                                                      static_cast<float>(limit.getDouble(0)),
                                                      static_cast<float>(delta.getDouble(0)))
                                   : rangeLengthInt(start.getInt(0), limit.getInt(0), delta.getInt(0));
  return {makeDesc(dtype, {n})};
}

std::vector<TensorDesc> inferCast(const Layer& layer, const std::vector<TensorDesc>& in) {
  const int64_t code = layer.attrs.getInt("to");
  DType to;
  if (!dtypeFromInt(code, &to)) fail(ErrorCode::InvalidArgument, "attribute 'to' = ", code, " is not a dtype code");
  return {makeDesc(to, in[0].dims)};
}

std::vector<TensorDesc> inferIdentity(const Layer&, const std::vector<TensorDesc>& in) {
  return {makeDesc(in[0].dtype, in[0].dims)};
}

}  // namespace

void registerGeneratorSchemas() {
  registerOpSchema({"ConstantOfShape", 1, 2, 1, 1, inferConstantOfShape});
  registerOpSchema({"Range", 3, 3, 1, 1, inferRange});
  registerOpSchema({"Cast", 1, 1, 1, 1, inferCast});
  registerOpSchema({"Identity", 1, 1, 1, 1, inferIdentity});
}

}  // namespace inferrt
