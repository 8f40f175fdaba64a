// CPU kernels of the "Indexing" family: Gather, GatherElements, Slice, Concat, Split, Pad, Trilu, Where.
// Elements move as raw bits (any dtype). Every index read from a tensor is range-checked before use.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cpu/broadcast.h"
#include "backend/cpu/kernel_registry.h"
#include "backend/cpu/math_common.h"
#include "backend/cpu/movement_common.h"
#include "ir/ops/movement_geometry.h"

namespace inferrt {

namespace {

using Inputs = std::vector<const Tensor*>;
using Outputs = std::vector<Tensor>;

std::vector<int64_t> readIndices(const Tensor& t) {
  if (t.dtype() != DType::Int64 && t.dtype() != DType::Int32)
    fail(ErrorCode::DTypeMismatch, "indices must be int64 or int32, got ", dtypeName(t.dtype()));
  return readInts(t, "indices");
}

// Product of dims [begin, end) of a static shape.
int64_t span(const Dims& d, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= d[i];
  return p;
}

void runGather(const Layer& layer, const Inputs& in, Outputs& out) {
  const Tensor& data = requiredInput(in, 0);
  const Tensor& indices = requiredInput(in, 1);
  if (data.rank() < 1) fail(ErrorCode::ShapeMismatch, "Gather data must have rank >= 1");
  const int64_t axis = normalizeAxis(layer.attrs.getInt("axis", 0), data.rank(), "axis");
  std::vector<int64_t> idx = readIndices(indices);
  const Dims& d = data.dims();
  Dims dims(d.begin(), d.begin() + axis);
  dims.insert(dims.end(), indices.dims().begin(), indices.dims().end());
  dims.insert(dims.end(), d.begin() + axis + 1, d.end());
  requireKernelOutput(out[0], data.dtype(), dims, "Gather output");
  const int64_t n = d[axis];
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = gatherIndex(idx[i], n, static_cast<int64_t>(i), axis);
  const int64_t outer = span(d, 0, axis), inner = span(d, axis + 1, d.size());
  const int64_t count = static_cast<int64_t>(idx.size());
  const size_t block = static_cast<size_t>(inner) * dtypeSize(data.dtype());
  if (block == 0) return;
  const auto* src = static_cast<const uint8_t*>(data.raw());
  auto* dst = static_cast<uint8_t*>(out[0].raw());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < count; ++j)
      std::memcpy(dst + (o * count + j) * block, src + (o * n + idx[j]) * block, block);
}

void runGatherElements(const Layer& layer, const Inputs& in, Outputs& out) {
  const Tensor& data = requiredInput(in, 0);
  const Dims& d = data.dims();
  const Tensor& indices = requiredInput(in, 1);
  const Dims& id = indices.dims();
  const int64_t rank = data.rank();
  if (rank < 1 || static_cast<int64_t>(id.size()) != rank)
    fail(ErrorCode::ShapeMismatch, "indices ", dimsToString(id), " must have the rank (>= 1) of data ",
         dimsToString(d));
  const int64_t axis = normalizeAxis(layer.attrs.getInt("axis", 0), rank, "axis");
  for (int64_t k = 0; k < rank; ++k)
    if (k != axis && id[k] > d[k])
      fail(ErrorCode::ShapeMismatch, "indices ", dimsToString(id), " exceed data ", dimsToString(d), " on axis ", k);
  const std::vector<int64_t> idx = readIndices(indices);
  requireKernelOutput(out[0], data.dtype(), id, "GatherElements output");
  if (idx.empty()) return;
  // Walk the indices in row-major order; `base` is the data offset of the coordinate with the axis term left out.
  std::vector<int64_t> strides = stridesOf(d);
  const int64_t axisStride = strides[axis];
  strides[axis] = 0;
  std::vector<int64_t> coord(id.size(), 0);
  dispatchBySize(dtypeSize(data.dtype()), [&](auto tag) {
    using T = decltype(tag);
    const T* src = data.data<T>();
    T* dst = out[0].data<T>();
    int64_t base = 0;
    for (size_t i = 0; i < idx.size(); ++i) {
      dst[i] = src[base + gatherIndex(idx[i], d[axis], static_cast<int64_t>(i), axis) * axisStride];
      for (size_t k = id.size(); k-- > 0;) {
        base += strides[k];
        if (++coord[k] < id[k]) break;
        base -= strides[k] * id[k];
        coord[k] = 0;
      }
    }
  });
}

void runSlice(const Layer&, const Inputs& in, Outputs& out) {
  const Tensor& x = requiredInput(in, 0);
  std::vector<int64_t> axes, steps;
  const Tensor* axesIn = optionalInput(in, 3);
  const Tensor* stepsIn = optionalInput(in, 4);
  if (axesIn) axes = readInts(*axesIn, "axes");
  if (stepsIn) steps = readInts(*stepsIn, "steps");
  const std::vector<int64_t> starts = readInts(requiredInput(in, 1), "starts");
  const std::vector<int64_t> ends = readInts(requiredInput(in, 2), "ends");
  const SliceGeometry g = sliceGeometry(x.dims(), starts, ends,
                                        axesIn ? &axes : nullptr, stepsIn ? &steps : nullptr);
  requireKernelOutput(out[0], x.dtype(), g.count, "Slice output");
  const std::vector<int64_t> inStrides = stridesOf(x.dims());
  int64_t offset = 0;
  std::vector<int64_t> strides(inStrides.size());
  for (size_t i = 0; i < inStrides.size(); ++i) {
    offset += g.start[i] * inStrides[i];
    strides[i] = g.step[i] * inStrides[i];
  }
  stridedCopy(x, offset, strides, out[0]);
}

void runConcat(const Layer& layer, const Inputs& in, Outputs& out) {
  const Tensor& first = requiredInput(in, 0);
  const int64_t axis = normalizeAxis(layer.attrs.getInt("axis"), first.rank(), "axis");
  Dims dims = first.dims();
  dims[axis] = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!in[i]) fail(ErrorCode::InvalidModel, "Concat input ", i, " is missing");
    Dims d = in[i]->dims();
    if (in[i]->dtype() != first.dtype() || d.size() != dims.size())
      fail(ErrorCode::ShapeMismatch, "Concat input ", i, " is ", dtypeName(in[i]->dtype()), " ", dimsToString(d),
           ", input 0 is ", dtypeName(first.dtype()), " ", dimsToString(first.dims()));
    const int64_t along = d[axis];
    d[axis] = dims[axis];
    if (d != dims) fail(ErrorCode::ShapeMismatch, "Concat input ", i, " has shape ", dimsToString(in[i]->dims()),
                        ", which differs from input 0 ", dimsToString(first.dims()), " off axis ", axis);
    dims[axis] += along;
  }
  requireKernelOutput(out[0], first.dtype(), dims, "Concat output");
  const size_t es = dtypeSize(first.dtype());
  const int64_t outer = span(dims, 0, axis), inner = span(dims, axis + 1, dims.size());
  auto* dst = static_cast<uint8_t*>(out[0].raw());
  for (int64_t o = 0; o < outer; ++o) {
    for (const Tensor* t : in) {
      const size_t block = static_cast<size_t>(t->dims()[axis] * inner) * es;
      if (block == 0) continue;
      std::memcpy(dst, static_cast<const uint8_t*>(t->raw()) + o * block, block);
      dst += block;
    }
  }
}

