// Host-side helpers shared by the CUDA data-movement kernels (movement.cc, indexing.cc): input access in the
// executor's convention, output checks, and enqueueStridedCopy, which turns any strided view into the
// cheapest copy (memcpy, widened row copy, tiled transpose or the general N-D kernel).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "backend/cuda/kernels/cuda_kernel.h"

namespace inferrt::cudamovement {

// Input `i` on the device; throws InvalidModel when it is absent.
const DeviceTensor& deviceInput(const CudaKernelArgs& args, size_t i);
// Host value of input `i` (a hostInputMask input), or null when the optional input is absent.
const Tensor* hostInput(const CudaKernelArgs& args, size_t i);
// Like hostInput, but a missing input throws InvalidModel.
const Tensor& requiredHostInput(const CudaKernelArgs& args, size_t i);

// Whether device bytes of dtype `storage` may hold a tensor of IR dtype `ir`: the same, or float16 for float32
// (the executor stores the float32 tensors of fp16-precision layers as fp16, inputs and outputs alike).
inline bool storedAs(DType ir, DType storage) {
  return storage == ir || (ir == DType::Float32 && storage == DType::Float16);
}

// Output `i`, checked to have the dims this call computes and a dtype stored as `dtype` (storedAs), so no
// stale allocation is written out of bounds.
DeviceTensor& checkedOutput(CudaKernelArgs& args, size_t i, DType dtype, const Dims& dims, const char* what);

// The bits of one-element host tensor `value` in device dtype `storage`: its own bytes, or a float32 value
// rounded to float16 (as the CPU result would be when converted); other dtype pairs throw DTypeMismatch.
uint64_t scalarBits(const Tensor& value, DType storage, const char* what);

// "" when `rank` is within the strided kernels' limit, else the reason supports() gives.
std::string rankReason(size_t rank, const char* what);

// A strided view to copy: for each coordinate c of `dims`, dst[dstOffset + c.dstStrides] =
// src[srcOffset + c.srcStrides] (strides in elements; src strides may be 0 or negative).
struct CopyView {
  Dims dims;
  std::vector<int64_t> srcStrides, dstStrides;
  int64_t srcOffset = 0, dstOffset = 0;
};

// Checks the view against both buffers (Internal error if it reaches outside), simplifies it (drops size-1
// dims, merges dims contiguous on both sides, widens contiguous rows to up to 16-byte units) and enqueues it.
// Nothing is launched for an empty view. Throws UnsupportedOp if the simplified rank exceeds the kernel's.
void enqueueStridedCopy(const void* src, int64_t srcNumel, void* dst, int64_t dstNumel, size_t elemSize,
                        CopyView view, const CudaLaunchEnv& env);

// Gather, GatherElements, Trilu, ConstantOfShape and Range (indexing.cc); called by registerCudaMovementKernels.
void registerIndexingKernels();

}  // namespace inferrt::cudamovement
