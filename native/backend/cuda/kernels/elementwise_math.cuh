// Scalar device math of the float elementwise ops, shared by the ElementWise/Unary/Activation kernels
// (elementwise.cu, activation.cu) and the fused Pointwise kernel (pointwise.cu), so a fused chain computes what
// its layers do. As the CPU reference (backend/cpu/math_binary_ops.h, math_scalar_ops.h): binary arithmetic in
// fp32, Unary and Activation ops (relu aside) in double, rounded by the caller; CUDA's double functions are within
// an ulp or two of glibc's, which the rounding to float absorbs. Explicit _rn intrinsics keep nvcc from
// contracting a multiply and an add into an FMA the CPU does not use.
#pragma once
#include <cuda_runtime.h>

#include "backend/cuda/kernels/elementwise_launch.h"

namespace inferrt::cudakernels::ew {

// Explicit _rn intrinsics: IEEE results whatever the fast-math flags, and never contracted into an FMA.
__device__ __forceinline__ float floatBinary(EwBinary op, float x, float y) {
  switch (op) {
    case EwBinary::Add: return __fadd_rn(x, y);
    case EwBinary::Sub: return __fsub_rn(x, y);
    case EwBinary::Mul: return __fmul_rn(x, y);
    case EwBinary::Div: return __fdiv_rn(x, y);
    case EwBinary::Max: return x != x || y != y ? __int_as_float(0x7fc00000) : (x > y ? x : y);
    case EwBinary::Min: return x != x || y != y ? __int_as_float(0x7fc00000) : (x < y ? x : y);
    case EwBinary::FMod: return fmodf(x, y);
    case EwBinary::Mod: {  // np.mod: the result takes the divisor's sign
      const float r = fmodf(x, y);
      return (r != 0 && ((r < 0) != (y < 0))) ? __fadd_rn(r, y) : r;
    }
    case EwBinary::PRelu: return x < 0 ? __fmul_rn(x, y) : x;
    default: return 0;  // not reached: callers route only these ops here
  }
}

// std::pow in double as the CPU evaluates it (glibc: exact whenever the result is representable). CUDA's pow
// may be off by an ulp, which the int-base path's truncation would turn into an off-by-one (3 ** 2 -> 8), so
// exact cases are computed exactly: x ** 2 (one rounding, as a correctly rounded pow), and integer ** small
// integer while every product stays below 2^53.
__device__ inline double powLikeCpu(double x, double y) {
  if (y == 2.0) return __dmul_rn(x, x);
  constexpr double kExact = 9007199254740992.0;  // 2^53
  if (y >= 0 && y <= 64 && y == floor(y) && x == floor(x) && fabs(x) <= kExact) {
    double r = 1, b = x;
    bool exact = true;
    for (int e = static_cast<int>(y); e != 0;) {
      if (e & 1) {
        r = __dmul_rn(r, b);
        exact = exact && fabs(r) <= kExact;
      }
      e >>= 1;
      if (e != 0) {
        b = __dmul_rn(b, b);
        exact = exact && fabs(b) <= kExact;
      }
    }
    if (exact) return r;
  }
  return pow(x, y);
}

// The float Unary ops in double, as backend/cpu/math_scalar_ops.h applyUnaryFloat.
__device__ inline double unaryDouble(EwUnary op, double x) {
  switch (op) {
    case EwUnary::Abs: return fabs(x);
    case EwUnary::Neg: return -x;
    case EwUnary::Sign: return x > 0 ? 1.0 : (x < 0 ? -1.0 : x);  // keeps 0 and NaN
    case EwUnary::Exp: return exp(x);
    case EwUnary::Log: return log(x);
    case EwUnary::Sqrt: return __dsqrt_rn(x);
    case EwUnary::Reciprocal: return __ddiv_rn(1.0, x);
    case EwUnary::Floor: return floor(x);
    case EwUnary::Ceil: return ceil(x);
    case EwUnary::Round: return rint(x);  // half to even, as nearbyint in the default rounding mode
    case EwUnary::Sin: return sin(x);
    case EwUnary::Cos: return cos(x);
    case EwUnary::Tan: return tan(x);
    case EwUnary::Asin: return asin(x);
    case EwUnary::Acos: return acos(x);
    case EwUnary::Atan: return atan(x);
    case EwUnary::Sinh: return sinh(x);
    case EwUnary::Cosh: return cosh(x);
    case EwUnary::Asinh: return asinh(x);
    case EwUnary::Acosh: return acosh(x);
    case EwUnary::Atanh: return atanh(x);
    case EwUnary::Erf: return erf(x);
    default: return 0;  // not/isnan/isinf are no float ops: their kernels are separate
  }
}

// Clamp to [0, 1] that lets NaN through (as np.clip does).
__device__ __forceinline__ double clampUnit(double v) { return v < 0 ? 0.0 : (v > 1 ? 1.0 : v); }
__device__ __forceinline__ double softplus(double x) {
  return x > 0 ? __dadd_rn(x, log1p(exp(-x))) : log1p(exp(x));
}

// The float Activation ops in double, as backend/cpu/math_scalar_ops.h applyActivation (a, b: alpha, beta).
__device__ inline double activationDouble(EwActivation op, double a, double b, double x) {
  switch (op) {
    case EwActivation::Relu: return x < 0 ? 0.0 : x;
    case EwActivation::Sigmoid: return __ddiv_rn(1.0, __dadd_rn(1.0, exp(-x)));
    case EwActivation::Tanh: return tanh(x);
    case EwActivation::LeakyRelu: return x < 0 ? __dmul_rn(a, x) : x;
    case EwActivation::Elu: return x < 0 ? __dmul_rn(a, __dsub_rn(exp(x), 1.0)) : x;
    case EwActivation::Selu: return x > 0 ? __dmul_rn(b, x) : __dmul_rn(b, __dsub_rn(__dmul_rn(a, exp(x)), a));
    case EwActivation::Clip: {  // min(max(x, lo), hi), as np.clip; NaN passes through
      const double v = x < a ? a : x;
      return v > b ? b : v;
    }
    case EwActivation::HardSigmoid: return clampUnit(__dadd_rn(__dmul_rn(a, x), b));
    case EwActivation::HardSwish: return __dmul_rn(x, clampUnit(__dadd_rn(__dmul_rn(a, x), b)));
    case EwActivation::Softplus: return softplus(x);
    case EwActivation::Softsign: return __ddiv_rn(x, __dadd_rn(1.0, fabs(x)));
    case EwActivation::Gelu: {
      const double e = erf(__ddiv_rn(x, __dsqrt_rn(2.0)));
      return __dmul_rn(__dmul_rn(0.5, x), __dadd_rn(1.0, e));
    }
    case EwActivation::GeluTanh: {
      const double c = 0.79788456080286535588;  // sqrt(2 / pi)
      const double cube = __dmul_rn(__dmul_rn(__dmul_rn(0.044715, x), x), x);
      const double t = tanh(__dmul_rn(c, __dadd_rn(x, cube)));
      return __dmul_rn(__dmul_rn(0.5, x), __dadd_rn(1.0, t));
    }
    case EwActivation::ThresholdedRelu: return x > a ? x : 0.0;
    case EwActivation::Celu: return x > 0 ? x : __dmul_rn(a, __dsub_rn(exp(__ddiv_rn(x, a)), 1.0));
    case EwActivation::Mish: return __dmul_rn(x, tanh(softplus(x)));
  }
  return x;
}

}  // namespace inferrt::cudakernels::ew