void runSplit(const Layer& layer, const Inputs& in, Outputs& out) {
  const Tensor& x = requiredInput(in, 0);
  if (x.rank() < 1) fail(ErrorCode::ShapeMismatch, "Split input must have rank >= 1");
  const int64_t axis = normalizeAxis(layer.attrs.getInt("axis", 0), x.rank(), "axis");
  const Tensor* splitIn = optionalInput(in, 1);
  std::vector<int64_t> split;
  if (splitIn) split = readInts(*splitIn, "split");
  const std::vector<int64_t> sizes = splitSizes(x.dims()[axis], splitIn ? &split : nullptr, out.size());
  const Dims& d = x.dims();
  const size_t es = dtypeSize(x.dtype());
  const int64_t outer = span(d, 0, axis), inner = span(d, axis + 1, d.size());
  const auto* src = static_cast<const uint8_t*>(x.raw());
  const size_t inBlock = static_cast<size_t>(d[axis] * inner) * es;
  size_t at = 0;  // byte offset of this output's part inside one input block
  for (size_t k = 0; k < out.size(); ++k) {
    Dims dims = d;
    dims[axis] = sizes[k];
    requireKernelOutput(out[k], x.dtype(), dims, ("Split output " + std::to_string(k)).c_str());
    const size_t block = static_cast<size_t>(sizes[k] * inner) * es;
    auto* dst = static_cast<uint8_t*>(out[k].raw());
    if (block != 0)
      for (int64_t o = 0; o < outer; ++o) std::memcpy(dst + o * block, src + o * inBlock + at, block);
    at += block;
  }
}

