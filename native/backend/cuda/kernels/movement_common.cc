#include "backend/cuda/kernels/movement_common.h"

#include <cstdint>
#include <cstring>
#include <limits>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/movement_launch.h"
#include "ir/error.h"
#include "ir/half.h"

namespace inferrt::cudamovement {

namespace {

using cudakernels::kMaxCopyRank;

struct Axis {
  int64_t n, src, dst;  // size and strides of one dim
};

// Drops size-1 dims and merges each dim into its outer neighbour where both sides are contiguous across
// them; at least one dim remains.
std::vector<Axis> simplify(const CopyView& v) {
  std::vector<Axis> out;
  for (size_t k = 0; k < v.dims.size(); ++k) {
    const Axis a{v.dims[k], v.srcStrides[k], v.dstStrides[k]};
    if (a.n == 1) continue;
    if (!out.empty() && out.back().src == a.src * a.n && out.back().dst == a.dst * a.n) {
      out.back() = Axis{out.back().n * a.n, a.src, a.dst};
    } else {
      out.push_back(a);
    }
  }
  if (out.empty()) out.push_back(Axis{1, 1, 1});
  return out;
}

// Lowest and highest offset a view reaches through `strides` from `offset`.
void reach(const CopyView& v, const std::vector<int64_t>& strides, int64_t offset, int64_t* lo, int64_t* hi) {
  *lo = *hi = offset;
  for (size_t d = 0; d < v.dims.size(); ++d) (strides[d] < 0 ? *lo : *hi) += strides[d] * (v.dims[d] - 1);
}

bool aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

// The widest unit (<= 16 bytes) that a view whose innermost dim is contiguous on both sides can move, with
// its axes and offsets rescaled to that unit. Returns the unit size in bytes (elemSize when none is wider).
size_t widen(std::vector<Axis>& axes, int64_t* srcOffset, int64_t* dstOffset, const void* src, const void* dst,
             size_t elemSize) {
  Axis& last = axes.back();
  if (last.src != 1 || last.dst != 1) return elemSize;
  for (size_t unit = 16; unit > elemSize; unit /= 2) {
    const int64_t k = static_cast<int64_t>(unit / elemSize);
    bool ok = last.n % k == 0 && *srcOffset % k == 0 && *dstOffset % k == 0 && aligned(src, unit) &&
              aligned(dst, unit);
    for (size_t d = 0; ok && d + 1 < axes.size(); ++d) ok = axes[d].src % k == 0 && axes[d].dst % k == 0;
    if (!ok) continue;
    last.n /= k;
    for (size_t d = 0; d + 1 < axes.size(); ++d) {
      axes[d].src /= k;
      axes[d].dst /= k;
    }
    *srcOffset /= k;
    *dstOffset /= k;
    return unit;
  }
  return elemSize;
}

// [batch,] rows, cols where the source is contiguous along rows and the destination along cols, both large
// enough for a 32x32 tile to pay off: the last-two-dims / NCHW<->NHWC transposes.
bool isTiledTranspose(const std::vector<Axis>& axes) {
  const size_t r = axes.size();
  if (r != 2 && r != 3) return false;
  const Axis &rows = axes[r - 2], &cols = axes[r - 1];
  return rows.src == 1 && cols.dst == 1 && cols.src != 1 && rows.n >= 16 && cols.n >= 16;
}

}  // namespace

const DeviceTensor& deviceInput(const CudaKernelArgs& args, size_t i) {
  if (i >= args.inputs.size() || !args.inputs[i]) fail(ErrorCode::InvalidModel, "required input ", i, " is missing");
  return *args.inputs[i];
}

const Tensor* hostInput(const CudaKernelArgs& args, size_t i) {
  const bool onDevice = i < args.inputs.size() && args.inputs[i];
  const bool onHost = i < args.hostInputs.size() && args.hostInputs[i];
  if (!onDevice && !onHost) return nullptr;  // an absent optional input
  if (!onHost) fail(ErrorCode::Internal, "input ", i, " is read on the host but has no host value");
  return args.hostInputs[i].get();
}

const Tensor& requiredHostInput(const CudaKernelArgs& args, size_t i) {
  const Tensor* t = hostInput(args, i);
  if (!t) fail(ErrorCode::InvalidModel, "required input ", i, " is missing");
  return *t;
}

DeviceTensor& checkedOutput(CudaKernelArgs& args, size_t i, DType dtype, const Dims& dims, const char* what) {
  if (i >= args.outputs.size()) fail(ErrorCode::Internal, what, " was not allocated");
  DeviceTensor& out = args.outputs[i];
  if (!storedAs(dtype, out.dtype) || out.dims != dims)
    fail(ErrorCode::Internal, what, " is ", dtypeName(out.dtype), " ", dimsToString(out.dims), ", expected ",
         dtypeName(dtype), " ", dimsToString(dims));
  if (out.numel() != 0 && !out.data) fail(ErrorCode::Internal, what, " has no device memory");
  return out;
}

uint64_t scalarBits(const Tensor& value, DType storage, const char* what) {
  if (value.numel() != 1) fail(ErrorCode::Internal, what, " must hold one element");
  uint64_t bits = 0;
  if (value.dtype() == storage) {
    std::memcpy(&bits, value.raw(), dtypeSize(storage));
  } else if (value.dtype() == DType::Float32 && storage == DType::Float16) {
    bits = floatToHalf(*value.data<float>());
  } else {
    fail(ErrorCode::DTypeMismatch, what, " is ", dtypeName(value.dtype()), " for ", dtypeName(storage), " data");
  }
  return bits;
}

std::string rankReason(size_t rank, const char* what) {
  if (rank <= static_cast<size_t>(kMaxCopyRank)) return "";
  return std::string(what) + " of rank " + std::to_string(rank) + " (the GPU kernel takes rank <= " +
         std::to_string(kMaxCopyRank) + ")";
}

void enqueueStridedCopy(const void* src, int64_t srcNumel, void* dst, int64_t dstNumel, size_t elemSize,
                        CopyView view, const CudaLaunchEnv& env) {
  if (view.srcStrides.size() != view.dims.size() || view.dstStrides.size() != view.dims.size())
    fail(ErrorCode::Internal, "strided copy: ", view.srcStrides.size(), "/", view.dstStrides.size(),
         " strides for rank ", view.dims.size());
  const int64_t numel = volume(view.dims);
  if (numel == 0) return;
  int64_t lo, hi;
  reach(view, view.srcStrides, view.srcOffset, &lo, &hi);
  if (!src || lo < 0 || hi >= srcNumel)
    fail(ErrorCode::Internal, "strided copy: view ", dimsToString(view.dims), " reaches offsets ", lo, "..", hi,
         " of a source with ", srcNumel, " elements");
  reach(view, view.dstStrides, view.dstOffset, &lo, &hi);
  if (!dst || lo < 0 || hi >= dstNumel)
    fail(ErrorCode::Internal, "strided copy: view ", dimsToString(view.dims), " reaches offsets ", lo, "..", hi,
         " of a destination with ", dstNumel, " elements");

  std::vector<Axis> axes = simplify(view);
  const auto* srcBytes = static_cast<const char*>(src);
  auto* dstBytes = static_cast<char*>(dst);
  if (axes.size() == 1 && axes[0].src == 1 && axes[0].dst == 1) {
    INFERRT_CUDA_CHECK(cudaMemcpyAsync(dstBytes + view.dstOffset * static_cast<int64_t>(elemSize),
                                       srcBytes + view.srcOffset * static_cast<int64_t>(elemSize),
                                       static_cast<size_t>(numel) * elemSize, cudaMemcpyDeviceToDevice, env.stream));
    return;
  }
  if (isTiledTranspose(axes)) {
    const size_t r = axes.size();
    cudakernels::BatchedTransposeParams p;
    if (r == 3) {
      p.batch = axes[0].n;
      p.srcBatchStride = axes[0].src;
      p.dstBatchStride = axes[0].dst;
    }
    p.rows = axes[r - 2].n;
    p.cols = axes[r - 1].n;
    p.srcOffset = view.srcOffset;
    p.srcColStride = axes[r - 1].src;
    p.dstOffset = view.dstOffset;
    p.dstRowStride = axes[r - 2].dst;
    cudakernels::launchBatchedTranspose(src, dst, p, static_cast<int>(elemSize), env.stream, env.multiProcessors);
    INFERRT_CUDA_CHECK(cudaGetLastError());
    return;
  }
  if (axes.size() > static_cast<size_t>(kMaxCopyRank))
    fail(ErrorCode::UnsupportedOp, "strided copy of ", dimsToString(view.dims), " needs ", axes.size(),
         " dims after merging; the GPU kernel takes ", kMaxCopyRank);
  // Every partial offset lies between a view's extremes, so buffers under 2^31 elements allow 32-bit math.
  constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
  const bool index32 = srcNumel <= kInt32Max && dstNumel <= kInt32Max;
  int64_t srcOffset = view.srcOffset, dstOffset = view.dstOffset;
  const size_t unit = widen(axes, &srcOffset, &dstOffset, src, dst, elemSize);
  cudakernels::StridedCopyParams p;
  p.rank = static_cast<int32_t>(axes.size());
  p.numel = 1;
  for (size_t d = 0; d < axes.size(); ++d) {
    p.dims[d] = axes[d].n;
    p.srcStrides[d] = axes[d].src;
    p.dstStrides[d] = axes[d].dst;
    p.numel *= axes[d].n;
  }
  p.srcOffset = srcOffset;
  p.dstOffset = dstOffset;
  cudakernels::launchStridedCopy(src, dst, p, static_cast<int>(unit), index32, env.stream, env.multiProcessors);
  INFERRT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace inferrt::cudamovement
