// CUDA kernel definitions of Unary and Activation (kernels in activation.cu). Ops and attribute defaults are
// parsed by the CPU reference's own parsers (backend/cpu/math_scalar_ops.h), so both backends read a layer alike.
#include <cmath>
#include <string>
#include <vector>

#include "backend/cpu/math_common.h"
#include "backend/cuda/kernels/elementwise_common.h"

namespace inferrt::cudakernels {

EwUnary toEwUnary(UnaryOp op) {
  switch (op) {
    case UnaryOp::Abs: return EwUnary::Abs;
    case UnaryOp::Neg: return EwUnary::Neg;
    case UnaryOp::Sign: return EwUnary::Sign;
    case UnaryOp::Exp: return EwUnary::Exp;
    case UnaryOp::Log: return EwUnary::Log;
    case UnaryOp::Sqrt: return EwUnary::Sqrt;
    case UnaryOp::Reciprocal: return EwUnary::Reciprocal;
    case UnaryOp::Floor: return EwUnary::Floor;
    case UnaryOp::Ceil: return EwUnary::Ceil;
    case UnaryOp::Round: return EwUnary::Round;
    case UnaryOp::Sin: return EwUnary::Sin;
    case UnaryOp::Cos: return EwUnary::Cos;
    case UnaryOp::Tan: return EwUnary::Tan;
    case UnaryOp::Asin: return EwUnary::Asin;
    case UnaryOp::Acos: return EwUnary::Acos;
    case UnaryOp::Atan: return EwUnary::Atan;
    case UnaryOp::Sinh: return EwUnary::Sinh;
    case UnaryOp::Cosh: return EwUnary::Cosh;
    case UnaryOp::Asinh: return EwUnary::Asinh;
    case UnaryOp::Acosh: return EwUnary::Acosh;
    case UnaryOp::Atanh: return EwUnary::Atanh;
    case UnaryOp::Erf: return EwUnary::Erf;
    case UnaryOp::Not: return EwUnary::Not;
    case UnaryOp::IsNan: return EwUnary::IsNan;
    case UnaryOp::IsInf: return EwUnary::IsInf;
  }
  fail(ErrorCode::Internal, "Unary op without a CUDA mapping");
}

EwActivation toEwActivation(ActivationOp op) {
  switch (op) {
    case ActivationOp::Relu: return EwActivation::Relu;
    case ActivationOp::Sigmoid: return EwActivation::Sigmoid;
    case ActivationOp::Tanh: return EwActivation::Tanh;
    case ActivationOp::LeakyRelu: return EwActivation::LeakyRelu;
    case ActivationOp::Elu: return EwActivation::Elu;
    case ActivationOp::Selu: return EwActivation::Selu;
    case ActivationOp::Clip: return EwActivation::Clip;
    case ActivationOp::HardSigmoid: return EwActivation::HardSigmoid;
    case ActivationOp::HardSwish: return EwActivation::HardSwish;
    case ActivationOp::Softplus: return EwActivation::Softplus;
    case ActivationOp::Softsign: return EwActivation::Softsign;
    case ActivationOp::Gelu: return EwActivation::Gelu;
    case ActivationOp::GeluTanh: return EwActivation::GeluTanh;
    case ActivationOp::ThresholdedRelu: return EwActivation::ThresholdedRelu;
    case ActivationOp::Celu: return EwActivation::Celu;
    case ActivationOp::Mish: return EwActivation::Mish;
  }
  fail(ErrorCode::Internal, "Activation op without a CUDA mapping");
}

namespace {

std::string supportsAll(const Layer&, const std::vector<TensorDesc>&) { return ""; }

void runUnary(CudaKernelArgs& args) {
  const std::string name = args.layer.attrs.getString("op");
  const UnaryOp op = parseUnaryOp(name);
  const DeviceTensor& x = ewInput(args, 0, "x");
  DeviceTensor& out = args.outputs.at(0);
  const bool boolOut = op == UnaryOp::Not || op == UnaryOp::IsNan || op == UnaryOp::IsInf;
  requireEwOutput(out, boolOut ? DType::Bool : x.dtype, x.dims, "Unary output");
  // The CPU kernel's dtype errors, in its order.
  if (op == UnaryOp::Not && x.dtype != DType::Bool)
    fail(ErrorCode::DTypeMismatch, "not needs a bool input, got ", dtypeName(x.dtype));
  if (op != UnaryOp::Not && !isFloat(x.dtype)) {
    if (!isInteger(x.dtype)) fail(ErrorCode::DTypeMismatch, "Unary: unsupported dtype ", dtypeName(x.dtype));
    if (op != UnaryOp::Abs && op != UnaryOp::Neg && op != UnaryOp::Sign)
      fail(ErrorCode::DTypeMismatch, "Unary op is not defined on integer inputs");
  }
  if (x.numel() == 0) return;
  const bool detectPositive = args.layer.attrs.getInt("detect_positive", 1) != 0;
  const bool detectNegative = args.layer.attrs.getInt("detect_negative", 1) != 0;
  checkEwLaunch(launchEwUnary(toEwUnary(op), toEwType(x.dtype), x.data, out.data, x.numel(), detectPositive,
                              detectNegative, args.env.stream, args.env.multiProcessors),
                "Unary", name);
}

void runActivation(CudaKernelArgs& args) {
  const Activation act = parseActivation(args.layer.attrs);
  const std::string name = args.layer.attrs.getString("op");
  const DeviceTensor& x = ewInput(args, 0, "x");
  DeviceTensor& out = args.outputs.at(0);
  requireEwOutput(out, x.dtype, x.dims, "Activation output");
  const int64_t n = x.numel();
  if (isFloat(x.dtype)) {
    if (n == 0) return;
    checkEwLaunch(launchEwActivationFloat(toEwActivation(act.op), toEwType(x.dtype), x.data, out.data, n, act.alpha,
                                          act.beta, args.env.stream, args.env.multiProcessors),
                  "Activation", name);
    return;
  }
  // Integer relu and clip; clip bounds beyond the type's range clamp to it, a fractional bound rounds inward
  // (x >= 1.5 <=> x >= 2), exactly as the CPU computes them.
  int64_t lo = 0, hi = 0;
  dispatchInteger(x.dtype, "Activation", [&](auto tag) {
    using T = typename decltype(tag)::type;
    lo = static_cast<int64_t>(saturateCast<T>(std::ceil(act.alpha)));
    hi = static_cast<int64_t>(saturateCast<T>(std::floor(act.beta)));
  });
  if (act.op != ActivationOp::Relu && act.op != ActivationOp::Clip)
    fail(ErrorCode::DTypeMismatch, "only relu and clip accept integer inputs");
  if (n == 0) return;
  checkEwLaunch(launchEwActivationInt(toEwActivation(act.op), toEwType(x.dtype), x.data, out.data, n, lo, hi,
                                      args.env.stream, args.env.multiProcessors),
                "Activation", name);
}

}  // namespace

void registerCudaUnaryActivationKernels() {
  registerCudaKernel({"Unary", supportsAll, runUnary, 0});
  registerCudaKernel({"Activation", supportsAll, runActivation, 0});
}

}  // namespace inferrt::cudakernels