// Where output position o of an axis reads from: an input index, or -1 for the pad value. Negative pads
// crop first; reflect and edge then mirror / repeat the kept window [lo, lo + m) (as ONNX Runtime does).
std::vector<int64_t> padSourceMap(int64_t n, int64_t begin, int64_t end, int64_t outSize, const std::string& mode) {
  const int64_t lo = std::max<int64_t>(0, -begin);
  const int64_t m = n - lo - std::max<int64_t>(0, -end);
  const int64_t shift = std::max<int64_t>(0, begin);
  std::vector<int64_t> map(static_cast<size_t>(outSize));
  for (int64_t o = 0; o < outSize; ++o) {
    int64_t p = o - shift;
    if (p < 0 || p >= m) {
      if (mode == "constant") {
        map[o] = -1;
        continue;
      }
      if (mode == "edge" || m == 1) {
        p = std::clamp<int64_t>(p, 0, m - 1);
      } else {  // reflect without repeating the edge: period 2(m-1)
        const int64_t period = 2 * (m - 1);
        p %= period;
        if (p < 0) p += period;
        if (p >= m) p = period - p;
      }
    }
    map[o] = lo + p;
  }
  return map;
}

void runPad(const Layer& layer, const Inputs& in, Outputs& out) {
  const Tensor& x = requiredInput(in, 0);
  const std::string mode = layer.attrs.getString("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge")
    fail(ErrorCode::InvalidArgument, "Pad mode must be constant, reflect or edge, got '", mode, "'");
  const Tensor* axesIn = optionalInput(in, 3);
  std::vector<int64_t> axes;
  if (axesIn) axes = readInts(*axesIn, "axes");
  const PadGeometry g = padGeometry(x.rank(), readInts(requiredInput(in, 1), "pads"), axesIn ? &axes : nullptr);
  const Dims dims = paddedDims(x.dims(), g, mode != "constant");
  requireKernelOutput(out[0], x.dtype(), dims, "Pad output");
  const Tensor* value = optionalInput(in, 2);
  if (value && (value->dtype() != x.dtype() || value->numel() != 1))
    fail(ErrorCode::InvalidArgument, "Pad value must be one ", dtypeName(x.dtype()), " element, got ",
         dtypeName(value->dtype()), " ", dimsToString(value->dims()));
  if (out[0].numel() == 0) return;
  std::vector<std::vector<int64_t>> maps;
  for (size_t i = 0; i < dims.size(); ++i)
    maps.push_back(padSourceMap(x.dims()[i], g.begin[i], g.end[i], dims[i], mode));
  const std::vector<int64_t> strides = stridesOf(x.dims());
  dispatchBySize(dtypeSize(x.dtype()), [&](auto tag) {
    using T = decltype(tag);
    T fill{};
    if (value) std::memcpy(&fill, value->raw(), sizeof(T));
    const T* src = x.data<T>();
    T* dst = out[0].data<T>();
    if (dims.empty()) {
      dst[0] = src[0];
      return;
    }
    const size_t rank = dims.size();
    const std::vector<int64_t>& inner = maps[rank - 1];
    std::vector<int64_t> coord(rank - 1, 0);
    for (int64_t i = 0; i < out[0].numel(); i += dims[rank - 1]) {
      int64_t base = 0;  // source offset of this row, or -1 when the row lies in the padding
      for (size_t d = 0; d + 1 < rank && base >= 0; ++d) {
        const int64_t s = maps[d][coord[d]];
        base = s < 0 ? -1 : base + s * strides[d];
      }
      for (int64_t j = 0; j < dims[rank - 1]; ++j) dst[i + j] = base < 0 || inner[j] < 0 ? fill : src[base + inner[j]];
      for (size_t d = rank - 1; d-- > 0;) {
        if (++coord[d] < dims[d]) break;
        coord[d] = 0;
      }
    }
  });
}

