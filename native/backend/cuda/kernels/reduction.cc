// CUDA kernels of the reduction family: Reduce, ArgMinMax, Softmax, CumSum (and Normalization, registered from
// normalization.cc). Reads the layer, checks what the CPU reference checks, and lays the tensors out as
// [outer, n, inner] views for the launchers in reduction_launch.h.
#include <algorithm>
#include <string>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/cuda_kernel.h"
#include "backend/cuda/kernels/reduction_launch.h"
#include "ir/ops/shape_helpers.h"

namespace inferrt {

void registerCudaNormalizationKernel();  // normalization.cc

namespace {

using cudakernels::ElemType;
using cudakernels::ReduceOpCode;

bool toElemType(DType t, ElemType* out) {
  switch (t) {
    case DType::Float32: *out = ElemType::F32; return true;
    case DType::Float16: *out = ElemType::F16; return true;
    case DType::Int8: *out = ElemType::I8; return true;
    case DType::UInt8: *out = ElemType::U8; return true;
    case DType::Int32: *out = ElemType::I32; return true;
    case DType::Int64: *out = ElemType::I64; return true;
    default: return false;
  }
}

ElemType elemTypeOf(DType t, const char* what) {
  ElemType e;
  if (!toElemType(t, &e)) fail(ErrorCode::DTypeMismatch, what, ": unsupported dtype ", dtypeName(t));
  return e;
}

std::string numericReason(const std::vector<TensorDesc>& in) {
  ElemType e;
  return in.empty() || toElemType(in[0].dtype, &e) ? "" : std::string(dtypeName(in[0].dtype)) + " input";
}

void requireOutput(const DeviceTensor& out, DType dtype, const Dims& dims, const char* what) {
  if (out.dtype != dtype || out.dims != dims)
    fail(ErrorCode::Internal, what, " is ", dtypeName(out.dtype), " ", dimsToString(out.dims), ", expected ",
         dtypeName(dtype), " ", dimsToString(dims));
}

// Splits dims around `axis` into [outer, n, inner] (row-major).
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};
AxisSplit splitAt(const Dims& dims, int64_t axis) {
  AxisSplit s;
  for (int64_t d = 0; d < static_cast<int64_t>(dims.size()); ++d) (d < axis ? s.outer : d == axis ? s.n : s.inner) *= dims[d];
  return s;
}

// A host input's values (the executor delivers hostInputMask inputs on the host).
std::vector<int64_t> hostInts(const CudaKernelArgs& args, size_t i, const char* what) {
  if (i >= args.hostInputs.size() || !args.hostInputs[i]) fail(ErrorCode::Internal, what, " is not on the host");
  return readInts(*args.hostInputs[i], what);
}

ReduceOpCode parseReduceOp(const std::string& op) {
  static const struct {
    const char* name;
    ReduceOpCode op;
  } kTable[] = {
      {"sum", ReduceOpCode::Sum},         {"mean", ReduceOpCode::Mean},
      {"max", ReduceOpCode::Max},         {"min", ReduceOpCode::Min},
      {"prod", ReduceOpCode::Prod},       {"l1", ReduceOpCode::L1},
      {"l2", ReduceOpCode::L2},           {"log_sum", ReduceOpCode::LogSum},
      {"log_sum_exp", ReduceOpCode::LogSumExp}, {"sum_square", ReduceOpCode::SumSquare},
  };
  for (const auto& e : kTable)
    if (op == e.name) return e.op;
  fail(ErrorCode::InvalidArgument, "unknown Reduce op '", op, "'");
}

// Runs of non-1 dims of one kind (reduced or kept), merged: x is row-major, so adjacent dims of a kind fuse.
struct DimGroup {
  int64_t size;
  bool reduced;
};

std::vector<DimGroup> groupDims(const Dims& dims, const std::vector<bool>& reduced) {
  std::vector<DimGroup> groups;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] == 1) continue;
    if (!groups.empty() && groups.back().reduced == reduced[d]) groups.back().size *= dims[d];
    else groups.push_back({dims[d], reduced[d]});
  }
  return groups;
}

