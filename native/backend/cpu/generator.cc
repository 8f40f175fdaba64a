// CPU kernels of the "Generator" family: ConstantOfShape, Range, Cast, Identity (a view).
//
// Cast reads every source as float (float dtypes; float16 decodes exactly) or int64 (integers, bool) and
// converts once: float->int truncates toward zero and saturates (NaN -> 0; ONNX leaves out-of-range
// undefined), int->int wraps like C, anything->bool is x != 0 (NaN -> true), float->float16 rounds to
// nearest even.
#include <cstring>
#include <vector>

#include "backend/cpu/kernel_registry.h"
#include "backend/cpu/math_common.h"
#include "backend/cpu/movement_common.h"
#include "ir/half.h"
#include "ir/ops/movement_geometry.h"

namespace inferrt {

namespace {

using Inputs = std::vector<const Tensor*>;
using Outputs = std::vector<Tensor>;

void runConstantOfShape(const Layer&, const Inputs& in, Outputs& out) {
  const Dims dims = readInts(requiredInput(in, 0), "shape");
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] < 0) fail(ErrorCode::InvalidArgument, "shape[", i, "] = ", dims[i], " must be >= 0");
  const Tensor* value = optionalInput(in, 1);
  if (value && value->numel() != 1)
    fail(ErrorCode::InvalidArgument, "ConstantOfShape value must hold one element, got ", dimsToString(value->dims()));
  const DType dtype = value ? value->dtype() : DType::Float32;
  requireKernelOutput(out[0], dtype, dims, "ConstantOfShape output");
  if (!value) {  // a float32 zero; output buffers may be reused, so write it
    if (out[0].numel() != 0) std::memset(out[0].raw(), 0, out[0].byteSize());
    return;
  }
  dispatchBySize(dtypeSize(dtype), [&](auto tag) {
    using T = decltype(tag);
    T fill;
    std::memcpy(&fill, value->raw(), sizeof(T));
    T* o = out[0].data<T>();
    for (int64_t i = 0; i < out[0].numel(); ++i) o[i] = fill;
  });
}

// Element i is start + i * delta, computed once per element (no running sum): exact for integers
// (modular arithmetic: the true value always fits), in double then rounded once to float32 (float16: then
// rounded again to half).
void runRange(const Layer&, const Inputs& in, Outputs& out) {
  const Tensor* args[] = {&requiredInput(in, 0), &requiredInput(in, 1), &requiredInput(in, 2)};  // start, limit, delta
  const DType dtype = args[0]->dtype();
  for (size_t i = 0; i < 3; ++i)
    if (args[i]->dtype() != dtype || args[i]->numel() != 1)
      fail(ErrorCode::InvalidArgument, "Range inputs must be single ", dtypeName(dtype), " values; input ", i, " is ",
           dtypeName(args[i]->dtype()), " ", dimsToString(args[i]->dims()));
  if (isFloat(dtype)) {
    const float start = static_cast<float>(args[0]->getDouble(0)), delta = static_cast<float>(args[2]->getDouble(0));
    const int64_t n = rangeLengthFloat(start, static_cast<float>(args[1]->getDouble(0)), delta);
    requireKernelOutput(out[0], dtype, {n}, "Range output");
    for (int64_t i = 0; i < n; ++i) {
      const float v = static_cast<float>(static_cast<double>(start) + static_cast<double>(i) * delta);
      if (dtype == DType::Float32) out[0].data<float>()[i] = v;
      else out[0].data<uint16_t>()[i] = floatToHalf(v);
    }
    return;
  }
  if (dtype != DType::Int32 && dtype != DType::Int64)
    fail(ErrorCode::DTypeMismatch, "Range takes float32, float16, int32 or int64, got ", dtypeName(dtype));
  const int64_t start = args[0]->getInt(0), delta = args[2]->getInt(0);
  const int64_t n = rangeLengthInt(start, args[1]->getInt(0), delta);
  requireKernelOutput(out[0], dtype, {n}, "Range output");
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t v = static_cast<uint64_t>(start) + static_cast<uint64_t>(i) * static_cast<uint64_t>(delta);
    if (dtype == DType::Int64) out[0].data<int64_t>()[i] = static_cast<int64_t>(v);
    else out[0].data<int32_t>()[i] = static_cast<int32_t>(static_cast<int64_t>(v));
  }
}