void runTrilu(const Layer& layer, const Inputs& in, Outputs& out) {
  const Tensor& x = requiredInput(in, 0);
  if (x.rank() < 2) fail(ErrorCode::ShapeMismatch, "Trilu input must have rank >= 2, got ", dimsToString(x.dims()));
  requireKernelOutput(out[0], x.dtype(), x.dims(), "Trilu output");
  const Tensor* kIn = optionalInput(in, 1);
  int64_t k = 0;
  if (kIn) {
    const std::vector<int64_t> kv = readInts(*kIn, "k");
    if (kv.size() != 1) fail(ErrorCode::InvalidArgument, "Trilu k must hold one value, got ", kv.size());
    k = kv[0];
  }
  const bool upper = layer.attrs.getInt("upper", 1) != 0;
  const int64_t rows = x.dims()[x.rank() - 2], cols = x.dims()[x.rank() - 1];
  k = std::clamp<int64_t>(k, -rows - 1, cols + 1);  // beyond these every element is kept or zeroed alike
  const size_t es = dtypeSize(x.dtype());
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(out[0].raw());
  const int64_t rowCount = cols == 0 ? 0 : x.numel() / cols;
  for (int64_t r = 0; r < rowCount; ++r) {
    const int64_t i = r % rows;
    // Kept columns: upper j >= i + k, lower j <= i + k; the rest are zero (all-zero bits in every dtype).
    const int64_t from = upper ? std::clamp<int64_t>(i + k, 0, cols) : 0;
    const int64_t to = upper ? cols : std::clamp<int64_t>(i + k + 1, 0, cols);
    uint8_t* row = dst + r * cols * es;
    std::memset(row, 0, cols * es);
    if (to > from) std::memcpy(row + from * es, src + (r * cols + from) * es, (to - from) * es);
  }
}

void runWhere(const Layer&, const Inputs& in, Outputs& out) {
  const Tensor &cond = requiredInput(in, 0), &x = requiredInput(in, 1), &y = requiredInput(in, 2);
  if (cond.dtype() != DType::Bool || x.dtype() != y.dtype())
    fail(ErrorCode::DTypeMismatch, "Where takes bool, T, T; got ", dtypeName(cond.dtype()), ", ", dtypeName(x.dtype()),
         ", ", dtypeName(y.dtype()));
  const Dims dims = broadcastDims(broadcastDims(cond.dims(), x.dims()), y.dims());
  requireKernelOutput(out[0], x.dtype(), dims, "Where output");
  BroadcastWalker walk(dims, {cond.dims(), x.dims(), y.dims()});
  const uint8_t* c = cond.data<uint8_t>();
  dispatchBySize(dtypeSize(x.dtype()), [&](auto tag) {
    using T = decltype(tag);
    const T* a = x.data<T>();
    const T* b = y.data<T>();
    T* o = out[0].data<T>();
    walk.forEach([&](int64_t i, const int64_t* off) { o[i] = c[off[0]] ? a[off[1]] : b[off[2]]; });
  });
}

}  // namespace

void registerIndexingKernels() {
  registerCpuKernel({"Gather", runGather});
  registerCpuKernel({"GatherElements", runGatherElements});
  registerCpuKernel({"Slice", runSlice});
  registerCpuKernel({"Concat", runConcat});
  registerCpuKernel({"Split", runSplit});
  registerCpuKernel({"Pad", runPad});
  registerCpuKernel({"Trilu", runTrilu});
  registerCpuKernel({"Where", runWhere});
}

}  // namespace inferrt
