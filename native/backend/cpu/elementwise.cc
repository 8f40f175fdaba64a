// CPU kernels of the elementwise family: ElementWise (binary with numpy broadcasting), Unary, Activation.
// Float math runs in fp32 (binary arithmetic) or double (transcendentals) and rounds once to the output;
// integer math wraps and never traps (x / 0 and x % 0 give 0, as numpy does).
#include <cmath>
#include <string>
#include <vector>

#include "backend/cpu/broadcast.h"
#include "backend/cpu/kernel_registry.h"
#include "backend/cpu/math_binary_ops.h"
#include "backend/cpu/math_common.h"
#include "backend/cpu/math_scalar_ops.h"

namespace inferrt {

namespace {

// out[i] = fn(a[ia], b[ib]) over the broadcast of a and b; same-shape operands take the flat fast path.
template <typename TA, typename TB, typename TO, typename Fn>
void broadcastApply(const Tensor& a, const TA* pa, const Tensor& b, const TB* pb, Tensor& out, TO* po, Fn fn) {
  if (a.dims() == out.dims() && b.dims() == out.dims()) {
    for (int64_t i = 0; i < out.numel(); ++i) po[i] = fn(pa[i], pb[i]);
    return;
  }
  BroadcastWalker walk(out.dims(), {a.dims(), b.dims()});
  walk.forEach([&](int64_t i, const int64_t* off) { po[i] = fn(pa[off[0]], pb[off[1]]); });
}

template <typename T>
void compareApply(const Tensor& a, const T* pa, const Tensor& b, const T* pb, Tensor& out, BinaryOp op) {
  uint8_t* po = out.data<uint8_t>();
  auto run = [&](auto cmp) { broadcastApply(a, pa, b, pb, out, po, [&](T x, T y) -> uint8_t { return cmp(x, y); }); };
  switch (op) {
    case BinaryOp::Equal: run([](T x, T y) { return x == y; }); return;
    case BinaryOp::Less: run([](T x, T y) { return x < y; }); return;
    case BinaryOp::Greater: run([](T x, T y) { return x > y; }); return;
    case BinaryOp::LessEqual: run([](T x, T y) { return x <= y; }); return;
    case BinaryOp::GreaterEqual: run([](T x, T y) { return x >= y; }); return;
    default: fail(ErrorCode::Internal, "not a comparison");
  }
}

// The exponent of pow as doubles, whatever its dtype.
std::vector<double> toDoubles(const Tensor& t) {
  std::vector<double> v(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.getDouble(i);
  return v;
}

void runFloatBinary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  const Tensor a32 = toFloat32(a);
  const float* pa = a32.data<float>();
  if (op == BinaryOp::Pow) {  // exponent of any numeric dtype, evaluated exactly in double
    const std::vector<double> e = toDoubles(b);
    FloatOutput o(out);
    broadcastApply(a, pa, b, e.data(), out, o.data(), floatPow);
    o.commit();
    return;
  }
  const Tensor b32 = toFloat32(b);
  const float* pb = b32.data<float>();
  if (isComparison(op)) return compareApply(a, pa, b, pb, out, op);
  FloatOutput o(out);
  const bool known = withFloatArithmetic(op, [&](auto fn) { broadcastApply(a, pa, b, pb, out, o.data(), fn); });
  if (!known) fail(ErrorCode::DTypeMismatch, "ElementWise op is not defined on float inputs");
  o.commit();
}

// Integer power by squaring with wraparound; negative exponents truncate 1/x^n toward zero.
template <typename T>
T intPow(T base, int64_t e) {
  if (e < 0) {
    if (base == 1) return 1;
    if (std::is_signed_v<T> && base == static_cast<T>(-1)) return (e % 2 == 0) ? T(1) : static_cast<T>(-1);
    return 0;
  }
  T result = 1;
  while (e > 0) {
    if (e & 1) result = wrapMul(result, base);
    base = wrapMul(base, base);
    e >>= 1;
  }
  return result;
}

template <typename T>
T intDiv(T x, T y) {
  if (y == 0) return 0;
  if (std::is_signed_v<T> && y == static_cast<T>(-1)) return wrapNeg(x);  // INT_MIN / -1 would trap
  return static_cast<T>(x / y);
}

template <typename T>
T intFMod(T x, T y) {
  if (y == 0 || (std::is_signed_v<T> && y == static_cast<T>(-1))) return 0;
  return static_cast<T>(x % y);
}

template <typename T>
void runIntBinary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  const T* pa = a.data<T>();
  if (op == BinaryOp::Pow) {
    T* po = out.data<T>();
    if (isFloat(b.dtype())) {  // int base, float exponent: numpy computes in float, then casts back
      const std::vector<double> e = toDoubles(b);
      broadcastApply(a, pa, b, e.data(), out, po,
                     [](T x, double y) { return saturateCast<T>(std::pow(static_cast<double>(x), y)); });
    } else {
      std::vector<int64_t> e(b.numel());
      for (int64_t i = 0; i < b.numel(); ++i) e[i] = b.getInt(i);
      broadcastApply(a, pa, b, e.data(), out, po, [](T x, int64_t y) { return intPow(x, y); });
    }
    return;
  }
  const T* pb = b.data<T>();
  if (isComparison(op)) return compareApply(a, pa, b, pb, out, op);
  T* po = out.data<T>();
  auto run = [&](auto fn) { broadcastApply(a, pa, b, pb, out, po, fn); };
  switch (op) {
    case BinaryOp::Add: run([](T x, T y) { return wrapAdd(x, y); }); break;
    case BinaryOp::Sub: run([](T x, T y) { return wrapSub(x, y); }); break;
    case BinaryOp::Mul: run([](T x, T y) { return wrapMul(x, y); }); break;
    case BinaryOp::Div: run([](T x, T y) { return intDiv(x, y); }); break;
    case BinaryOp::Max: run([](T x, T y) { return x > y ? x : y; }); break;
    case BinaryOp::Min: run([](T x, T y) { return x < y ? x : y; }); break;
    case BinaryOp::FMod: run([](T x, T y) { return intFMod(x, y); }); break;
    case BinaryOp::Mod:  // Python-style: the result takes the divisor's sign
      run([](T x, T y) {
        T r = intFMod(x, y);
        return (r != 0 && ((r < 0) != (y < 0))) ? static_cast<T>(r + y) : r;
      });
      break;
    case BinaryOp::PRelu: run([](T x, T y) { return x < 0 ? wrapMul(x, y) : x; }); break;
    default: fail(ErrorCode::DTypeMismatch, "ElementWise op is not defined on integer inputs");
  }
}

void runBoolBinary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  const uint8_t* pa = a.data<uint8_t>();
  const uint8_t* pb = b.data<uint8_t>();
  uint8_t* po = out.data<uint8_t>();
  auto run = [&](auto fn) { broadcastApply(a, pa, b, pb, out, po, fn); };
  switch (op) {
    case BinaryOp::And: run([](uint8_t x, uint8_t y) -> uint8_t { return x && y; }); break;
    case BinaryOp::Or: run([](uint8_t x, uint8_t y) -> uint8_t { return x || y; }); break;
    case BinaryOp::Xor: run([](uint8_t x, uint8_t y) -> uint8_t { return (x != 0) != (y != 0); }); break;
    case BinaryOp::Equal: run([](uint8_t x, uint8_t y) -> uint8_t { return (x != 0) == (y != 0); }); break;
    default: fail(ErrorCode::DTypeMismatch, "ElementWise op is not defined on bool inputs");
  }
}

