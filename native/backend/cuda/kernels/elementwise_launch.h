// Host launchers of the elementwise family's kernels (elementwise.cu: ElementWise, Where; activation.cu: Unary,
// Activation; cast.cu: Cast). Plain C++ parameters only, so nvcc never sees ir/ headers. Each launcher returns
// false, launching nothing, for a dtype/op combination it has no kernel for (the caller validates first, so
// false means a bug); the caller checks cudaGetLastError() after it.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace inferrt::cudakernels {

// Element types; the values mirror inferrt::DType (elementwise.cc static_asserts it).
enum class EwType : int32_t { F32 = 0, F16 = 1, I8 = 2, U8 = 3, I32 = 4, I64 = 5, Bool = 6 };

enum class EwBinary : int32_t {
  Add, Sub, Mul, Div, Pow, Max, Min, Mod, FMod, PRelu, And, Or, Xor, Equal, Less, Greater, LessEqual, GreaterEqual,
};

enum class EwUnary : int32_t {
  Abs, Neg, Sign, Exp, Log, Sqrt, Reciprocal, Floor, Ceil, Round, Sin, Cos, Tan, Asin, Acos, Atan,
  Sinh, Cosh, Asinh, Acosh, Atanh, Erf, Not, IsNan, IsInf,
};

enum class EwActivation : int32_t {
  Relu, Sigmoid, Tanh, LeakyRelu, Elu, Selu, Clip, HardSigmoid, HardSwish, Softplus, Softsign, Gelu, GeluTanh,
  ThresholdedRelu, Celu, Mish,
};

constexpr int kEwMaxRank = 8;
constexpr int kEwMaxOperands = 3;

// Where each operand's element of output element i lives. Dims are stored innermost first, already coalesced
// (size-1 output dims dropped, mergeable neighbours merged), so a bias [.., C] is rank 2 and a scalar operand
// has stride 0: the common cases cost at most one division per element.
struct EwGeometry {
  int32_t rank = 1;    // 1..kEwMaxRank
  int32_t flat = 0;    // 1: every operand is laid out like the output (offset == i): no index math at all
  int32_t narrow = 0;  // 1: numel < 2^31, so coordinates may be computed with 32-bit division
  int64_t numel = 0;   // output elements, > 0
  int64_t dims[kEwMaxRank] = {};                    // innermost first
  int64_t strides[kEwMaxOperands][kEwMaxRank] = {};  // per operand, in elements; 0 on broadcast dims
};

// out = a <op> b over the broadcast of a and b. Arithmetic ops: a, b and out share `type`; comparisons: out is
// bool; and/or/xor: all bool. pow: `type` is the base's (and out's), `expType` the exponent's (any dtype).
bool launchEwBinary(EwBinary op, EwType type, EwType expType, const void* a, const void* b, void* out,
                    const EwGeometry& g, cudaStream_t stream, int multiProcessors);

// out = cond ? x : y (operands 0, 1, 2 of g); elements move as raw bits of elemBytes (1, 2, 4 or 8).
bool launchEwWhere(const void* cond, const void* x, const void* y, void* out, int elemBytes, const EwGeometry& g,
                   cudaStream_t stream, int multiProcessors);

// y = op(x) over n elements (n > 0). Float types compute in double and round once to float, then to the output
// type; abs/neg/sign also take integers; not is bool -> bool; isnan/isinf float -> bool (detect flags: isinf).
bool launchEwUnary(EwUnary op, EwType type, const void* x, void* y, int64_t n, bool detectPositive,
                   bool detectNegative, cudaStream_t stream, int multiProcessors);

// Float activations: alpha/beta already resolved to the op's defaults (double, as the CPU computes).
bool launchEwActivationFloat(EwActivation op, EwType type, const void* x, void* y, int64_t n, double alpha,
                             double beta, cudaStream_t stream, int multiProcessors);
// Integer relu and clip; for clip, lo/hi are the bounds already rounded inward and saturated to the type.
bool launchEwActivationInt(EwActivation op, EwType type, const void* x, void* y, int64_t n, int64_t lo, int64_t hi,
                           cudaStream_t stream, int multiProcessors);

// y = cast(x) over n elements, from != to (equal types are a plain copy, done by the caller).
bool launchEwCast(EwType from, EwType to, const void* x, void* y, int64_t n, cudaStream_t stream,
                  int multiProcessors);

}  // namespace inferrt::cudakernels