void launchReduceGroups(const cudakernels::ReduceLaunch& a, const std::vector<DimGroup>& groups,
                        const CudaLaunchEnv& env) {
  int reducedGroups = 0;
  for (const DimGroup& g : groups) reducedGroups += g.reduced ? 1 : 0;
  auto scratchFor = [&](size_t bytes) { return bytes ? env.scratch(bytes) : nullptr; };
  if (reducedGroups == 1) {  // one contiguous reduced run: [outer, reduced, inner]
    cudakernels::ReduceView3 v;
    bool after = false;
    for (const DimGroup& g : groups) {
      if (g.reduced) v.reduced = g.size, after = true;
      else (after ? v.inner : v.outer) *= g.size;
    }
    cudakernels::launchReduce(a, v, scratchFor(cudakernels::reduceScratchBytes(a, v)));
    return;
  }
  // Scattered reduced dims (or only size-1 ones): the strided walk, one thread per output.
  cudakernels::ReduceViewGeneral v;
  int64_t stride = 1;
  for (size_t i = groups.size(); i-- > 0;) {
    const DimGroup& g = groups[i];
    int& rank = g.reduced ? v.redRank : v.keptRank;
    if (rank == cudakernels::kMaxReduceDims)
      fail(ErrorCode::UnsupportedOp, "Reduce: more than ", cudakernels::kMaxReduceDims, " separate dim runs");
    (g.reduced ? v.redDims : v.keptDims)[rank] = g.size;
    (g.reduced ? v.redStrides : v.keptStrides)[rank] = stride;
    ++rank;
    stride *= g.size;
  }
  // Collected innermost first: put them in row-major order.
  std::reverse(v.keptDims, v.keptDims + v.keptRank);
  std::reverse(v.keptStrides, v.keptStrides + v.keptRank);
  std::reverse(v.redDims, v.redDims + v.redRank);
  std::reverse(v.redStrides, v.redStrides + v.redRank);
  if (v.redRank == 0) {  // every reduced dim has size 1: one element per output
    v.redRank = 1;
    v.redDims[0] = 1;
    v.redStrides[0] = 0;
  }
  v.reduced = 1;
  for (int d = 0; d < v.redRank; ++d) v.reduced *= v.redDims[d];
  cudakernels::launchReduce(a, v, scratchFor(cudakernels::reduceScratchBytes(a, v)));
}

void runReduce(CudaKernelArgs& args) {
  const Layer& layer = args.layer;
  const ReduceOpCode op = parseReduceOp(layer.attrs.getString("op"));
  const DeviceTensor& x = *args.inputs[0];
  DeviceTensor& out = args.outputs[0];
  const bool hasAxesInput = (args.inputs.size() > 1 && args.inputs[1]) ||
                            (args.hostInputs.size() > 1 && args.hostInputs[1]);
  const std::vector<int64_t> axes =
      hasAxesInput ? hostInts(args, 1, "Reduce axes (input 1)") : layer.attrs.getInts("axes", {});
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  const ReduceAxes plan = resolveReduceAxes(axes, rank, layer.attrs.getInt("noop_with_empty_axes", 0) != 0);
  Dims keepDims = x.dims;
  for (size_t d = 0; d < keepDims.size(); ++d)
    if (plan.reduced[d]) keepDims[d] = 1;
  if (out.numel() != volume(keepDims) || out.dtype != x.dtype)
    fail(ErrorCode::ShapeMismatch, "Reduce output ", dimsToString(out.dims), " does not match input ",
         dimsToString(x.dims));
  if (out.numel() == 0) return;
  if (plan.noop) {
    INFERRT_CUDA_CHECK(cudaMemcpyAsync(out.data, x.data, x.bytes(), cudaMemcpyDeviceToDevice, args.env.stream));
    return;
  }
  cudakernels::ReduceLaunch a;
  a.type = elemTypeOf(x.dtype, "Reduce");
  a.op = op;
  a.x = x.data;
  a.y = out.data;
  a.outN = out.numel();
  a.multiProcessors = args.env.multiProcessors;
  a.stream = args.env.stream;
  launchReduceGroups(a, groupDims(x.dims, plan.reduced), args.env);
}

void runArgMinMax(CudaKernelArgs& args) {
  const Layer& layer = args.layer;
  const DeviceTensor& x = *args.inputs[0];
  DeviceTensor& out = args.outputs[0];
  const bool isMax = layer.attrs.getString("op") == "argmax";
  const bool last = layer.attrs.getInt("select_last_index", 0) != 0;
  const AxisSplit s =
      splitAt(x.dims, normalizeAxis(layer.attrs.getInt("axis", 0), static_cast<int64_t>(x.dims.size()), "axis"));
  if (out.dtype != DType::Int64 || out.numel() != s.outer * s.inner)
    fail(ErrorCode::ShapeMismatch, "ArgMinMax output ", dimsToString(out.dims), " does not match input ",
         dimsToString(x.dims));
  if (out.numel() == 0) return;
  if (s.n == 0) fail(ErrorCode::InvalidArgument, "ArgMinMax over an axis of size 0");
  cudakernels::launchArgMinMax(elemTypeOf(x.dtype, "ArgMinMax"), x.data, out.as<int64_t>(), s.outer, s.n, s.inner,
                               isMax, last, args.env.multiProcessors, args.env.stream);
}

std::string softmaxSupports(const Layer&, const std::vector<TensorDesc>& in) {
  if (!in.empty() && !isFloat(in[0].dtype)) return std::string(dtypeName(in[0].dtype)) + " input";
  if (in.size() > 1 && in[1].present) {
    if (!isFloat(in[1].dtype)) return std::string(dtypeName(in[1].dtype)) + " mask";
    if (in[0].dims.size() > static_cast<size_t>(cudakernels::kSoftmaxMaskMaxRank))
      return "masked softmax of rank above " + std::to_string(cudakernels::kSoftmaxMaskMaxRank);
  }
  return "";
}

