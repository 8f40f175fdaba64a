// CUDA kernels of the index-reading and generator layers: Gather, GatherElements (indices read on the device;
// out-of-range ones reported through env.deviceError), Trilu, ConstantOfShape and Range. Validation and
// geometry mirror the CPU kernels (native/backend/cpu/{indexing,generator}.cc) line for line.
#include <algorithm>
#include <string>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/indexing_launch.h"
#include "backend/cuda/kernels/movement_common.h"
#include "ir/ops/movement_geometry.h"

namespace inferrt::cudamovement {

namespace {

static_assert(cudakernels::kIndexOutOfRange == static_cast<int32_t>(DeviceErrorCode::IndexOutOfRange),
              "indexing_launch.h mirrors DeviceErrorCode");

constexpr uint32_t bit(int i) { return 1u << i; }

std::string supportsAlways(const Layer&, const std::vector<TensorDesc>&) { return ""; }

int64_t span(const Dims& d, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= d[i];
  return p;
}

const DeviceTensor& indicesInput(const CudaKernelArgs& args) {
  const DeviceTensor& t = deviceInput(args, 1);
  if (t.dtype != DType::Int64 && t.dtype != DType::Int32)
    fail(ErrorCode::DTypeMismatch, "indices must be int64 or int32, got ", dtypeName(t.dtype));
  return t;
}

void runGather(CudaKernelArgs& args) {
  const DeviceTensor& data = deviceInput(args, 0);
  const DeviceTensor& indices = indicesInput(args);
  const Dims& d = data.dims;
  if (d.empty()) fail(ErrorCode::ShapeMismatch, "Gather data must have rank >= 1");
  const int64_t axis = normalizeAxis(args.layer.attrs.getInt("axis", 0), static_cast<int64_t>(d.size()), "axis");
  Dims dims(d.begin(), d.begin() + axis);
  dims.insert(dims.end(), indices.dims.begin(), indices.dims.end());
  dims.insert(dims.end(), d.begin() + axis + 1, d.end());
  DeviceTensor& out = checkedOutput(args, 0, data.dtype, dims, "Gather output");
  if (indices.numel() == 0) return;  // an empty output with indices left still has them checked
  cudakernels::GatherParams p;
  p.outer = span(d, 0, axis);
  p.count = indices.numel();
  p.axisDim = d[axis];  // may be 0: then every index is out of range and data is never read
  p.inner = span(d, axis + 1, d.size());
  cudakernels::launchGather(data.data, indices.data, indices.dtype == DType::Int64, out.data, p,
                            static_cast<int>(dtypeSize(data.dtype)), args.env.deviceError, args.env.stream,
                            args.env.multiProcessors);
  INFERRT_CUDA_CHECK(cudaGetLastError());
}

std::string supportsGatherElements(const Layer&, const std::vector<TensorDesc>& in) {
  return in.empty() ? "" : rankReason(in[0].dims.size(), "data");
}

void runGatherElements(CudaKernelArgs& args) {
  const DeviceTensor& data = deviceInput(args, 0);
  const DeviceTensor& indices = indicesInput(args);
  const Dims &d = data.dims, &id = indices.dims;
  const int64_t rank = static_cast<int64_t>(d.size());
  if (rank < 1 || static_cast<int64_t>(id.size()) != rank)
    fail(ErrorCode::ShapeMismatch, "indices ", dimsToString(id), " must have the rank (>= 1) of data ",
         dimsToString(d));
  const int64_t axis = normalizeAxis(args.layer.attrs.getInt("axis", 0), rank, "axis");
  for (int64_t k = 0; k < rank; ++k)
    if (k != axis && id[k] > d[k])
      fail(ErrorCode::ShapeMismatch, "indices ", dimsToString(id), " exceed data ", dimsToString(d), " on axis ", k);
  DeviceTensor& out = checkedOutput(args, 0, data.dtype, id, "GatherElements output");
  if (out.numel() == 0) return;
  if (rank > cudakernels::kMaxGatherElementsRank)
    fail(ErrorCode::UnsupportedOp, "GatherElements of rank ", rank, " on the GPU");
  // Off the axis an index position addresses the same data coordinate; the axis term comes from the index.
  const std::vector<int64_t> strides = stridesOf(d);
  cudakernels::GatherElementsParams p;
  p.rank = static_cast<int32_t>(rank);
  for (int64_t k = 0; k < rank; ++k) {
    p.idxDims[k] = id[k];
    p.dataStrides[k] = k == axis ? 0 : strides[k];
  }
  p.axisStride = strides[axis];
  p.axisDim = d[axis];
  p.numel = out.numel();
  cudakernels::launchGatherElements(data.data, indices.data, indices.dtype == DType::Int64, out.data, p,
                                    static_cast<int>(dtypeSize(data.dtype)), args.env.deviceError, args.env.stream,
                                    args.env.multiProcessors);
  INFERRT_CUDA_CHECK(cudaGetLastError());
}

void runTrilu(CudaKernelArgs& args) {
  const DeviceTensor& x = deviceInput(args, 0);
  const size_t rank = x.dims.size();
  if (rank < 2) fail(ErrorCode::ShapeMismatch, "Trilu input must have rank >= 2, got ", dimsToString(x.dims));
  DeviceTensor& out = checkedOutput(args, 0, x.dtype, x.dims, "Trilu output");
  int64_t k = 0;
  if (const Tensor* kIn = hostInput(args, 1)) {
    const std::vector<int64_t> kv = readInts(*kIn, "k");
    if (kv.size() != 1) fail(ErrorCode::InvalidArgument, "Trilu k must hold one value, got ", kv.size());
    k = kv[0];
  }
  if (out.numel() == 0) return;
  cudakernels::TriluParams p;
  p.numel = out.numel();
  p.rows = x.dims[rank - 2];
  p.cols = x.dims[rank - 1];
  p.k = std::clamp<int64_t>(k, -p.rows - 1, p.cols + 1);  // beyond these every element is kept or zeroed alike
  p.upper = args.layer.attrs.getInt("upper", 1) != 0;
  cudakernels::launchTrilu(x.data, out.data, p, static_cast<int>(dtypeSize(x.dtype)), args.env.stream,
                           args.env.multiProcessors);
  INFERRT_CUDA_CHECK(cudaGetLastError());
}

void runConstantOfShape(CudaKernelArgs& args) {
  const Dims dims = readInts(requiredHostInput(args, 0), "shape");
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] < 0) fail(ErrorCode::InvalidArgument, "shape[", i, "] = ", dims[i], " must be >= 0");
  const Tensor* value = hostInput(args, 1);
  if (value && value->numel() != 1)
    fail(ErrorCode::InvalidArgument, "ConstantOfShape value must hold one element, got ", dimsToString(value->dims()));
  const DType dtype = value ? value->dtype() : DType::Float32;
  DeviceTensor& out = checkedOutput(args, 0, dtype, dims, "ConstantOfShape output");
  if (out.numel() == 0) return;
  // No value: a float32 zero (output buffers are reused, so it is written).
  const uint64_t bits = value ? scalarBits(*value, out.dtype, "ConstantOfShape value") : 0;
  if (bits == 0) {
    INFERRT_CUDA_CHECK(cudaMemsetAsync(out.data, 0, out.bytes(), args.env.stream));
    return;
  }
  cudakernels::launchFill(out.data, out.numel(), bits, static_cast<int>(dtypeSize(out.dtype)), args.env.stream,
                          args.env.multiProcessors);
  INFERRT_CUDA_CHECK(cudaGetLastError());
}

