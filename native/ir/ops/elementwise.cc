// Shape rules of the elementwise family: ElementWise (binary, broadcast), Unary, Activation.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ir/ops/shape_helpers.h"

namespace inferrt {

namespace {

constexpr std::initializer_list<DType> kNumeric = {DType::Float32, DType::Float16, DType::Int8,
                                                   DType::UInt8,   DType::Int32,   DType::Int64};
constexpr std::initializer_list<DType> kFloats = {DType::Float32, DType::Float16};
constexpr std::initializer_list<DType> kAny = {DType::Float32, DType::Float16, DType::Int8, DType::UInt8,
                                               DType::Int32,   DType::Int64,   DType::Bool};

bool oneOf(const std::string& op, std::initializer_list<const char*> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return op == n; });
}

std::vector<TensorDesc> inferElementWise(const Layer& layer, const std::vector<TensorDesc>& in) {
  const std::string op = layer.attrs.getString("op");
  const Dims out = broadcastDims(in[0].dims, in[1].dims);
  if (oneOf(op, {"add", "sub", "mul", "div", "max", "min", "mod", "fmod", "prelu"})) {
    requireDType(in[0], 0, kNumeric);
    requireSameDType(in, 0, 1);
    return {makeDesc(in[0].dtype, out)};
  }
  if (op == "pow") {  // the exponent may have another numeric type; the result has the base's
    requireDType(in[0], 0, kNumeric);
    requireDType(in[1], 1, kNumeric);
    return {makeDesc(in[0].dtype, out)};
  }
  if (oneOf(op, {"and", "or", "xor"})) {
    requireDType(in[0], 0, {DType::Bool});
    requireDType(in[1], 1, {DType::Bool});
    return {makeDesc(DType::Bool, out)};
  }
  if (oneOf(op, {"equal", "less", "greater", "less_equal", "greater_equal"})) {
    requireDType(in[0], 0, op == "equal" ? kAny : kNumeric);
    requireSameDType(in, 0, 1);
    return {makeDesc(DType::Bool, out)};
  }
  fail(ErrorCode::InvalidArgument, "unknown ElementWise op '", op,
       "'; expected add sub mul div pow max min mod fmod and or xor equal less greater less_equal greater_equal "
       "prelu");
}

std::vector<TensorDesc> inferUnary(const Layer& layer, const std::vector<TensorDesc>& in) {
  const std::string op = layer.attrs.getString("op");
  const TensorDesc& x = in[0];
  if (oneOf(op, {"abs", "neg", "sign"})) {
    requireDType(x, 0, kNumeric);
    return {makeDesc(x.dtype, x.dims)};
  }
  if (oneOf(op, {"exp", "log", "sqrt", "reciprocal", "floor", "ceil", "round", "sin", "cos", "tan", "asin", "acos",
                 "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "erf"})) {
    requireDType(x, 0, kFloats);
    return {makeDesc(x.dtype, x.dims)};
  }
  if (op == "not") {
    requireDType(x, 0, {DType::Bool});
    return {makeDesc(DType::Bool, x.dims)};
  }
  if (op == "isnan" || op == "isinf") {
    requireDType(x, 0, kFloats);
    if (op == "isinf") {
      for (const char* key : {"detect_positive", "detect_negative"}) {
        int64_t v = layer.attrs.getInt(key, 1);
        if (v != 0 && v != 1) fail(ErrorCode::InvalidArgument, "attribute '", key, "' must be 0 or 1, got ", v);
      }
    }
    return {makeDesc(DType::Bool, x.dims)};
  }
  fail(ErrorCode::InvalidArgument, "unknown Unary op '", op,
       "'; expected abs neg exp log sqrt reciprocal floor ceil round sin cos tan asin acos atan sinh cosh asinh "
       "acosh atanh erf not sign isnan isinf");
}

std::vector<TensorDesc> inferActivation(const Layer& layer, const std::vector<TensorDesc>& in) {
  const std::string op = layer.attrs.getString("op");
  const TensorDesc& x = in[0];
  // Reading the attributes here validates their types at build time.
  const double alpha = layer.attrs.getFloat("alpha", 0.0);
  const double beta = layer.attrs.getFloat("beta", 0.0);
  if (op == "relu" || op == "clip") {
    requireDType(x, 0, kNumeric);
    if (op == "clip" && (std::isnan(alpha) || std::isnan(beta)))
      fail(ErrorCode::InvalidArgument, "clip bounds alpha (min) and beta (max) must not be NaN");
    return {makeDesc(x.dtype, x.dims)};
  }
  if (!oneOf(op, {"sigmoid", "tanh", "leaky_relu", "elu", "selu", "hard_sigmoid", "hard_swish", "softplus",
                  "softsign", "gelu", "thresholded_relu", "celu", "mish"}))
    fail(ErrorCode::InvalidArgument, "unknown Activation op '", op,
         "'; expected relu sigmoid tanh leaky_relu elu selu clip hard_sigmoid hard_swish softplus softsign gelu "
         "thresholded_relu celu mish");
  requireDType(x, 0, kFloats);
  if (op == "gelu") {
    const std::string approx = layer.attrs.getString("approximate", "none");
    if (approx != "none" && approx != "tanh")
      fail(ErrorCode::InvalidArgument, "gelu attribute 'approximate' must be 'none' or 'tanh', got '", approx, "'");
  }
  if (op == "celu" && layer.attrs.has("alpha") && alpha == 0.0)
    fail(ErrorCode::InvalidArgument, "celu attribute 'alpha' must not be 0");
  return {makeDesc(x.dtype, x.dims)};
}

}  // namespace

void registerElementwiseSchemas() {
  registerOpSchema({"ElementWise", 2, 2, 1, 1, inferElementWise});
  registerOpSchema({"Unary", 1, 1, 1, 1, inferUnary});
  registerOpSchema({"Activation", 1, 1, 1, 1, inferActivation});
}

}  // namespace inferrt
