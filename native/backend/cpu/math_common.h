// Helpers shared by the CPU math kernels: dtype dispatch to C++ types, a float32 view of float outputs
// (float16 outputs are computed in fp32 and rounded once at the end), wrapping integer arithmetic and
// saturating float->int conversion (so no input can trigger undefined behaviour).
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include "ir/error.h"
#include "ir/half.h"
#include "ir/tensor.h"

namespace inferrt {

template <typename T>
struct TypeTag {
  using type = T;
};

// Calls fn(TypeTag<T>{}) for an integer dtype (int8, uint8, int32, int64); other dtypes throw DTypeMismatch.
template <typename Fn>
void dispatchInteger(DType t, const char* what, Fn&& fn) {
  switch (t) {
    case DType::Int8: fn(TypeTag<int8_t>{}); return;
    case DType::UInt8: fn(TypeTag<uint8_t>{}); return;
    case DType::Int32: fn(TypeTag<int32_t>{}); return;
    case DType::Int64: fn(TypeTag<int64_t>{}); return;
    default: fail(ErrorCode::DTypeMismatch, what, ": unsupported dtype ", dtypeName(t));
  }
}

// Like dispatchInteger, plus Bool as uint8_t (0/1).
template <typename Fn>
void dispatchIntegerOrBool(DType t, const char* what, Fn&& fn) {
  if (t == DType::Bool) {
    fn(TypeTag<uint8_t>{});
    return;
  }
  dispatchInteger(t, what, std::forward<Fn>(fn));
}

// A float32 buffer for a float32 or float16 output: float32 outputs are written in place; float16 ones go
// through scratch that commit() rounds (to nearest even) into the output.
class FloatOutput {
 public:
  explicit FloatOutput(Tensor& out) : out_(out) {
    if (out.dtype() == DType::Float32) {
      data_ = out.data<float>();
    } else if (out.dtype() == DType::Float16) {
      scratch_ = Tensor(DType::Float32, out.dims());
      data_ = scratch_.data<float>();
    } else {
      fail(ErrorCode::Internal, "FloatOutput on a ", dtypeName(out.dtype()), " tensor");
    }
  }
  float* data() { return data_; }
  void commit() {
    if (out_.dtype() != DType::Float16) return;
    uint16_t* o = out_.data<uint16_t>();
    for (int64_t i = 0; i < out_.numel(); ++i) o[i] = floatToHalf(data_[i]);
  }

 private:
  Tensor& out_;
  Tensor scratch_;
  float* data_ = nullptr;
};

// Integer add/sub/mul/neg that wrap around like the hardware does, without signed-overflow UB.
template <typename T>
T wrapAdd(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
}
template <typename T>
T wrapSub(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
}
template <typename T>
T wrapMul(T a, T b) {
  using U = std::make_unsigned_t<T>;
  using W = std::conditional_t<(sizeof(U) < sizeof(unsigned)), unsigned, U>;  // avoid int promotion
  return static_cast<T>(static_cast<U>(static_cast<W>(static_cast<U>(a)) * static_cast<W>(static_cast<U>(b))));
}
template <typename T>
T wrapNeg(T a) {
  return wrapSub(T(0), a);
}

// Converts a double to an integer type, truncating toward zero and saturating (NaN -> 0).
template <typename T>
T saturateCast(double v) {
  if (std::isnan(v)) return 0;
  if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
  if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

// QuantizeLinear's int8 value of v at scale s: divided in fp32, rounded half to even, saturated (NaN -> 0).
inline int8_t quantizeToInt8(float v, float s) { return saturateCast<int8_t>(std::nearbyint(v / s)); }

// Throws when a kernel's output tensor does not have the dtype and dims this call needs, so a stale or
// malformed allocation can never be written out of bounds.
inline void requireKernelOutput(const Tensor& out, DType dtype, const Dims& dims, const char* what) {
  if (out.dtype() != dtype || out.dims() != dims)
    fail(ErrorCode::Internal, what, " is ", dtypeName(out.dtype()), " ", dimsToString(out.dims()), ", expected ",
         dtypeName(dtype), " ", dimsToString(dims));
}

}  // namespace inferrt
