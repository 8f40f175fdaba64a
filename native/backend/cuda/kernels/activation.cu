// Kernels of Unary and Activation. As the CPU reference (backend/cpu/math_scalar_ops.h), float ops other than
// relu evaluate in double and round once to float (then to fp16): CUDA's double functions are within an ulp or
// two of glibc's, which the rounding to float absorbs. Multiply-adds use _rn intrinsics so nvcc never fuses them
// into an FMA the CPU does not use. Integer ops wrap (abs/neg of INT_MIN stays INT_MIN).
#include "backend/cuda/kernels/elementwise_device.cuh"

namespace inferrt::cudakernels {

namespace {

using namespace ew;

__device__ double unaryDouble(EwUnary op, double x) {
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
    default: return 0;  // not/isnan/isinf have their own kernels
  }
}

template <typename T>
__global__ void unaryFloatKernel(EwUnary op, const T* x, T* y, int64_t n) {
  for (int64_t i = firstIndex(); i < n; i += gridStep())
    store(y, i, static_cast<float>(unaryDouble(op, static_cast<double>(load(x, i)))));
}

template <typename T>
__global__ void classifyKernel(EwUnary op, const T* x, uint8_t* y, int64_t n, bool pos, bool neg) {
  for (int64_t i = firstIndex(); i < n; i += gridStep()) {
    const float v = load(x, i);
    y[i] = op == EwUnary::IsNan ? v != v : (isinf(v) && (v > 0 ? pos : neg));
  }
}

__global__ void notKernel(const uint8_t* x, uint8_t* y, int64_t n) {
  for (int64_t i = firstIndex(); i < n; i += gridStep()) y[i] = x[i] ? 0 : 1;
}

template <typename T>
__global__ void intUnaryKernel(EwUnary op, const T* x, T* y, int64_t n) {
  for (int64_t i = firstIndex(); i < n; i += gridStep()) {
    const T v = x[i];
    switch (op) {
      case EwUnary::Abs: y[i] = isNegative(v) ? wrapNeg(v) : v; break;
      case EwUnary::Neg: y[i] = wrapNeg(v); break;
      default: y[i] = static_cast<T>(static_cast<int>(v > 0) - static_cast<int>(isNegative(v))); break;  // sign
    }
  }
}

// Clamp to [0, 1] that lets NaN through (as np.clip does).
__device__ __forceinline__ double clampUnit(double v) { return v < 0 ? 0.0 : (v > 1 ? 1.0 : v); }
__device__ __forceinline__ double softplus(double x) {
  return x > 0 ? __dadd_rn(x, log1p(exp(-x))) : log1p(exp(x));
}

__device__ double activationDouble(EwActivation op, double a, double b, double x) {
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

template <typename T>
__global__ void activationFloatKernel(EwActivation op, const T* x, T* y, int64_t n, double a, double b) {
  if (op == EwActivation::Relu) {  // the hot path of most networks: no double round trip
    for (int64_t i = firstIndex(); i < n; i += gridStep()) {
      const float v = load(x, i);
      store(y, i, v < 0 ? 0.0f : v);
    }
    return;
  }
  for (int64_t i = firstIndex(); i < n; i += gridStep())
    store(y, i, static_cast<float>(activationDouble(op, a, b, static_cast<double>(load(x, i)))));
}

template <typename T>
__global__ void activationIntKernel(EwActivation op, const T* x, T* y, int64_t n, T lo, T hi) {
  for (int64_t i = firstIndex(); i < n; i += gridStep()) {
    const T v = x[i];
    if (op == EwActivation::Relu) {
      y[i] = isNegative(v) ? T(0) : v;
    } else {
      const T c = v < lo ? lo : v;
      y[i] = c > hi ? hi : c;
    }
  }
}

bool isIntType(EwType t) {
  return t == EwType::I8 || t == EwType::U8 || t == EwType::I32 || t == EwType::I64;
}

}  // namespace

bool launchEwUnary(EwUnary op, EwType type, const void* x, void* y, int64_t n, bool detectPositive,
                   bool detectNegative, cudaStream_t stream, int multiProcessors) {
  const unsigned grid = gridFor(n, multiProcessors);
  if (op == EwUnary::Not) {
    if (type != EwType::Bool) return false;
    notKernel<<<grid, kBlock, 0, stream>>>(static_cast<const uint8_t*>(x), static_cast<uint8_t*>(y), n);
    return true;
  }
  const bool isFloat = type == EwType::F32 || type == EwType::F16;
  const bool classify = op == EwUnary::IsNan || op == EwUnary::IsInf;
  const bool intOp = op == EwUnary::Abs || op == EwUnary::Neg || op == EwUnary::Sign;
  if (!(isFloat || (isIntType(type) && intOp))) return false;
  return dispatchType(type, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = static_cast<const T*>(x);
    if constexpr (kIsFloat<T>) {
      if (classify)
        classifyKernel<T><<<grid, kBlock, 0, stream>>>(op, px, static_cast<uint8_t*>(y), n, detectPositive,
                                                       detectNegative);
      else
        unaryFloatKernel<T><<<grid, kBlock, 0, stream>>>(op, px, static_cast<T*>(y), n);
    } else {
      intUnaryKernel<T><<<grid, kBlock, 0, stream>>>(op, px, static_cast<T*>(y), n);
    }
  });
}

bool launchEwActivationFloat(EwActivation op, EwType type, const void* x, void* y, int64_t n, double alpha,
                             double beta, cudaStream_t stream, int multiProcessors) {
  const unsigned grid = gridFor(n, multiProcessors);
  if (type == EwType::F32)
    activationFloatKernel<float><<<grid, kBlock, 0, stream>>>(op, static_cast<const float*>(x),
                                                              static_cast<float*>(y), n, alpha, beta);
  else if (type == EwType::F16)
    activationFloatKernel<__half><<<grid, kBlock, 0, stream>>>(op, static_cast<const __half*>(x),
                                                               static_cast<__half*>(y), n, alpha, beta);
  else
    return false;
  return true;
}

bool launchEwActivationInt(EwActivation op, EwType type, const void* x, void* y, int64_t n, int64_t lo, int64_t hi,
                           cudaStream_t stream, int multiProcessors) {
  if (!isIntType(type) || (op != EwActivation::Relu && op != EwActivation::Clip)) return false;
  const unsigned grid = gridFor(n, multiProcessors);
  return dispatchType(type, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!kIsFloat<T>)  // lo/hi arrive saturated to T's range: the narrowing is exact
      activationIntKernel<T><<<grid, kBlock, 0, stream>>>(op, static_cast<const T*>(x), static_cast<T*>(y), n,
                                                          static_cast<T>(lo), static_cast<T>(hi));
  });
}

}  // namespace inferrt::cudakernels