void runRange(CudaKernelArgs& args) {
  const Tensor* in[] = {&requiredHostInput(args, 0), &requiredHostInput(args, 1), &requiredHostInput(args, 2)};
  const DType dtype = in[0]->dtype();
  for (size_t i = 0; i < 3; ++i)
    if (in[i]->dtype() != dtype || in[i]->numel() != 1)
      fail(ErrorCode::InvalidArgument, "Range inputs must be single ", dtypeName(dtype), " values; input ", i, " is ",
           dtypeName(in[i]->dtype()), " ", dimsToString(in[i]->dims()));
  cudakernels::RangeParams p;
  if (isFloat(dtype)) {
    p.type = dtype == DType::Float32 ? cudakernels::RangeType::Float32 : cudakernels::RangeType::Float16;
    p.fstart = static_cast<float>(in[0]->getDouble(0));
    p.fdelta = static_cast<float>(in[2]->getDouble(0));
    p.n = rangeLengthFloat(p.fstart, static_cast<float>(in[1]->getDouble(0)), p.fdelta);
  } else {
    if (dtype != DType::Int32 && dtype != DType::Int64)
      fail(ErrorCode::DTypeMismatch, "Range takes float32, float16, int32 or int64, got ", dtypeName(dtype));
    p.type = dtype == DType::Int32 ? cudakernels::RangeType::Int32 : cudakernels::RangeType::Int64;
    p.istart = in[0]->getInt(0);
    p.idelta = in[2]->getInt(0);
    p.n = rangeLengthInt(p.istart, in[1]->getInt(0), p.idelta);
  }
  DeviceTensor& out = checkedOutput(args, 0, dtype, {p.n}, "Range output");
  if (out.numel() == 0) return;
  if (out.dtype == DType::Float16) p.type = cudakernels::RangeType::Float16;  // float32 stored as fp16: round once more
  cudakernels::launchRange(out.data, p, args.env.stream, args.env.multiProcessors);
  INFERRT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void registerIndexingKernels() {
  registerCudaKernel({"Gather", supportsAlways, runGather, 0});
  registerCudaKernel({"GatherElements", supportsGatherElements, runGatherElements, 0});
  registerCudaKernel({"Trilu", supportsAlways, runTrilu, bit(1)});
  registerCudaKernel({"ConstantOfShape", supportsAlways, runConstantOfShape, bit(0) | bit(1)});
  registerCudaKernel({"Range", supportsAlways, runRange, bit(0) | bit(1) | bit(2)});
}

}  // namespace inferrt::cudamovement