void runElementWise(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  const BinaryOp op = parseBinaryOp(layer.attrs.getString("op"));
  const Tensor& a = *inputs[0];
  const Tensor& b = *inputs[1];
  Tensor& out = outputs[0];
  if (op != BinaryOp::Pow && a.dtype() != b.dtype())
    fail(ErrorCode::DTypeMismatch, "ElementWise inputs differ in dtype: ", dtypeName(a.dtype()), " vs ",
         dtypeName(b.dtype()));
  if (isLogic(op) != (a.dtype() == DType::Bool) && !(op == BinaryOp::Equal && a.dtype() == DType::Bool))
    fail(ErrorCode::DTypeMismatch, "ElementWise ", layer.attrs.getString("op"), " is not defined on ",
         dtypeName(a.dtype()), " inputs");
  const bool boolOut = isComparison(op) || isLogic(op);
  requireKernelOutput(out, boolOut ? DType::Bool : a.dtype(), broadcastDims(a.dims(), b.dims()), "ElementWise output");
  if (isFloat(a.dtype())) return runFloatBinary(op, a, b, out);
  if (a.dtype() == DType::Bool) return runBoolBinary(op, a, b, out);
  dispatchInteger(a.dtype(), "ElementWise",
                  [&](auto tag) { runIntBinary<typename decltype(tag)::type>(op, a, b, out); });
}