// The mask's broadcast geometry over x (see SoftmaxMask): per-dim strides (0 where it broadcasts), then size-1
// dims dropped and neighbours merged where the strides allow, so rows find their offset with few divisions.
cudakernels::SoftmaxMask maskGeometry(const DeviceTensor& m, const Dims& x, int64_t axis) {
  if (!isFloat(m.dtype)) fail(ErrorCode::DTypeMismatch, "Softmax mask: unsupported dtype ", dtypeName(m.dtype));
  if (m.dims.size() > x.size())
    fail(ErrorCode::ShapeMismatch, "Softmax mask ", dimsToString(m.dims), " has more dims than x ", dimsToString(x));
  std::vector<int64_t> strides(x.size(), 0);
  const size_t lead = x.size() - m.dims.size();
  int64_t step = 1;
  for (size_t i = m.dims.size(); i-- > 0;) {
    if (m.dims[i] != 1 && m.dims[i] != x[lead + i])
      fail(ErrorCode::ShapeMismatch, "Softmax mask ", dimsToString(m.dims), " does not broadcast to x ",
           dimsToString(x));
    if (m.dims[i] != 1) strides[lead + i] = step;
    step *= m.dims[i];
  }
  cudakernels::SoftmaxMask g;
  g.data = m.data;
  g.half = m.dtype == DType::Float16;
  g.axisStride = strides[static_cast<size_t>(axis)];
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] == 1) continue;
    if (g.rank > 0 && g.strides[g.rank - 1] == strides[i] * x[i]) {  // (p, c) -> p * dim + c, one stride
      g.dims[g.rank - 1] *= x[i];
      g.strides[g.rank - 1] = strides[i];
      continue;
    }
    if (g.rank == cudakernels::kSoftmaxMaskMaxRank)
      fail(ErrorCode::UnsupportedOp, "Softmax mask needs more than ", cudakernels::kSoftmaxMaskMaxRank, " dims");
    g.dims[g.rank] = x[i];
    g.strides[g.rank++] = strides[i];
  }
  return g;
}

void runSoftmax(CudaKernelArgs& args) {
  const Layer& layer = args.layer;
  const DeviceTensor& x = *args.inputs[0];
  const DeviceTensor* mask = args.inputs.size() > 1 ? args.inputs[1] : nullptr;
  DeviceTensor& out = args.outputs[0];
  requireOutput(out, x.dtype, x.dims, "Softmax output");
  if (!isFloat(x.dtype)) fail(ErrorCode::DTypeMismatch, "Softmax: unsupported dtype ", dtypeName(x.dtype));
  const bool logMode = layer.attrs.getInt("log", 0) != 0;
  const int64_t axis = normalizeAxis(layer.attrs.getInt("axis", -1), static_cast<int64_t>(x.dims.size()), "axis");
  const AxisSplit s = splitAt(x.dims, axis);
  const cudakernels::SoftmaxMask m = mask ? maskGeometry(*mask, x.dims, axis) : cudakernels::SoftmaxMask{};
  if (out.numel() == 0) return;
  cudakernels::launchSoftmax(elemTypeOf(x.dtype, "Softmax"), x.data, out.data, s.outer, s.n, s.inner, logMode, m,
                             args.env.multiProcessors, args.env.stream);
}

void runCumSum(CudaKernelArgs& args) {
  const Layer& layer = args.layer;
  const DeviceTensor& x = *args.inputs[0];
  DeviceTensor& out = args.outputs[0];
  requireOutput(out, x.dtype, x.dims, "CumSum output");
  const std::vector<int64_t> axis = hostInts(args, 1, "CumSum axis (input 1)");
  if (axis.size() != 1) fail(ErrorCode::ShapeMismatch, "CumSum axis (input 1) must hold one value, got ", axis.size());
  const AxisSplit s = splitAt(x.dims, normalizeAxis(axis[0], static_cast<int64_t>(x.dims.size()), "CumSum axis"));
  const bool exclusive = layer.attrs.getInt("exclusive", 0) != 0;
  const bool reverse = layer.attrs.getInt("reverse", 0) != 0;
  if (out.numel() == 0) return;
  cudakernels::launchCumSum(elemTypeOf(x.dtype, "CumSum"), x.data, out.data, s.outer, s.n, s.inner, exclusive,
                            reverse, args.env.multiProcessors, args.env.stream);
}

std::string reduceSupports(const Layer&, const std::vector<TensorDesc>& in) {
  const std::string reason = numericReason(in);
  if (!reason.empty()) return reason;
  // The strided fallback walks at most kMaxReduceDims runs of kept / reduced dims.
  if (in[0].dims.size() > static_cast<size_t>(cudakernels::kMaxReduceDims))
    return "rank above " + std::to_string(cudakernels::kMaxReduceDims);
  return "";
}

std::string numericSupports(const Layer&, const std::vector<TensorDesc>& in) { return numericReason(in); }

}  // namespace

void registerCudaReductionKernels() {
  registerCudaKernel({"Reduce", reduceSupports, runReduce, 1u << 1});
  registerCudaKernel({"ArgMinMax", numericSupports, runArgMinMax, 0});
  registerCudaKernel({"Softmax", softmaxSupports, runSoftmax, 0});
  registerCudaKernel({"CumSum", numericSupports, runCumSum, 1u << 1});
  registerCudaNormalizationKernel();
}

}  // namespace inferrt
