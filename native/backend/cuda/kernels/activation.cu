// Kernels of Unary and Activation. As the CPU reference (backend/cpu/math_scalar_ops.h), float ops other than
// relu evaluate in double (elementwise_math.cuh) and round once to float (then to fp16): CUDA's double functions
// are within an ulp or two of glibc's, which the rounding to float absorbs. Integer ops wrap (abs/neg of INT_MIN
// stays INT_MIN).
#include "backend/cuda/kernels/elementwise_device.cuh"
#include "backend/cuda/kernels/elementwise_math.cuh"

namespace inferrt::cudakernels {

namespace {

using namespace ew;

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