inline float toFloat(float v) { return v; }
inline float toFloat(int64_t v) { return static_cast<float>(v); }
template <typename T>
T toInt(float v) {
  return saturateCast<T>(v);
}
template <typename T>
T toInt(int64_t v) {
  return static_cast<T>(v);  // modular, as C and numpy do
}

// Writes load(i) for i < n into `out`, converted to its dtype.
template <typename Load>
void castInto(Tensor& out, Load load) {
  const int64_t n = out.numel();
  auto fillInt = [&](auto tag) {
    using T = decltype(tag);
    T* o = out.data<T>();
    for (int64_t i = 0; i < n; ++i) o[i] = toInt<T>(load(i));
  };
  switch (out.dtype()) {
    case DType::Float32: {
      float* o = out.data<float>();
      for (int64_t i = 0; i < n; ++i) o[i] = toFloat(load(i));
      return;
    }
    case DType::Float16: {
      uint16_t* o = out.data<uint16_t>();
      for (int64_t i = 0; i < n; ++i) o[i] = floatToHalf(toFloat(load(i)));
      return;
    }
    case DType::Int8: fillInt(int8_t{}); return;
    case DType::UInt8: fillInt(uint8_t{}); return;
    case DType::Int32: fillInt(int32_t{}); return;
    case DType::Int64: fillInt(int64_t{}); return;
    case DType::Bool: {
      uint8_t* o = out.data<uint8_t>();
      for (int64_t i = 0; i < n; ++i) o[i] = load(i) != 0;
      return;
    }
  }
  fail(ErrorCode::Internal, "Cast to an unknown dtype");
}

void runCast(const Layer& layer, const Inputs& in, Outputs& out) {
  const Tensor& x = requiredInput(in, 0);
  DType to;
  if (!dtypeFromInt(layer.attrs.getInt("to"), &to)) fail(ErrorCode::InvalidArgument, "Cast 'to' is not a dtype code");
  requireKernelOutput(out[0], to, x.dims(), "Cast output");
  if (x.numel() == 0) return;
  if (to == x.dtype()) {
    std::memcpy(out[0].raw(), x.raw(), x.byteSize());
    return;
  }
  switch (x.dtype()) {
    case DType::Float32: castInto(out[0], [p = x.data<float>()](int64_t i) { return p[i]; }); return;
    case DType::Float16: castInto(out[0], [p = x.data<uint16_t>()](int64_t i) { return halfToFloat(p[i]); }); return;
    case DType::Int8: castInto(out[0], [p = x.data<int8_t>()](int64_t i) { return int64_t{p[i]}; }); return;
    case DType::UInt8: castInto(out[0], [p = x.data<uint8_t>()](int64_t i) { return int64_t{p[i]}; }); return;
    case DType::Int32: castInto(out[0], [p = x.data<int32_t>()](int64_t i) { return int64_t{p[i]}; }); return;
    case DType::Int64: castInto(out[0], [p = x.data<int64_t>()](int64_t i) { return p[i]; }); return;
    case DType::Bool: castInto(out[0], [p = x.data<uint8_t>()](int64_t i) { return int64_t{p[i] != 0}; }); return;
  }
  fail(ErrorCode::Internal, "Cast from an unknown dtype");
}

void runIdentity(const Layer&, const Inputs& in, Outputs& out) { setView(out, requiredInput(in, 0)); }

}  // namespace

void registerGeneratorKernels() {
  registerCpuKernel({"ConstantOfShape", runConstantOfShape});
  registerCpuKernel({"Range", runRange});
  registerCpuKernel({"Cast", runCast});
  registerCpuKernel({"Identity", runIdentity, true});
}

}  // namespace inferrt
