// Helpers shared by the data-movement kernels (shape.cc, indexing.cc, generator.cc): input access and raw
// element copies. Elements move as bits, so one implementation per element size serves every dtype.
// Header-only.
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

#include "ir/dims.h"
#include "ir/error.h"
#include "ir/tensor.h"

namespace inferrt {

// Input `i` of a kernel; a missing one (a malformed plan that skipped the shape rule's arity check) throws.
inline const Tensor& requiredInput(const std::vector<const Tensor*>& inputs, size_t i) {
  if (i >= inputs.size() || !inputs[i]) fail(ErrorCode::InvalidModel, "required input ", i, " is missing");
  return *inputs[i];
}

// Input `i` when given, else null.
inline const Tensor* optionalInput(const std::vector<const Tensor*>& inputs, size_t i) {
  return i < inputs.size() ? inputs[i] : nullptr;
}

// Sets the single output of a view kernel (viewOutputs: outputs arrive unallocated) to `view`.
inline void setView(std::vector<Tensor>& outputs, const Tensor& view) {
  if (outputs.size() != 1) outputs.resize(1);
  outputs[0] = view;
}

// Calls fn(T{}) with the unsigned integer type of `size` bytes (every dtype is 1, 2, 4 or 8 bytes wide).
template <typename Fn>
void dispatchBySize(size_t size, Fn&& fn) {
  switch (size) {
    case 1: fn(uint8_t{}); return;
    case 2: fn(uint16_t{}); return;
    case 4: fn(uint32_t{}); return;
    case 8: fn(uint64_t{}); return;
    default: fail(ErrorCode::Internal, "no element copy for ", size, "-byte elements");
  }
}

// Fills contiguous `dst` of shape `dims` from a strided view of `src`: the element at output coordinate c
// comes from src[offset + sum(c[d] * strides[d])]. Strides may be 0 (broadcast) or negative (reversed
// slices). The view's extreme offsets are checked against `srcNumel` first, so no stride can read outside.
inline void stridedCopy(const void* src, int64_t srcNumel, int64_t offset, const std::vector<int64_t>& strides,
                        void* dst, const Dims& dims, size_t elemSize) {
  if (strides.size() != dims.size()) fail(ErrorCode::Internal, "stridedCopy: ", strides.size(), " strides for rank ",
                                          dims.size());
  const int64_t numel = volume(dims);
  if (numel == 0) return;
  int64_t lo = offset, hi = offset;
  for (size_t d = 0; d < dims.size(); ++d) (strides[d] < 0 ? lo : hi) += strides[d] * (dims[d] - 1);
  if (lo < 0 || hi >= srcNumel)
    fail(ErrorCode::Internal, "stridedCopy: view ", dimsToString(dims), " reaches offsets ", lo, "..", hi,
         " of a source with ", srcNumel, " elements");
  dispatchBySize(elemSize, [&](auto tag) {
    using T = decltype(tag);
    const T* in = static_cast<const T*>(src);
    T* out = static_cast<T*>(dst);
    if (dims.empty()) {
      out[0] = in[offset];
      return;
    }
    const size_t rank = dims.size();
    const int64_t inner = dims[rank - 1];
    const int64_t innerStride = strides[rank - 1];
    std::vector<int64_t> coord(rank, 0);
    int64_t base = offset;  // source offset of the current inner row
    for (int64_t i = 0; i < numel; i += inner) {
      const T* row = in + base;
      if (innerStride == 1) {
        std::memcpy(out + i, row, static_cast<size_t>(inner) * sizeof(T));
      } else {
        for (int64_t j = 0; j < inner; ++j) out[i + j] = row[j * innerStride];
      }
      for (size_t d = rank - 1; d-- > 0;) {  // odometer over the outer dims
        base += strides[d];
        if (++coord[d] < dims[d]) break;
        base -= strides[d] * dims[d];
        coord[d] = 0;
      }
    }
  });
}

// stridedCopy from tensor `src` into tensor `dst` (same dtype; dst's dims are the view's).
inline void stridedCopy(const Tensor& src, int64_t offset, const std::vector<int64_t>& strides, Tensor& dst) {
  if (src.dtype() != dst.dtype())
    fail(ErrorCode::Internal, "stridedCopy from ", dtypeName(src.dtype()), " to ", dtypeName(dst.dtype()));
  if (dst.numel() == 0) return;
  stridedCopy(src.raw(), src.numel(), offset, strides, dst.raw(), dst.dims(), dtypeSize(dst.dtype()));
}

}  // namespace inferrt
