// CUDA kernels of the data-movement layers: Transpose, Slice, Expand, Concat, Split (strided copies, see
// movement_common.h), Tile and Pad (index-mapped copies). Geometry comes from the same functions the shape
// rules and CPU kernels use (ir/ops/movement_geometry.h), so attributes and host inputs read identically.
// The index-reading layers (Gather, ...) live in indexing.cc; registerCudaMovementKernels registers both.
#include <algorithm>
#include <string>
#include <vector>

#include "backend/cpu/broadcast.h"  // broadcastStrides: header-only, the same Expand geometry as the CPU kernel
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/movement_common.h"
#include "backend/cuda/kernels/movement_launch.h"
#include "ir/ops/movement_geometry.h"

namespace inferrt {

namespace {

using cudamovement::CopyView;
using cudamovement::checkedOutput;
using cudamovement::deviceInput;
using cudamovement::enqueueStridedCopy;
using cudamovement::hostInput;
using cudamovement::rankReason;
using cudamovement::requiredHostInput;
using cudamovement::storedAs;

constexpr uint32_t bit(int i) { return 1u << i; }

// Product of dims [begin, end).
int64_t span(const Dims& d, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= d[i];
  return p;
}

// Copies input x through `view` into output `out` (same dtype).
void copyView(const DeviceTensor& x, DeviceTensor& out, CopyView view, const CudaLaunchEnv& env) {
  enqueueStridedCopy(x.data, x.numel(), out.data, out.numel(), dtypeSize(x.dtype), std::move(view), env);
}

std::string supportsAlways(const Layer&, const std::vector<TensorDesc>&) { return ""; }

std::string supportsFirstInputRank(const Layer&, const std::vector<TensorDesc>& in) {
  return in.empty() ? "" : rankReason(in[0].dims.size(), "input");
}

void runTranspose(CudaKernelArgs& args) {
  const DeviceTensor& x = deviceInput(args, 0);
  const std::vector<int64_t> perm = transposePerm(args.layer.attrs, static_cast<int64_t>(x.dims.size()));
  const std::vector<int64_t> inStrides = stridesOf(x.dims);
  CopyView v;
  for (int64_t p : perm) {
    v.dims.push_back(x.dims[p]);
    v.srcStrides.push_back(inStrides[p]);
  }
  DeviceTensor& out = checkedOutput(args, 0, x.dtype, v.dims, "Transpose output");
  v.dstStrides = stridesOf(v.dims);
  copyView(x, out, std::move(v), args.env);
}

void runSlice(CudaKernelArgs& args) {
  const DeviceTensor& x = deviceInput(args, 0);
  const Tensor* axesIn = hostInput(args, 3);
  const Tensor* stepsIn = hostInput(args, 4);
  std::vector<int64_t> axes, steps;
  if (axesIn) axes = readInts(*axesIn, "axes");
  if (stepsIn) steps = readInts(*stepsIn, "steps");
  const SliceGeometry g = sliceGeometry(x.dims, readInts(requiredHostInput(args, 1), "starts"),
                                        readInts(requiredHostInput(args, 2), "ends"), axesIn ? &axes : nullptr,
                                        stepsIn ? &steps : nullptr);
  DeviceTensor& out = checkedOutput(args, 0, x.dtype, g.count, "Slice output");
  const std::vector<int64_t> inStrides = stridesOf(x.dims);
  CopyView v;
  v.dims = g.count;
  for (size_t i = 0; i < inStrides.size(); ++i) {
    v.srcOffset += g.start[i] * inStrides[i];
    v.srcStrides.push_back(g.step[i] * inStrides[i]);
  }
  v.dstStrides = stridesOf(v.dims);
  copyView(x, out, std::move(v), args.env);
}

std::string supportsExpand(const Layer&, const std::vector<TensorDesc>& in) {
  size_t rank = in.empty() ? 0 : in[0].dims.size();
  if (in.size() > 1 && in[1].dims.size() == 1 && in[1].dims[0] > 0)
    rank = std::max(rank, static_cast<size_t>(in[1].dims[0]));
  return rankReason(rank, "output");
}

void runExpand(CudaKernelArgs& args) {
  const DeviceTensor& x = deviceInput(args, 0);
  CopyView v;
  v.dims = expandDims(x.dims, readInts(requiredHostInput(args, 1), "shape"));
  DeviceTensor& out = checkedOutput(args, 0, x.dtype, v.dims, "Expand output");
  v.srcStrides = broadcastStrides(x.dims, v.dims);
  v.dstStrides = stridesOf(v.dims);
  copyView(x, out, std::move(v), args.env);
}

// Each input fills an [outer, len * inner] block of the output's [outer, total * inner] rows.
void runConcat(CudaKernelArgs& args) {
  const DeviceTensor& first = deviceInput(args, 0);
  const int64_t rank = static_cast<int64_t>(first.dims.size());
  const int64_t axis = normalizeAxis(args.layer.attrs.getInt("axis"), rank, "axis");
  Dims dims = first.dims;
  dims[axis] = 0;
  for (size_t i = 0; i < args.inputs.size(); ++i) {
    const DeviceTensor& t = deviceInput(args, i);
    Dims d = t.dims;
    if (t.dtype != first.dtype || d.size() != dims.size())
      fail(ErrorCode::ShapeMismatch, "Concat input ", i, " is ", dtypeName(t.dtype), " ", dimsToString(d),
           ", input 0 is ", dtypeName(first.dtype), " ", dimsToString(first.dims));
    const int64_t along = d[axis];
    d[axis] = dims[axis];
    if (d != dims)
      fail(ErrorCode::ShapeMismatch, "Concat input ", i, " has shape ", dimsToString(t.dims),
           ", which differs from input 0 ", dimsToString(first.dims), " off axis ", axis);
    dims[axis] += along;
  }
  DeviceTensor& out = checkedOutput(args, 0, first.dtype, dims, "Concat output");
  if (out.numel() == 0) return;
  const int64_t outer = span(dims, 0, axis), inner = span(dims, axis + 1, dims.size());
  const int64_t row = dims[axis] * inner;
  int64_t at = 0;  // element offset of this input's block inside an output row
  for (const DeviceTensor* t : args.inputs) {
    const int64_t block = t->dims[axis] * inner;
    if (block == 0) continue;
    CopyView v;
    v.dims = {outer, block};
    v.srcStrides = {block, 1};
    v.dstStrides = {row, 1};
    v.dstOffset = at;
    copyView(*t, out, std::move(v), args.env);
    at += block;
  }
}

void runSplit(CudaKernelArgs& args) {
  const DeviceTensor& x = deviceInput(args, 0);
  const Dims& d = x.dims;
  if (d.empty()) fail(ErrorCode::ShapeMismatch, "Split input must have rank >= 1");
  const int64_t axis = normalizeAxis(args.layer.attrs.getInt("axis", 0), static_cast<int64_t>(d.size()), "axis");
  const Tensor* splitIn = hostInput(args, 1);
  std::vector<int64_t> split;
  if (splitIn) split = readInts(*splitIn, "split");
  const std::vector<int64_t> sizes = splitSizes(d[axis], splitIn ? &split : nullptr, args.outputs.size());
  const int64_t outer = span(d, 0, axis), inner = span(d, axis + 1, d.size());
  const int64_t row = d[axis] * inner;
  int64_t at = 0;  // element offset of this output's part inside an input row
  for (size_t k = 0; k < args.outputs.size(); ++k) {
    Dims dims = d;
    dims[axis] = sizes[k];
    DeviceTensor& out = checkedOutput(args, k, x.dtype, dims, ("Split output " + std::to_string(k)).c_str());
    const int64_t block = sizes[k] * inner;
    if (out.numel() != 0) {
      CopyView v;
      v.dims = {outer, block};
      v.srcStrides = {row, 1};
      v.dstStrides = {block, 1};
      v.srcOffset = at;
      copyView(x, out, std::move(v), args.env);
    }
    at += block;
  }
}

// The mapped-copy parameters of a rank-0 tensor: one dim of size 1 that reads element 0.
cudakernels::MappedCopyParams scalarMap() {
  cudakernels::MappedCopyParams p;
  p.rank = 1;
  p.outDims[0] = 1;
  p.kept[0] = 1;
  p.numel = 1;
  return p;
}

void launchMapped(const DeviceTensor& x, DeviceTensor& out, const cudakernels::MappedCopyParams& p,
                  const CudaLaunchEnv& env) {
  cudakernels::launchMappedCopy(x.data, out.data, p, static_cast<int>(dtypeSize(x.dtype)), env.stream,
                                env.multiProcessors);
  INFERRT_CUDA_CHECK(cudaGetLastError());
}

// Output coordinate o of each dim reads input coordinate o mod dim.
void runTile(CudaKernelArgs& args) {
  const DeviceTensor& x = deviceInput(args, 0);
  const Dims dims = tileDims(x.dims, readInts(requiredHostInput(args, 1), "repeats"));
  DeviceTensor& out = checkedOutput(args, 0, x.dtype, dims, "Tile output");
  if (out.numel() == 0) return;
  if (dims.size() > static_cast<size_t>(cudakernels::kMaxCopyRank))
    fail(ErrorCode::UnsupportedOp, "Tile of rank ", dims.size(), " on the GPU");
  cudakernels::MappedCopyParams p = scalarMap();
  p.mode = cudakernels::MapMode::Wrap;
  if (!dims.empty()) {
    const std::vector<int64_t> inStrides = stridesOf(x.dims);
    p.rank = static_cast<int32_t>(dims.size());
    for (size_t i = 0; i < dims.size(); ++i) {
      p.outDims[i] = dims[i];
      p.inStrides[i] = inStrides[i];
      p.shift[i] = 0;
      p.lo[i] = 0;
      p.kept[i] = x.dims[i];
    }
    p.numel = out.numel();
  }
  launchMapped(x, out, p, args.env);
}

// Negative pads crop first: each dim keeps the window [lo, lo + kept) of the input, shifted right by the
// positive begin pad; reflect and edge replicate that window (as the CPU kernel and ONNX Runtime do).
void runPad(CudaKernelArgs& args) {
  const DeviceTensor& x = deviceInput(args, 0);
  const std::string mode = args.layer.attrs.getString("mode", "constant");
  cudakernels::MapMode mapMode;
  if (mode == "constant") mapMode = cudakernels::MapMode::Constant;
  else if (mode == "reflect") mapMode = cudakernels::MapMode::Reflect;
  else if (mode == "edge") mapMode = cudakernels::MapMode::Edge;
  else fail(ErrorCode::InvalidArgument, "Pad mode must be constant, reflect or edge, got '", mode, "'");
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  const Tensor* axesIn = hostInput(args, 3);
  std::vector<int64_t> axes;
  if (axesIn) axes = readInts(*axesIn, "axes");
  const PadGeometry g = padGeometry(rank, readInts(requiredHostInput(args, 1), "pads"), axesIn ? &axes : nullptr);
  const Dims dims = paddedDims(x.dims, g, mode != "constant");
  DeviceTensor& out = checkedOutput(args, 0, x.dtype, dims, "Pad output");
  const Tensor* value = hostInput(args, 2);
  if (value && (!storedAs(value->dtype(), x.dtype) || value->numel() != 1))
    fail(ErrorCode::InvalidArgument, "Pad value must be one ", dtypeName(x.dtype), " element, got ",
         dtypeName(value->dtype()), " ", dimsToString(value->dims()));
  if (out.numel() == 0) return;
  if (dims.size() > static_cast<size_t>(cudakernels::kMaxCopyRank))
    fail(ErrorCode::UnsupportedOp, "Pad of rank ", dims.size(), " on the GPU");
  cudakernels::MappedCopyParams p = scalarMap();
  p.mode = mapMode;
  if (value) p.fill = cudamovement::scalarBits(*value, x.dtype, "Pad value");  // low bytes: little-endian both sides
  if (rank > 0) {
    const std::vector<int64_t> inStrides = stridesOf(x.dims);
    // Adjacent unpadded dims merge into one (the input is contiguous), so padding the channels of [N, H, W, C]
    // indexes [N·H·W, C]: one division per element instead of three.
    auto unpadded = [&](size_t i) { return g.begin[i] == 0 && g.end[i] == 0; };
    int32_t r = -1;
    for (size_t i = 0; i < dims.size(); ++i) {
      if (r >= 0 && unpadded(i) && unpadded(i - 1)) {
        p.outDims[r] *= dims[i];
        p.kept[r] *= dims[i];
        p.inStrides[r] = inStrides[i];
        continue;
      }
      ++r;
      p.outDims[r] = dims[i];
      p.inStrides[r] = inStrides[i];
      p.lo[r] = std::max<int64_t>(0, -g.begin[i]);
      p.kept[r] = x.dims[i] - p.lo[r] - std::max<int64_t>(0, -g.end[i]);
      p.shift[r] = std::max<int64_t>(0, g.begin[i]);
    }
    p.rank = r + 1;
    p.numel = out.numel();
  }
  launchMapped(x, out, p, args.env);
}

}  // namespace

void registerCudaMovementKernels() {
  registerCudaKernel({"Transpose", supportsFirstInputRank, runTranspose, 0});
  registerCudaKernel({"Slice", supportsFirstInputRank, runSlice, bit(1) | bit(2) | bit(3) | bit(4)});
  registerCudaKernel({"Expand", supportsExpand, runExpand, bit(1)});
  registerCudaKernel({"Concat", supportsAlways, runConcat, 0});  // [outer, chunk] copies: any rank
  registerCudaKernel({"Split", supportsAlways, runSplit, bit(1)});
  registerCudaKernel({"Tile", supportsFirstInputRank, runTile, bit(1)});
  registerCudaKernel({"Pad", supportsFirstInputRank, runPad, bit(1) | bit(2) | bit(3)});
  cudamovement::registerIndexingKernels();
}

}  // namespace inferrt
