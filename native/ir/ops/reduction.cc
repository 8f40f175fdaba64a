// Shape rules of the reduction family: Reduce, ArgMinMax, Softmax, CumSum.
#include <string>
#include <vector>

#include "ir/ops/shape_helpers.h"

namespace inferrt {

namespace {

constexpr std::initializer_list<DType> kNumeric = {DType::Float32, DType::Float16, DType::Int8,
                                                   DType::UInt8,   DType::Int32,   DType::Int64};

int64_t flagAttr(const Layer& layer, const char* key, int64_t fallback) {
  const int64_t v = layer.attrs.getInt(key, fallback);
  if (v != 0 && v != 1) fail(ErrorCode::InvalidArgument, "attribute '", key, "' must be 0 or 1, got ", v);
  return v;
}

// Output dims for reduced-dim flags (keepdims: reduced dims become 1, else they are dropped).
Dims reducedDims(const Dims& in, const std::vector<bool>& reduced, bool keepdims) {
  Dims out;
  for (size_t d = 0; d < in.size(); ++d) {
    if (!reduced[d]) out.push_back(in[d]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

std::vector<TensorDesc> inferReduce(const Layer& layer, const std::vector<TensorDesc>& in) {
  const std::string op = layer.attrs.getString("op");
  static const char* const kOps[] = {"sum", "mean", "max", "min", "prod", "l1", "l2", "log_sum", "log_sum_exp",
                                     "sum_square"};
  bool known = false;
  for (const char* k : kOps) known = known || op == k;
  if (!known)
    fail(ErrorCode::InvalidArgument, "unknown Reduce op '", op,
         "'; expected sum mean max min prod l1 l2 log_sum log_sum_exp sum_square");
  const TensorDesc& x = in[0];
  requireDType(x, 0, kNumeric);
  const bool keepdims = flagAttr(layer, "keepdims", 1) == 1;
  const bool noopEmpty = flagAttr(layer, "noop_with_empty_axes", 0) == 1;
  const int64_t rank = static_cast<int64_t>(x.dims.size());

  std::vector<int64_t> axes;
  if (hasInput(in, 1)) {
    if (layer.attrs.has("axes")) fail(ErrorCode::InvalidArgument, "axes given both as attribute and as input 1");
    requireDType(in[1], 1, {DType::Int64, DType::Int32});
    requireRank(in[1], 1, 0, 1);
    const int64_t count = in[1].dims.empty() ? 1 : in[1].dims[0];
    if (!knownInts(in[1], "Reduce axes (input 1)", &axes) && count != 0) {
      // Axes only known at run time: the rank is still known when keepdims is set or the axes count is known.
      if (keepdims) {
        Dims out(x.dims);
        for (int64_t& d : out) d = d == 1 ? 1 : kDynamic;
        return {makeDesc(x.dtype, out)};
      }
      if (count > 0) {
        if (count > rank) fail(ErrorCode::ShapeMismatch, count, " reduce axes for rank ", rank);
        return {makeDesc(x.dtype, Dims(static_cast<size_t>(rank - count), kDynamic))};
      }
      fail(ErrorCode::InvalidModel, "with keepdims=0 the number of reduce axes (input 1) must be known at build time");
    }
  } else {
    axes = layer.attrs.getInts("axes", {});
  }
  const ReduceAxes plan = resolveReduceAxes(axes, rank, noopEmpty);
  if (plan.noop) return {makeDesc(x.dtype, x.dims)};
  return {makeDesc(x.dtype, reducedDims(x.dims, plan.reduced, keepdims))};
}

std::vector<TensorDesc> inferArgMinMax(const Layer& layer, const std::vector<TensorDesc>& in) {
  const std::string op = layer.attrs.getString("op");
  if (op != "argmax" && op != "argmin")
    fail(ErrorCode::InvalidArgument, "unknown ArgMinMax op '", op, "'; expected argmax or argmin");
  const TensorDesc& x = in[0];
  requireDType(x, 0, kNumeric);
  requireRank(x, 0, 1);
  const bool keepdims = flagAttr(layer, "keepdims", 1) == 1;
  flagAttr(layer, "select_last_index", 0);
  const int64_t axis = normalizeAxis(layer.attrs.getInt("axis", 0), static_cast<int64_t>(x.dims.size()), "axis");
  Dims others = x.dims;
  others.erase(others.begin() + axis);
  if (x.dims[axis] == 0 && dimsProduct(others, 0, others.size()) != 0)
    fail(ErrorCode::InvalidArgument, op, " over axis ", axis, " of size 0 has no answer");
  std::vector<bool> reduced(x.dims.size(), false);
  reduced[axis] = true;
  return {makeDesc(DType::Int64, reducedDims(x.dims, reduced, keepdims))};
}

std::vector<TensorDesc> inferSoftmax(const Layer& layer, const std::vector<TensorDesc>& in) {
  const TensorDesc& x = in[0];
  requireDType(x, 0, {DType::Float32, DType::Float16});
  requireRank(x, 0, 1);
  normalizeAxis(layer.attrs.getInt("axis", -1), static_cast<int64_t>(x.dims.size()), "axis");
  flagAttr(layer, "log", 0);
  if (hasInput(in, 1)) {  // additive mask: broadcasts into x, never enlarging it (the output keeps x's shape)
    const TensorDesc& m = in[1];
    if (m.dtype != x.dtype && m.dtype != DType::Float32)
      fail(ErrorCode::DTypeMismatch, "Softmax mask (input 1) has dtype ", dtypeName(m.dtype), ", expected ",
           dtypeName(x.dtype), " (x's) or float32");
    if (m.dims.size() > x.dims.size())
      fail(ErrorCode::ShapeMismatch, "Softmax mask ", dimsToString(m.dims), " has more dims than x ",
           dimsToString(x.dims));
    const size_t lead = x.dims.size() - m.dims.size();
    for (size_t i = 0; i < m.dims.size(); ++i) {
      const int64_t md = m.dims[i], xd = x.dims[lead + i];
      if (md >= 0 && xd >= 0 && md != 1 && md != xd)  // unknown dims are checked again at run time
        fail(ErrorCode::ShapeMismatch, "Softmax mask ", dimsToString(m.dims), " does not broadcast to x ",
             dimsToString(x.dims));
    }
  }
  return {makeDesc(x.dtype, x.dims)};
}

std::vector<TensorDesc> inferCumSum(const Layer& layer, const std::vector<TensorDesc>& in) {
  const TensorDesc& x = in[0];
  requireDType(x, 0, kNumeric);
  requireRank(x, 0, 1);
  requireDType(in[1], 1, {DType::Int32, DType::Int64});
  requireRank(in[1], 1, 0, 1);
  if (in[1].dims.size() == 1 && in[1].dims[0] != 1 && in[1].dims[0] != kDynamic)
    fail(ErrorCode::ShapeMismatch, "CumSum axis (input 1) must hold one value, got shape ", dimsToString(in[1].dims));
  std::vector<int64_t> axis;
  if (knownInts(in[1], "CumSum axis (input 1)", &axis)) {
    if (axis.size() != 1)
      fail(ErrorCode::ShapeMismatch, "CumSum axis (input 1) must hold one value, got ", axis.size());
    normalizeAxis(axis[0], static_cast<int64_t>(x.dims.size()), "CumSum axis");
  }
  flagAttr(layer, "exclusive", 0);
  flagAttr(layer, "reverse", 0);
  return {makeDesc(x.dtype, x.dims)};
}

}  // namespace

void registerReductionSchemas() {
  registerOpSchema({"Reduce", 1, 2, 1, 1, inferReduce});
  registerOpSchema({"ArgMinMax", 1, 1, 1, 1, inferArgMinMax});
  registerOpSchema({"Softmax", 1, 2, 1, 1, inferSoftmax});
  registerOpSchema({"CumSum", 2, 2, 1, 1, inferCumSum});
}

}  // namespace inferrt