template <typename T>
void runIntUnary(UnaryOp op, const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    switch (op) {
      case UnaryOp::Abs: y[i] = x[i] < 0 ? wrapNeg(x[i]) : x[i]; break;
      case UnaryOp::Neg: y[i] = wrapNeg(x[i]); break;
      case UnaryOp::Sign: y[i] = static_cast<T>((x[i] > 0) - (x[i] < 0)); break;
      default: fail(ErrorCode::DTypeMismatch, "Unary op is not defined on integer inputs");
    }
  }
}

void runUnary(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  const UnaryOp op = parseUnaryOp(layer.attrs.getString("op"));
  const Tensor& x = *inputs[0];
  Tensor& out = outputs[0];
  const bool boolOut = op == UnaryOp::Not || op == UnaryOp::IsNan || op == UnaryOp::IsInf;
  requireKernelOutput(out, boolOut ? DType::Bool : x.dtype(), x.dims(), "Unary output");
  const int64_t n = x.numel();
  if (op == UnaryOp::Not) {
    if (x.dtype() != DType::Bool) fail(ErrorCode::DTypeMismatch, "not needs a bool input, got ", dtypeName(x.dtype()));
    for (int64_t i = 0; i < n; ++i) out.data<uint8_t>()[i] = x.data<uint8_t>()[i] ? 0 : 1;
    return;
  }
  if (!isFloat(x.dtype())) {
    dispatchInteger(x.dtype(), "Unary", [&](auto tag) {
      using T = typename decltype(tag)::type;
      runIntUnary<T>(op, x.data<T>(), out.data<T>(), n);
    });
    return;
  }
  const Tensor x32 = toFloat32(x);
  const float* px = x32.data<float>();
  if (op == UnaryOp::IsNan || op == UnaryOp::IsInf) {
    const bool pos = layer.attrs.getInt("detect_positive", 1) != 0;
    const bool neg = layer.attrs.getInt("detect_negative", 1) != 0;
    uint8_t* po = out.data<uint8_t>();
    for (int64_t i = 0; i < n; ++i) {
      const float v = px[i];
      po[i] = op == UnaryOp::IsNan ? std::isnan(v) : (std::isinf(v) && (v > 0 ? pos : neg));
    }
    return;
  }
  FloatOutput o(out);
  float* po = o.data();
  for (int64_t i = 0; i < n; ++i) po[i] = static_cast<float>(applyUnaryFloat(op, px[i]));
  o.commit();
}

template <typename T>
void runIntActivation(const Activation& act, const T* x, T* y, int64_t n) {
  if (act.op == ActivationOp::Relu) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0 ? T(0) : x[i];
    return;
  }
  if (act.op != ActivationOp::Clip) fail(ErrorCode::DTypeMismatch, "only relu and clip accept integer inputs");
  // Bounds beyond the type's range clamp to it; a fractional bound rounds inward (x >= 1.5 <=> x >= 2).
  const T lo = saturateCast<T>(std::ceil(act.alpha));
  const T hi = saturateCast<T>(std::floor(act.beta));
  for (int64_t i = 0; i < n; ++i) {
    T v = x[i] < lo ? lo : x[i];
    y[i] = v > hi ? hi : v;
  }
}

void runActivation(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  const Activation act = parseActivation(layer.attrs);
  const Tensor& x = *inputs[0];
  Tensor& out = outputs[0];
  requireKernelOutput(out, x.dtype(), x.dims(), "Activation output");
  const int64_t n = x.numel();
  if (!isFloat(x.dtype())) {
    dispatchInteger(x.dtype(), "Activation", [&](auto tag) {
      using T = typename decltype(tag)::type;
      runIntActivation<T>(act, x.data<T>(), out.data<T>(), n);
    });
    return;
  }
  const Tensor x32 = toFloat32(x);
  const float* px = x32.data<float>();
  FloatOutput o(out);
  float* po = o.data();
  if (act.op == ActivationOp::Relu) {  // the hot path of most networks: no double round trip
    for (int64_t i = 0; i < n; ++i) po[i] = px[i] < 0 ? 0.0f : px[i];
  } else {
    for (int64_t i = 0; i < n; ++i) po[i] = static_cast<float>(applyActivation(act, px[i]));
  }
  o.commit();
}

}  // namespace

void registerElementwiseKernels() {
  registerCpuKernel({"ElementWise", runElementWise});
  registerCpuKernel({"Unary", runUnary});
  registerCpuKernel({"Activation", runActivation});
}

}  // namespace inferrt
