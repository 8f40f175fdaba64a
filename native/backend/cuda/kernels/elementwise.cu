// Kernels of ElementWise (binary ops with numpy broadcasting) and Where. Semantics are the CPU reference's
// (backend/cpu/elementwise.cc): float math in fp32 rounded once to the output (pow in double), integer math wraps
// and never traps (x / 0 and x % 0 give 0). The op is a kernel argument, not a template parameter: the switch is
// uniform across the grid and these kernels are bound by memory, while templates would multiply compile time.
#include <type_traits>

#include "backend/cuda/kernels/elementwise_device.cuh"
#include "backend/cuda/kernels/elementwise_math.cuh"

namespace inferrt::cudakernels {

namespace {

using namespace ew;

template <typename T>
__device__ __forceinline__ T intDiv(T x, T y) {
  if (y == 0) return 0;
  if (isMinusOne(y)) return wrapNeg(x);  // INT_MIN / -1 would trap
  return static_cast<T>(x / y);
}

template <typename T>
__device__ __forceinline__ T intFMod(T x, T y) {
  if (y == 0 || isMinusOne(y)) return 0;
  return static_cast<T>(x % y);
}

template <typename T>
__device__ __forceinline__ T intBinary(EwBinary op, T x, T y) {
  switch (op) {
    case EwBinary::Add: return wrapAdd(x, y);
    case EwBinary::Sub: return wrapSub(x, y);
    case EwBinary::Mul: return wrapMul(x, y);
    case EwBinary::Div: return intDiv(x, y);
    case EwBinary::Max: return x > y ? x : y;
    case EwBinary::Min: return x < y ? x : y;
    case EwBinary::FMod: return intFMod(x, y);
    case EwBinary::Mod: {  // Python-style: the result takes the divisor's sign
      const T r = intFMod(x, y);
      return (r != 0 && (isNegative(r) != isNegative(y))) ? static_cast<T>(r + y) : r;
    }
    case EwBinary::PRelu: return isNegative(x) ? wrapMul(x, y) : x;
    default: return 0;
  }
}

template <typename V>
__device__ __forceinline__ uint8_t compare(EwBinary op, V x, V y) {
  switch (op) {
    case EwBinary::Equal: return x == y;
    case EwBinary::Less: return x < y;
    case EwBinary::Greater: return x > y;
    case EwBinary::LessEqual: return x <= y;
    case EwBinary::GreaterEqual: return x >= y;
    default: return 0;
  }
}

__device__ __forceinline__ uint8_t logic(EwBinary op, uint8_t x, uint8_t y) {
  switch (op) {
    case EwBinary::And: return x && y;
    case EwBinary::Or: return x || y;
    case EwBinary::Xor: return (x != 0) != (y != 0);
    case EwBinary::Equal: return (x != 0) == (y != 0);
    default: return 0;
  }
}

// The exponent of pow read as the CPU's Tensor::getDouble / getInt read it, whatever its dtype.
__device__ __forceinline__ double exponentAsDouble(const void* p, EwType t, int64_t i) {
  switch (t) {
    case EwType::F32: return static_cast<const float*>(p)[i];
    case EwType::F16: return halfToFloat(static_cast<const __half*>(p)[i]);
    case EwType::I8: return static_cast<const int8_t*>(p)[i];
    case EwType::U8: return static_cast<const uint8_t*>(p)[i];
    case EwType::I32: return static_cast<const int32_t*>(p)[i];
    case EwType::I64: return static_cast<double>(static_cast<const int64_t*>(p)[i]);
    case EwType::Bool: return static_cast<const uint8_t*>(p)[i] ? 1.0 : 0.0;
  }
  return 0;
}
__device__ __forceinline__ int64_t exponentAsInt(const void* p, EwType t, int64_t i) {
  switch (t) {
    case EwType::I8: return static_cast<const int8_t*>(p)[i];
    case EwType::U8: return static_cast<const uint8_t*>(p)[i];
    case EwType::I32: return static_cast<const int32_t*>(p)[i];
    case EwType::I64: return static_cast<const int64_t*>(p)[i];
    case EwType::Bool: return static_cast<const uint8_t*>(p)[i] ? 1 : 0;
    default: return 0;  // float exponents take exponentAsDouble
  }
}

// Integer power by squaring with wraparound; negative exponents truncate 1/x^n toward zero.
template <typename T>
__device__ T intPow(T base, int64_t e) {
  if (e < 0) {
    if (base == 1) return 1;
    if (isMinusOne(base)) return (e % 2 == 0) ? T(1) : static_cast<T>(-1);
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

template <int N, bool Flat>
__device__ __forceinline__ void offsetsOf(const EwGeometry& g, int64_t i, int64_t (&off)[N]) {
  if constexpr (Flat) {
#pragma unroll
    for (int k = 0; k < N; ++k) off[k] = i;
  } else {
    broadcastOffsets<N>(g, i, off);
  }
}

template <typename T, bool Flat>
__global__ void arithKernel(EwBinary op, const T* a, const T* b, T* out, EwGeometry g) {
  for (int64_t i = firstIndex(); i < g.numel; i += gridStep()) {
    int64_t off[2];
    offsetsOf<2, Flat>(g, i, off);
    if constexpr (kIsFloat<T>) store(out, i, floatBinary(op, load(a, off[0]), load(b, off[1])));
    else out[i] = intBinary<T>(op, a[off[0]], b[off[1]]);
  }
}

template <typename T, bool Flat>
__global__ void compareKernel(EwBinary op, const T* a, const T* b, uint8_t* out, EwGeometry g) {
  for (int64_t i = firstIndex(); i < g.numel; i += gridStep()) {
    int64_t off[2];
    offsetsOf<2, Flat>(g, i, off);
    out[i] = compare(op, load(a, off[0]), load(b, off[1]));
  }
}

template <bool Flat>
__global__ void logicKernel(EwBinary op, const uint8_t* a, const uint8_t* b, uint8_t* out, EwGeometry g) {
  for (int64_t i = firstIndex(); i < g.numel; i += gridStep()) {
    int64_t off[2];
    offsetsOf<2, Flat>(g, i, off);
    out[i] = logic(op, a[off[0]], b[off[1]]);
  }
}

// Float base: pow in double, rounded to float (then to fp16). Integer base: a float exponent computes in double
// and saturates back (numpy); an integer exponent stays in integers.
template <typename T, bool Flat>
__global__ void powKernel(const T* a, const void* e, EwType et, T* out, EwGeometry g) {
  const bool floatExponent = et == EwType::F32 || et == EwType::F16;
  for (int64_t i = firstIndex(); i < g.numel; i += gridStep()) {
    int64_t off[2];
    offsetsOf<2, Flat>(g, i, off);
    if constexpr (kIsFloat<T>) {
      const double x = load(a, off[0]);
      store(out, i, static_cast<float>(powLikeCpu(x, exponentAsDouble(e, et, off[1]))));
    } else if (floatExponent) {
      out[i] = saturateToInt<T>(powLikeCpu(static_cast<double>(a[off[0]]), exponentAsDouble(e, et, off[1])));
    } else {
      out[i] = intPow<T>(a[off[0]], exponentAsInt(e, et, off[1]));
    }
  }
}

template <typename T, bool Flat>
__global__ void whereKernel(const uint8_t* cond, const T* x, const T* y, T* out, EwGeometry g) {
  for (int64_t i = firstIndex(); i < g.numel; i += gridStep()) {
    int64_t off[3];
    offsetsOf<3, Flat>(g, i, off);
    out[i] = cond[off[0]] ? x[off[1]] : y[off[2]];
  }
}

// fn(std::bool_constant<flat>) for the geometry's layout.
template <typename Fn>
void withLayout(const EwGeometry& g, Fn&& fn) {
  if (g.flat) fn(std::true_type{});
  else fn(std::false_type{});
}

}  // namespace

bool launchEwBinary(EwBinary op, EwType type, EwType expType, const void* a, const void* b, void* out,
                    const EwGeometry& g, cudaStream_t stream, int multiProcessors) {
  const unsigned grid = gridFor(g.numel, multiProcessors);
  const bool isLogic = op == EwBinary::And || op == EwBinary::Or || op == EwBinary::Xor;
  const bool isCompare = op >= EwBinary::Equal;
  if (type == EwType::Bool) {
    if (!isLogic && op != EwBinary::Equal) return false;
    withLayout(g, [&](auto flat) {
      logicKernel<decltype(flat)::value><<<grid, kBlock, 0, stream>>>(op, static_cast<const uint8_t*>(a),
                                                                      static_cast<const uint8_t*>(b),
                                                                      static_cast<uint8_t*>(out), g);
    });
    return true;
  }
  if (isLogic) return false;
  return dispatchType(type, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pa = static_cast<const T*>(a);
    withLayout(g, [&](auto flat) {
      constexpr bool kFlat = decltype(flat)::value;
      if (op == EwBinary::Pow)
        powKernel<T, kFlat><<<grid, kBlock, 0, stream>>>(pa, b, expType, static_cast<T*>(out), g);
      else if (isCompare)
        compareKernel<T, kFlat>
            <<<grid, kBlock, 0, stream>>>(op, pa, static_cast<const T*>(b), static_cast<uint8_t*>(out), g);
      else
        arithKernel<T, kFlat><<<grid, kBlock, 0, stream>>>(op, pa, static_cast<const T*>(b), static_cast<T*>(out), g);
    });
  });
}

bool launchEwWhere(const void* cond, const void* x, const void* y, void* out, int elemBytes, const EwGeometry& g,
                   cudaStream_t stream, int multiProcessors) {
  const unsigned grid = gridFor(g.numel, multiProcessors);
  auto launch = [&](auto tag) {
    using T = typename decltype(tag)::type;
    const auto* pc = static_cast<const uint8_t*>(cond);
    const T* px = static_cast<const T*>(x);
    const T* py = static_cast<const T*>(y);
    withLayout(g, [&](auto flat) {
      whereKernel<T, decltype(flat)::value><<<grid, kBlock, 0, stream>>>(pc, px, py, static_cast<T*>(out), g);
    });
  };
  switch (elemBytes) {
    case 1: launch(Tag<uint8_t>{}); return true;
    case 2: launch(Tag<uint16_t>{}); return true;
    case 4: launch(Tag<uint32_t>{}); return true;
    case 8: launch(Tag<uint64_t>{}); return true;
    default: return false;
  }
}

}  // namespace inferrt::cudakernels
