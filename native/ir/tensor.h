// A host tensor: dtype, static dims and shared row-major storage. Copies share storage (cheap views for
// reshape-like layers); write only to tensors you allocated.
#pragma once
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "ir/dims.h"
#include "ir/dtype.h"

namespace inferrt {

class Tensor {
 public:
  Tensor() = default;
  // Allocates zero-filled storage for static `dims`.
  Tensor(DType dtype, Dims dims);
  // Copies `bytes` (must equal numel * dtypeSize) into new storage.
  static Tensor fromBytes(DType dtype, Dims dims, const void* bytes, size_t size);
  // Same storage, other dims (element counts must match).
  Tensor reshaped(Dims dims) const;

  DType dtype() const { return dtype_; }
  const Dims& dims() const { return dims_; }
  int64_t rank() const { return static_cast<int64_t>(dims_.size()); }
  int64_t numel() const { return numel_; }
  size_t byteSize() const { return static_cast<size_t>(numel_) * dtypeSize(dtype_); }
  bool defined() const { return storage_ != nullptr; }
  // Whether no other tensor shares this one's bytes (then they may be handed over, e.g. to JS, without a copy).
  bool ownsStorageAlone() const { return storage_ && storage_.use_count() == 1; }

  template <typename T>
  T* data() {
    return storage_ ? reinterpret_cast<T*>(storage_->data()) : nullptr;  // null for a default-constructed tensor
  }
  template <typename T>
  const T* data() const {
    return storage_ ? reinterpret_cast<const T*>(storage_->data()) : nullptr;
  }
  void* raw() { return storage_ ? storage_->data() : nullptr; }
  const void* raw() const { return storage_ ? storage_->data() : nullptr; }

  // Element i converted to double / int64 (any dtype; fp16 decoded). For scalars and shape tensors.
  double getDouble(int64_t i) const;
  int64_t getInt(int64_t i) const;

 private:
  DType dtype_ = DType::Float32;
  Dims dims_;
  int64_t numel_ = 0;
  std::shared_ptr<std::vector<uint8_t>> storage_;
};

using TensorPtr = std::shared_ptr<const Tensor>;

// All elements of an integer (or bool) tensor as int64; throws DTypeMismatch naming `what` for floats.
std::vector<int64_t> readInts(const Tensor& t, const char* what);
// A float32 copy of a float16/float32 tensor (float32 input returns a view).
Tensor toFloat32(const Tensor& t);
// Converts a float32 tensor to `target` (float32: view; float16: rounds to nearest even).
Tensor fromFloat32(const Tensor& t, DType target);
// Makes a tensor from int64 values (shape tensors).
Tensor makeInt64(const std::vector<int64_t>& values, Dims dims);

}  // namespace inferrt
