// Scalar definitions of the Unary and Activation ops (ONNX semantics), evaluated in double by the CPU
// kernels and rounded once to the output type. Parsing happens once per kernel call, not per element.
// Shared by the Unary/Activation kernels, MatMul's epilogue and the fused Pointwise kernel.
#pragma once
#include <cmath>
#include <string>

#include "ir/attributes.h"
#include "ir/error.h"

namespace inferrt {

enum class UnaryOp {
  Abs, Neg, Sign, Exp, Log, Sqrt, Reciprocal, Floor, Ceil, Round, Sin, Cos, Tan, Asin, Acos, Atan,
  Sinh, Cosh, Asinh, Acosh, Atanh, Erf, Not, IsNan, IsInf,
};

// False when `name` is no Unary op.
inline bool findUnaryOp(const std::string& name, UnaryOp* op) {
  static const struct { const char* name; UnaryOp op; } kTable[] = {
      {"abs", UnaryOp::Abs},     {"neg", UnaryOp::Neg},     {"sign", UnaryOp::Sign},
      {"exp", UnaryOp::Exp},     {"log", UnaryOp::Log},     {"sqrt", UnaryOp::Sqrt},
      {"reciprocal", UnaryOp::Reciprocal}, {"floor", UnaryOp::Floor}, {"ceil", UnaryOp::Ceil},
      {"round", UnaryOp::Round}, {"sin", UnaryOp::Sin},     {"cos", UnaryOp::Cos},
      {"tan", UnaryOp::Tan},     {"asin", UnaryOp::Asin},   {"acos", UnaryOp::Acos},
      {"atan", UnaryOp::Atan},   {"sinh", UnaryOp::Sinh},   {"cosh", UnaryOp::Cosh},
      {"asinh", UnaryOp::Asinh}, {"acosh", UnaryOp::Acosh}, {"atanh", UnaryOp::Atanh},
      {"erf", UnaryOp::Erf},     {"not", UnaryOp::Not},     {"isnan", UnaryOp::IsNan},
      {"isinf", UnaryOp::IsInf},
  };
  for (const auto& e : kTable) {
    if (name != e.name) continue;
    *op = e.op;
    return true;
  }
  return false;
}

inline UnaryOp parseUnaryOp(const std::string& op) {
  UnaryOp result;
  if (!findUnaryOp(op, &result)) fail(ErrorCode::InvalidArgument, "unknown Unary op '", op, "'");
  return result;
}

// The Unary ops that map floats to floats (not, isnan and isinf take or produce bool).
inline bool isFloatUnary(UnaryOp op) { return op != UnaryOp::Not && op != UnaryOp::IsNan && op != UnaryOp::IsInf; }

// The float ops (isnan/isinf/not excluded: they produce or take bool).
inline double applyUnaryFloat(UnaryOp op, double x) {
  switch (op) {
    case UnaryOp::Abs: return std::fabs(x);
    case UnaryOp::Neg: return -x;
    case UnaryOp::Sign: return x > 0 ? 1.0 : (x < 0 ? -1.0 : x);  // keeps 0 and NaN
    case UnaryOp::Exp: return std::exp(x);
    case UnaryOp::Log: return std::log(x);
    case UnaryOp::Sqrt: return std::sqrt(x);
    case UnaryOp::Reciprocal: return 1.0 / x;
    case UnaryOp::Floor: return std::floor(x);
    case UnaryOp::Ceil: return std::ceil(x);
    case UnaryOp::Round: return std::nearbyint(x);  // default rounding mode: half to even
    case UnaryOp::Sin: return std::sin(x);
    case UnaryOp::Cos: return std::cos(x);
    case UnaryOp::Tan: return std::tan(x);
    case UnaryOp::Asin: return std::asin(x);
    case UnaryOp::Acos: return std::acos(x);
    case UnaryOp::Atan: return std::atan(x);
    case UnaryOp::Sinh: return std::sinh(x);
    case UnaryOp::Cosh: return std::cosh(x);
    case UnaryOp::Asinh: return std::asinh(x);
    case UnaryOp::Acosh: return std::acosh(x);
    case UnaryOp::Atanh: return std::atanh(x);
    case UnaryOp::Erf: return std::erf(x);
    default: fail(ErrorCode::Internal, "unary op is not a float op");
  }
}

enum class ActivationOp {
  Relu, Sigmoid, Tanh, LeakyRelu, Elu, Selu, Clip, HardSigmoid, HardSwish, Softplus, Softsign, Gelu, GeluTanh,
  ThresholdedRelu, Celu, Mish,
};

// An activation with its attributes resolved to the ONNX defaults.
struct Activation {
  ActivationOp op;
  double alpha;
  double beta;
};

// Each Activation op with its ONNX default alpha and beta.
struct ActivationDefaults {
  const char* name;
  ActivationOp op;
  double alpha, beta;
};
inline const ActivationDefaults* findActivationDefaults(const std::string& name) {
  static const ActivationDefaults kTable[] = {
      {"relu", ActivationOp::Relu, 0, 0},
      {"sigmoid", ActivationOp::Sigmoid, 0, 0},
      {"tanh", ActivationOp::Tanh, 0, 0},
      {"leaky_relu", ActivationOp::LeakyRelu, 0.01, 0},
      {"elu", ActivationOp::Elu, 1.0, 0},
      {"selu", ActivationOp::Selu, 1.67326319217681884765625, 1.05070102214813232421875},
      {"clip", ActivationOp::Clip, -INFINITY, INFINITY},
      {"hard_sigmoid", ActivationOp::HardSigmoid, 0.2, 0.5},
      {"hard_swish", ActivationOp::HardSwish, 1.0 / 6.0, 0.5},
      {"softplus", ActivationOp::Softplus, 0, 0},
      {"softsign", ActivationOp::Softsign, 0, 0},
      {"gelu", ActivationOp::Gelu, 0, 0},
      {"thresholded_relu", ActivationOp::ThresholdedRelu, 1.0, 0},
      {"celu", ActivationOp::Celu, 1.0, 0},
      {"mish", ActivationOp::Mish, 0, 0},
  };
  for (const auto& e : kTable)
    if (name == e.name) return &e;
  return nullptr;
}

inline Activation parseActivation(const Attributes& attrs) {
  const std::string op = attrs.getString("op");
  const ActivationDefaults* e = findActivationDefaults(op);
  if (!e) fail(ErrorCode::InvalidArgument, "unknown Activation op '", op, "'");
  Activation a{e->op, attrs.getFloat("alpha", e->alpha), attrs.getFloat("beta", e->beta)};
  if (a.op == ActivationOp::HardSwish) a = {a.op, 1.0 / 6.0, 0.5};  // ONNX HardSwish has no attributes
  if (a.op == ActivationOp::Gelu && attrs.getString("approximate", "none") == "tanh") a.op = ActivationOp::GeluTanh;
  return a;
}

// The activation a fused layer's "activation" attribute names (GEMM / INT8 epilogues); false for "none".
inline bool fusedActivation(const Attributes& layerAttrs, Activation* out) {
  const std::string act = layerAttrs.getString("activation", "none");
  if (act == "none") return false;
  Attributes attrs;
  attrs.set("op", act == "gelu_tanh" ? std::string("gelu") : act);  // ir/gemm_layers.h
  if (act == "gelu_tanh") attrs.set("approximate", std::string("tanh"));
  *out = parseActivation(attrs);
  return true;
}

// Clamp to [0, 1] that lets NaN through (as np.clip does), unlike fmin/fmax.
inline double clampUnit(double v) { return v < 0 ? 0.0 : (v > 1 ? 1.0 : v); }

inline double applyActivation(const Activation& a, double x) {
  switch (a.op) {
    case ActivationOp::Relu: return x < 0 ? 0.0 : x;  // NaN passes through, as np.maximum(x, 0)
    case ActivationOp::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case ActivationOp::Tanh: return std::tanh(x);
    case ActivationOp::LeakyRelu: return x < 0 ? a.alpha * x : x;
    case ActivationOp::Elu: return x < 0 ? a.alpha * (std::exp(x) - 1.0) : x;
    case ActivationOp::Selu: return x > 0 ? a.beta * x : a.beta * (a.alpha * std::exp(x) - a.alpha);
    case ActivationOp::Clip: {  // min(max(x, lo), hi), as np.clip; NaN passes through
      double v = x < a.alpha ? a.alpha : x;
      return v > a.beta ? a.beta : v;
    }
    case ActivationOp::HardSigmoid: return clampUnit(a.alpha * x + a.beta);
    case ActivationOp::HardSwish: return x * clampUnit(a.alpha * x + a.beta);
    case ActivationOp::Softplus: return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
    case ActivationOp::Softsign: return x / (1.0 + std::fabs(x));
    case ActivationOp::Gelu: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case ActivationOp::GeluTanh: {
      const double c = 0.79788456080286535588;  // sqrt(2 / pi)
      return 0.5 * x * (1.0 + std::tanh(c * (x + 0.044715 * x * x * x)));
    }
    case ActivationOp::ThresholdedRelu: return x > a.alpha ? x : 0.0;
    case ActivationOp::Celu: return x > 0 ? x : a.alpha * (std::exp(x / a.alpha) - 1.0);
    case ActivationOp::Mish: {
      double sp = x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
      return x * std::tanh(sp);
    }
  }
  return x;
}

}  // namespace inferrt
