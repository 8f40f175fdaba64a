// Shape rules of the "Indexing" family: Gather, GatherElements, Slice, Concat, Split, Pad, Trilu, Where.
// Index and slice parameters are taken from input values when known; indices that are known at build time
// are range-checked here so a bad constant fails at the node that holds it.
#include <string>
#include <vector>

#include "ir/ops/movement_geometry.h"
#include "ir/ops/shape_helpers.h"

namespace inferrt {

namespace {

void requireIndices(const TensorDesc& indices, size_t index) {
  requireDType(indices, index, {DType::Int64, DType::Int32});
}

std::vector<TensorDesc> inferGather(const Layer& layer, const std::vector<TensorDesc>& in) {
  const Dims& data = in[0].dims;
  requireRank(in[0], 0, 1);
  requireIndices(in[1], 1);
  const int64_t axis = normalizeAxis(layer.attrs.getInt("axis", 0), static_cast<int64_t>(data.size()), "axis");
  std::vector<int64_t> idx;
  if (data[axis] >= 0 && knownInts(in[1], "indices", &idx))
    for (size_t i = 0; i < idx.size(); ++i) gatherIndex(idx[i], data[axis], static_cast<int64_t>(i), axis);
  Dims out(data.begin(), data.begin() + axis);
  out.insert(out.end(), in[1].dims.begin(), in[1].dims.end());
  out.insert(out.end(), data.begin() + axis + 1, data.end());
  return {makeDesc(in[0].dtype, out)};
}

std::vector<TensorDesc> inferGatherElements(const Layer& layer, const std::vector<TensorDesc>& in) {
  const Dims& data = in[0].dims;
  const Dims& indices = in[1].dims;
  requireRank(in[0], 0, 1);
  requireIndices(in[1], 1);
  if (indices.size() != data.size())
    fail(ErrorCode::ShapeMismatch, "indices ", dimsToString(indices), " must have the rank of data ",
         dimsToString(data));
  const int64_t axis = normalizeAxis(layer.attrs.getInt("axis", 0), static_cast<int64_t>(data.size()), "axis");
  // Off the axis, an index position addresses the data element at the same coordinate.
  for (size_t d = 0; d < data.size(); ++d)
    if (static_cast<int64_t>(d) != axis && data[d] >= 0 && indices[d] > data[d])
      fail(ErrorCode::ShapeMismatch, "indices ", dimsToString(indices), " exceed data ", dimsToString(data),
           " on axis ", d, " (only the gather axis ", axis, " may differ)");
  std::vector<int64_t> idx;
  if (data[axis] >= 0 && knownInts(in[1], "indices", &idx))
    for (size_t i = 0; i < idx.size(); ++i) gatherIndex(idx[i], data[axis], static_cast<int64_t>(i), axis);
  return {makeDesc(in[0].dtype, indices)};
}

std::vector<TensorDesc> inferSlice(const Layer&, const std::vector<TensorDesc>& in) {
  const Dims& x = in[0].dims;
  const int64_t rank = static_cast<int64_t>(x.size());
  const char* names[] = {"data", "starts", "ends", "axes", "steps"};
  for (size_t i = 1; i < in.size(); ++i)
    if (hasInput(in, i)) requireShapeVector(in[i], i, names[i]);
  std::vector<int64_t> starts, ends, axes, steps;
  const bool haveAxes = hasInput(in, 3);
  if (haveAxes && !knownInts(in[3], "axes", &axes)) return {makeDesc(in[0].dtype, Dims(x.size(), kDynamic))};
  const bool known = knownInts(in[1], "starts", &starts) && knownInts(in[2], "ends", &ends) &&
                     (!hasInput(in, 4) || knownInts(in[4], "steps", &steps));
  if (known)
    return {makeDesc(in[0].dtype, sliceGeometry(x, starts, ends, haveAxes ? &axes : nullptr,
                                                hasInput(in, 4) ? &steps : nullptr).count)};
  // Parameters unknown: the sliced axes are unknown, the others pass through.
  const int64_t numStarts = in[1].dims[0];
  if (!haveAxes && numStarts < 0) return {makeDesc(in[0].dtype, Dims(x.size(), kDynamic))};
  Dims out = x;
  for (int64_t a : sliceAxes(haveAxes ? &axes : nullptr, haveAxes ? axes.size() : static_cast<size_t>(numStarts), rank))
    out[a] = kDynamic;
  return {makeDesc(in[0].dtype, out)};
}

std::vector<TensorDesc> inferConcat(const Layer& layer, const std::vector<TensorDesc>& in) {
  for (size_t i = 0; i < in.size(); ++i) {
    if (!in[i].present) fail(ErrorCode::InvalidModel, "input ", i, " is missing");
    requireSameDType(in, 0, i);
    if (in[i].dims.size() != in[0].dims.size() || in[i].dims.empty())
      fail(ErrorCode::ShapeMismatch, "input ", i, " has shape ", dimsToString(in[i].dims), " but input 0 has ",
           dimsToString(in[0].dims), "; inputs must share a rank >= 1");
  }
  Dims out = in[0].dims;
  const int64_t axis = normalizeAxis(layer.attrs.getInt("axis"), static_cast<int64_t>(out.size()), "axis");
  for (size_t i = 1; i < in.size(); ++i) {
    for (size_t d = 0; d < out.size(); ++d) {
      if (static_cast<int64_t>(d) == axis) {
        out[d] = out[d] < 0 || in[i].dims[d] < 0 ? kDynamic : dimSum(out[d], in[i].dims[d]);
      } else if (out[d] >= 0 && in[i].dims[d] >= 0 && out[d] != in[i].dims[d]) {
        fail(ErrorCode::ShapeMismatch, "input ", i, " has shape ", dimsToString(in[i].dims), " but input 0 has ",
             dimsToString(in[0].dims), "; they may differ only on axis ", axis);
      } else if (out[d] < 0) {
        out[d] = in[i].dims[d];
      }
    }
  }
  return {makeDesc(in[0].dtype, out)};
}

std::vector<TensorDesc> inferSplit(const Layer& layer, const std::vector<TensorDesc>& in) {
  const Dims& x = in[0].dims;
  requireRank(in[0], 0, 1);
  const int64_t axis = normalizeAxis(layer.attrs.getInt("axis", 0), static_cast<int64_t>(x.size()), "axis");
  const size_t numOutputs = layer.outputs.size();
  std::vector<int64_t> split, sizes;
  if (hasInput(in, 1)) {
    requireShapeVector(in[1], 1, "split");
    if (in[1].dims[0] >= 0 && static_cast<size_t>(in[1].dims[0]) != numOutputs)
      fail(ErrorCode::InvalidArgument, "split has ", in[1].dims[0], " sizes for ", numOutputs, " outputs");
    sizes = knownInts(in[1], "split", &split) ? splitSizes(x[axis], &split, numOutputs)
                                              : std::vector<int64_t>(numOutputs, kDynamic);
  } else {
    sizes = splitSizes(x[axis], nullptr, numOutputs);
  }
  std::vector<TensorDesc> out;
  for (int64_t size : sizes) {
    Dims d = x;
    d[axis] = size;
    out.push_back(makeDesc(in[0].dtype, d));
  }
  return out;
}

bool replicatingPadMode(const Layer& layer) {
  const std::string mode = layer.attrs.getString("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge")
    fail(ErrorCode::InvalidArgument, "attribute 'mode' must be constant, reflect or edge, got '", mode, "'");
  return mode != "constant";
}

std::vector<TensorDesc> inferPad(const Layer& layer, const std::vector<TensorDesc>& in) {
  const Dims& x = in[0].dims;
  const bool replicates = replicatingPadMode(layer);
  requireShapeVector(in[1], 1, "pads");
  if (hasInput(in, 2)) {
    requireOneElement(in[2], 2, "value");
    requireSameDType(in, 0, 2);
  }
  std::vector<int64_t> pads, axes;
  const bool haveAxes = hasInput(in, 3);
  if (haveAxes) requireShapeVector(in[3], 3, "axes");
  if (haveAxes && !knownInts(in[3], "axes", &axes)) return {makeDesc(in[0].dtype, Dims(x.size(), kDynamic))};
  const int64_t rank = static_cast<int64_t>(x.size());
  if (!knownInts(in[1], "pads", &pads)) {  // the padded axes are unknown, the others pass through
    if (!haveAxes) return {makeDesc(in[0].dtype, Dims(x.size(), kDynamic))};
    Dims out = x;
    for (int64_t a : normalizeAxes(axes, rank, "pad axis")) out[a] = kDynamic;
    return {makeDesc(in[0].dtype, out)};
  }
  Dims out = paddedDims(x, padGeometry(rank, pads, haveAxes ? &axes : nullptr), replicates);
  requireAllocatable(in[0].dtype, out, "Pad output");
  return {makeDesc(in[0].dtype, out)};
}

std::vector<TensorDesc> inferTrilu(const Layer&, const std::vector<TensorDesc>& in) {
  requireRank(in[0], 0, 2);
  if (hasInput(in, 1)) {
    requireDType(in[1], 1, {DType::Int64, DType::Int32});
    requireOneElement(in[1], 1, "k");
  }
  return {makeDesc(in[0].dtype, in[0].dims)};
}

std::vector<TensorDesc> inferWhere(const Layer&, const std::vector<TensorDesc>& in) {
  requireDType(in[0], 0, {DType::Bool});
  requireSameDType(in, 1, 2);
  return {makeDesc(in[1].dtype, broadcastDims(broadcastDims(in[0].dims, in[1].dims), in[2].dims))};
}

}  // namespace

void registerIndexingSchemas() {
  registerOpSchema({"Gather", 2, 2, 1, 1, inferGather});
  registerOpSchema({"GatherElements", 2, 2, 1, 1, inferGatherElements});
  registerOpSchema({"Slice", 3, 5, 1, 1, inferSlice});
  registerOpSchema({"Concat", 1, -1, 1, 1, inferConcat});
  registerOpSchema({"Split", 1, 2, 1, -1, inferSplit});
  registerOpSchema({"Pad", 2, 4, 1, 1, inferPad});
  registerOpSchema({"Trilu", 1, 2, 1, 1, inferTrilu});
  registerOpSchema({"Where", 3, 3, 1, 1, inferWhere});
}

}  // namespace inferrt
