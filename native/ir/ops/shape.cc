// Shape rules of the "Shape" family: Reshape, Transpose, Squeeze, Unsqueeze, Flatten, Shape, Expand, Tile.
// They take shape-tensor inputs (shape, repeats) from their values when known, so ONNX shape subgraphs
// (Shape -> Gather -> Concat -> Reshape) give concrete dims at build time where the graph allows it.
#include <vector>

#include "ir/ops/movement_geometry.h"
#include "ir/ops/shape_helpers.h"

namespace inferrt {

namespace {

std::vector<TensorDesc> inferReshape(const Layer& layer, const std::vector<TensorDesc>& in) {
  const int64_t rank = shapeVectorLength(in[1], 1, "shape");
  const bool allowZero = layer.attrs.getInt("allowzero", 0) != 0;
  std::vector<int64_t> shape;
  if (!knownInts(in[1], "shape", &shape)) return {makeDesc(in[0].dtype, Dims(static_cast<size_t>(rank), kDynamic))};
  return {makeDesc(in[0].dtype, reshapeDims(in[0].dims, shape, allowZero))};
}

std::vector<TensorDesc> inferTranspose(const Layer& layer, const std::vector<TensorDesc>& in) {
  const Dims& x = in[0].dims;
  const std::vector<int64_t> perm = transposePerm(layer.attrs, static_cast<int64_t>(x.size()));
  Dims out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = x[perm[i]];
  return {makeDesc(in[0].dtype, out)};
}

std::vector<TensorDesc> inferSqueeze(const Layer& layer, const std::vector<TensorDesc>& in) {
  const std::vector<int64_t> axes = layer.attrs.getInts("axes", {});
  return {makeDesc(in[0].dtype, squeezeDims(in[0].dims, axes, !axes.empty()))};
}

std::vector<TensorDesc> inferUnsqueeze(const Layer& layer, const std::vector<TensorDesc>& in) {
  if (!layer.attrs.has("axes")) fail(ErrorCode::InvalidArgument, "attribute 'axes' is required");
  return {makeDesc(in[0].dtype, unsqueezeDims(in[0].dims, layer.attrs.getInts("axes")))};
}

std::vector<TensorDesc> inferFlatten(const Layer& layer, const std::vector<TensorDesc>& in) {
  return {makeDesc(in[0].dtype, flattenDims(in[0].dims, layer.attrs.getInt("axis", 1)))};
}

std::vector<TensorDesc> inferShape(const Layer& layer, const std::vector<TensorDesc>& in) {
  const Dims& x = in[0].dims;
  int64_t start = 0, end = 0;
  shapeRange(layer.attrs, static_cast<int64_t>(x.size()), &start, &end);
  const Dims picked(x.begin() + start, x.begin() + end);
  TensorDesc out = makeDesc(DType::Int64, {end - start});
  // Static dims make the output a build-time constant: this is what lets shape subgraphs fold.
  if (isStatic(picked)) out.value = std::make_shared<const Tensor>(makeInt64(picked, {end - start}));
  return {out};
}

std::vector<TensorDesc> inferExpand(const Layer&, const std::vector<TensorDesc>& in) {
  const Dims& x = in[0].dims;
  const int64_t n = shapeVectorLength(in[1], 1, "shape");
  std::vector<int64_t> shape;
  if (knownInts(in[1], "shape", &shape)) {
    Dims out = expandDims(x, shape);
    requireAllocatable(in[0].dtype, out, "Expand output");
    return {makeDesc(in[0].dtype, out)};
  }
  // Each requested dim is 1 or the input's, so an input dim other than 1 survives; the rest are unknown.
  const size_t rank = std::max(x.size(), static_cast<size_t>(n));
  Dims out(rank, kDynamic);
  for (size_t i = 0; i < x.size(); ++i) {
    const int64_t d = x[x.size() - 1 - i];
    if (d >= 0 && d != 1) out[rank - 1 - i] = d;
  }
  return {makeDesc(in[0].dtype, out)};
}

std::vector<TensorDesc> inferTile(const Layer&, const std::vector<TensorDesc>& in) {
  const Dims& x = in[0].dims;
  const int64_t n = shapeVectorLength(in[1], 1, "repeats");
  if (n != static_cast<int64_t>(x.size()))
    fail(ErrorCode::InvalidArgument, "repeats has ", n, " values for input rank ", x.size());
  std::vector<int64_t> repeats;
  if (knownInts(in[1], "repeats", &repeats)) {
    Dims out = tileDims(x, repeats);
    requireAllocatable(in[0].dtype, out, "Tile output");
    return {makeDesc(in[0].dtype, out)};
  }
  Dims out(x.size(), kDynamic);
  for (size_t i = 0; i < x.size(); ++i)
    if (x[i] == 0) out[i] = 0;
  return {makeDesc(in[0].dtype, out)};
}

}  // namespace

void registerShapeSchemas() {
  registerOpSchema({"Reshape", 2, 2, 1, 1, inferReshape});
  registerOpSchema({"Transpose", 1, 1, 1, 1, inferTranspose});
  registerOpSchema({"Squeeze", 1, 1, 1, 1, inferSqueeze});
  registerOpSchema({"Unsqueeze", 1, 1, 1, 1, inferUnsqueeze});
  registerOpSchema({"Flatten", 1, 1, 1, 1, inferFlatten});
  registerOpSchema({"Shape", 1, 1, 1, 1, inferShape});
  registerOpSchema({"Expand", 2, 2, 1, 1, inferExpand});
  registerOpSchema({"Tile", 2, 2, 1, 1, inferTile});
}

}  // namespace inferrt
