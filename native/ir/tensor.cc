#include "ir/tensor.h"

#include <limits>

#include "ir/error.h"
#include "ir/half.h"

namespace inferrt {

Tensor::Tensor(DType dtype, Dims dims) : dtype_(dtype), dims_(std::move(dims)) {
  if (!isStatic(dims_)) fail(ErrorCode::Internal, "cannot allocate a tensor of unknown shape ", dimsToString(dims_));
  numel_ = volume(dims_);
  // numel * size can pass size_t (and vector's max_size) for shapes read from crafted models or plans.
  const bool tooBig = numel_ > static_cast<int64_t>(std::numeric_limits<size_t>::max() / 2 / dtypeSize(dtype_));
  try {
    if (tooBig) throw std::bad_alloc();
    storage_ = std::make_shared<std::vector<uint8_t>>(byteSize());
  } catch (const std::exception&) {
    fail(ErrorCode::OutOfMemory, "host allocation for a ", dtypeName(dtype), " tensor ", dimsToString(dims_), " (",
         numel_, " elements) failed");
  }
}

Tensor Tensor::fromBytes(DType dtype, Dims dims, const void* bytes, size_t size) {
  Tensor t(dtype, std::move(dims));
  if (size != t.byteSize())
    fail(ErrorCode::InvalidArgument, "a ", dtypeName(dtype), " tensor of shape ", dimsToString(t.dims()), " needs ",
         t.byteSize(), " bytes, got ", size);
  if (size) std::memcpy(t.raw(), bytes, size);
  return t;
}

Tensor Tensor::reshaped(Dims dims) const {
  if (volume(dims) != numel_)
    fail(ErrorCode::ShapeMismatch, "cannot view ", dimsToString(dims_), " as ", dimsToString(dims));
  Tensor t = *this;
  t.dims_ = std::move(dims);
  return t;
}

double Tensor::getDouble(int64_t i) const {
  switch (dtype_) {
    case DType::Float32: return data<float>()[i];
    case DType::Float16: return halfToFloat(data<uint16_t>()[i]);
    case DType::Int8: return data<int8_t>()[i];
    case DType::UInt8: return data<uint8_t>()[i];
    case DType::Int32: return data<int32_t>()[i];
    case DType::Int64: return static_cast<double>(data<int64_t>()[i]);
    case DType::Bool: return data<uint8_t>()[i] ? 1.0 : 0.0;
  }
  return 0;
}

int64_t Tensor::getInt(int64_t i) const {
  switch (dtype_) {
    case DType::Int64: return data<int64_t>()[i];
    case DType::Int32: return data<int32_t>()[i];
    case DType::Int8: return data<int8_t>()[i];
    case DType::UInt8: return data<uint8_t>()[i];
    case DType::Bool: return data<uint8_t>()[i] ? 1 : 0;
    default: return static_cast<int64_t>(getDouble(i));
  }
}

std::vector<int64_t> readInts(const Tensor& t, const char* what) {
  if (isFloat(t.dtype())) fail(ErrorCode::DTypeMismatch, what, " must be an integer tensor, got ", dtypeName(t.dtype()));
  std::vector<int64_t> out(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) out[i] = t.getInt(i);
  return out;
}

Tensor toFloat32(const Tensor& t) {
  if (t.dtype() == DType::Float32) return t;
  Tensor out(DType::Float32, t.dims());
  float* o = out.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) o[i] = static_cast<float>(t.getDouble(i));
  return out;
}

Tensor fromFloat32(const Tensor& t, DType target) {
  if (target == DType::Float32) return t;
  if (target != DType::Float16) fail(ErrorCode::Internal, "fromFloat32 to ", dtypeName(target));
  Tensor out(DType::Float16, t.dims());
  const float* in = t.data<float>();
  uint16_t* o = out.data<uint16_t>();
  for (int64_t i = 0; i < t.numel(); ++i) o[i] = floatToHalf(in[i]);
  return out;
}

Tensor makeInt64(const std::vector<int64_t>& values, Dims dims) {
  Tensor t(DType::Int64, std::move(dims));
  if (static_cast<int64_t>(values.size()) != t.numel()) fail(ErrorCode::Internal, "makeInt64 size mismatch");
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * 8);
  return t;
}

}  // namespace inferrt
