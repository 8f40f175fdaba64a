#include "ir/ops/movement_geometry.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "ir/error.h"
#include "ir/ops/shape_helpers.h"

namespace inferrt {

namespace {
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kMaxElements = int64_t{1} << 56;  // far inside size_t even for 8-byte elements

// a * b for dims >= 0; throws instead of overflowing.
int64_t checkedMul(int64_t a, int64_t b, const Dims& context) {
  if (b != 0 && a > kInt64Max / b) fail(ErrorCode::InvalidArgument, "shape ", dimsToString(context),
                                        " has too many elements");
  return a * b;
}
}  // namespace

void requireShapeVector(const TensorDesc& desc, size_t index, const char* what) {
  if (desc.dtype != DType::Int64 && desc.dtype != DType::Int32)
    fail(ErrorCode::DTypeMismatch, "input ", index, " (", what, ") must be int64 or int32, got ",
         dtypeName(desc.dtype));
  if (desc.dims.size() != 1)
    fail(ErrorCode::ShapeMismatch, "input ", index, " (", what, ") must be 1-D, got shape ", dimsToString(desc.dims));
}

int64_t shapeVectorLength(const TensorDesc& desc, size_t index, const char* what) {
  requireShapeVector(desc, index, what);
  if (desc.dims[0] < 0)
    fail(ErrorCode::UnsupportedOp, "input ", index, " (", what,
         ") has an unknown length, which the output rank depends on");
  return desc.dims[0];
}

void requireOneElement(const TensorDesc& desc, size_t index, const char* what) {
  const bool scalar = desc.dims.empty() || (desc.dims.size() == 1 && (desc.dims[0] == 1 || desc.dims[0] == kDynamic));
  if (!scalar)
    fail(ErrorCode::ShapeMismatch, "input ", index, " (", what, ") must hold one element (shape [] or [1]), got ",
         dimsToString(desc.dims));
}

void requireAllocatable(DType dtype, const Dims& dims, const char* what) {
  if (!isStatic(dims)) return;
  if (volume(dims) > kMaxElements)  // volume() itself throws on int64 overflow
    fail(ErrorCode::InvalidArgument, what, " of shape ", dimsToString(dims), " (", dtypeName(dtype),
         ") has too many elements");
}

Dims reshapeDims(const Dims& in, const std::vector<int64_t>& shape, bool allowZero) {
  Dims out(shape.size());
  int inferAt = -1;
  bool hasZero = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    const int64_t v = shape[i];
    if (v < -1) fail(ErrorCode::InvalidArgument, "shape[", i, "] = ", v, " is invalid (must be >= -1)");
    if (v == -1) {
      if (inferAt >= 0) fail(ErrorCode::InvalidArgument, "shape has more than one -1 (at ", inferAt, " and ", i, ")");
      inferAt = static_cast<int>(i);
    } else if (v == 0 && !allowZero) {
      if (i >= in.size())
        fail(ErrorCode::InvalidArgument, "shape[", i, "] = 0 copies input dim ", i, " but the input ",
             dimsToString(in), " has rank ", in.size());
      out[i] = in[i];
    } else {
      hasZero = hasZero || v == 0;
      out[i] = v;
    }
  }
  if (allowZero && hasZero && inferAt >= 0)
    fail(ErrorCode::InvalidArgument, "shape ", dimsToString(shape), " holds both 0 and -1 with allowzero=1");

  // Input volume as (known factor) x (unknown dims by position); unknown dims copied by 0 cancel out.
  int64_t inKnown = 1;
  std::vector<bool> unknownIn(in.size(), false);
  bool inZero = false;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] < 0) unknownIn[i] = true;
    else if (in[i] == 0) inZero = true;
    else inKnown = checkedMul(inKnown, in[i], in);
  }
  int64_t outKnown = 1;
  bool outZero = false, uncancelled = false;
  for (size_t i = 0; i < out.size(); ++i) {
    if (static_cast<int>(i) == inferAt) continue;
    if (out[i] < 0) {  // copied unknown dim
      unknownIn[i] = false;
      continue;
    }
    if (out[i] == 0) outZero = true;
    else outKnown = checkedMul(outKnown, out[i], shape);
  }
  for (bool u : unknownIn) uncancelled = uncancelled || u;
  if (inferAt >= 0) {
    if (outZero)
      fail(ErrorCode::InvalidArgument, "cannot infer the -1 of shape ", dimsToString(shape),
           " when another output dim is 0");
    if (inZero) {
      out[inferAt] = 0;
    } else if (uncancelled) {
      out[inferAt] = kDynamic;
    } else {
      if (inKnown % outKnown != 0)
        fail(ErrorCode::ShapeMismatch, "cannot reshape ", dimsToString(in), " to ", dimsToString(shape),
             ": the element count is not divisible by ", outKnown);
      out[inferAt] = inKnown / outKnown;
    }
  } else if (isStatic(in) && isStatic(out) && volume(in) != volume(out)) {
    fail(ErrorCode::ShapeMismatch, "cannot reshape ", dimsToString(in), " (", volume(in), " elements) to ",
         dimsToString(out), " (", volume(out), " elements)");
  }
  return out;
}

Dims squeezeDims(const Dims& in, const std::vector<int64_t>& axes, bool hasAxes) {
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<bool> drop(in.size(), false);
  if (hasAxes) {
    for (int64_t a : normalizeAxes(axes, rank, "squeeze axis")) {
      if (in[a] != 1 && in[a] != kDynamic)
        fail(ErrorCode::ShapeMismatch, "cannot squeeze axis ", a, " of ", dimsToString(in), ": its size is ", in[a]);
      drop[a] = true;
    }
  } else {
    for (size_t i = 0; i < in.size(); ++i) {
      if (in[i] == kDynamic)
        fail(ErrorCode::UnsupportedOp, "Squeeze without axes needs known dims (the output rank depends on them), got ",
             dimsToString(in), "; give the axes");
      drop[i] = in[i] == 1;
    }
  }
  Dims out;
  for (size_t i = 0; i < in.size(); ++i)
    if (!drop[i]) out.push_back(in[i]);
  return out;
}

Dims unsqueezeDims(const Dims& in, const std::vector<int64_t>& axes) {
  if (axes.empty()) fail(ErrorCode::InvalidArgument, "Unsqueeze needs at least one axis (attribute 'axes')");
  const int64_t outRank = static_cast<int64_t>(in.size() + axes.size());
  std::vector<bool> inserted(static_cast<size_t>(outRank), false);
  for (int64_t a : normalizeAxes(axes, outRank, "unsqueeze axis")) inserted[a] = true;
  Dims out;
  size_t next = 0;
  for (int64_t i = 0; i < outRank; ++i) out.push_back(inserted[i] ? 1 : in[next++]);
  return out;
}

Dims flattenDims(const Dims& in, int64_t axis) {
  const int64_t rank = static_cast<int64_t>(in.size());
  if (axis < -rank || axis > rank)
    fail(ErrorCode::InvalidArgument, "axis ", axis, " is out of range [", -rank, ", ", rank, "] for shape ",
         dimsToString(in));
  const size_t a = static_cast<size_t>(axis < 0 ? axis + rank : axis);
  return {dimsProduct(in, 0, a), dimsProduct(in, a, in.size())};
}

std::vector<int64_t> transposePerm(const Attributes& attrs, int64_t rank) {
  std::vector<int64_t> perm = attrs.getInts("perm", {});
  if (perm.empty() && rank > 0) {
    for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
    return perm;
  }
  if (static_cast<int64_t>(perm.size()) != rank)
    fail(ErrorCode::InvalidArgument, "perm ", dimsToString(perm), " has ", perm.size(), " entries for rank ", rank);
  return normalizeAxes(perm, rank, "perm entry");
}

void shapeRange(const Attributes& attrs, int64_t rank, int64_t* start, int64_t* end) {
  auto clampIndex = [rank](int64_t v) {
    if (v < 0) v = v < -rank ? 0 : v + rank;
    return std::min(v, rank);
  };
  *start = clampIndex(attrs.getInt("start", 0));
  *end = std::max(*start, clampIndex(attrs.getInt("end", rank)));
}

Dims expandDims(const Dims& in, const std::vector<int64_t>& shape) {
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] < 0) fail(ErrorCode::InvalidArgument, "Expand shape[", i, "] = ", shape[i], " must be >= 0");
  try {
    return broadcastDims(in, shape);
  } catch (const Error&) {
    fail(ErrorCode::ShapeMismatch, "cannot expand ", dimsToString(in), " to ", dimsToString(shape));
  }
}

Dims tileDims(const Dims& in, const std::vector<int64_t>& repeats) {
  if (repeats.size() != in.size())
    fail(ErrorCode::InvalidArgument, "repeats has ", repeats.size(), " values for input rank ", in.size());
  Dims out(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (repeats[i] < 0) fail(ErrorCode::InvalidArgument, "repeats[", i, "] = ", repeats[i], " must be >= 0");
    if (in[i] > 0 && repeats[i] > kInt64Max / in[i])
      fail(ErrorCode::InvalidArgument, "repeats[", i, "] = ", repeats[i], " overflows dim ", in[i]);
    out[i] = in[i] == 0 || repeats[i] == 0 ? 0 : dimProduct(in[i], repeats[i]);
  }
  return out;
}

std::vector<int64_t> sliceAxes(const std::vector<int64_t>* axes, size_t numStarts, int64_t rank) {
  if (!axes) {
    if (static_cast<int64_t>(numStarts) > rank)
      fail(ErrorCode::InvalidArgument, "starts has ", numStarts, " values for input rank ", rank);
    std::vector<int64_t> all(numStarts);
    for (size_t i = 0; i < numStarts; ++i) all[i] = static_cast<int64_t>(i);
    return all;
  }
  if (axes->size() != numStarts)
    fail(ErrorCode::InvalidArgument, "axes has ", axes->size(), " values but starts has ", numStarts);
  return normalizeAxes(*axes, rank, "slice axis");
}

SliceGeometry sliceGeometry(const Dims& in, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
                            const std::vector<int64_t>* axesIn, const std::vector<int64_t>* steps) {
  const int64_t rank = static_cast<int64_t>(in.size());
  if (ends.size() != starts.size())
    fail(ErrorCode::InvalidArgument, "starts has ", starts.size(), " values but ends has ", ends.size());
  if (steps && steps->size() != starts.size())
    fail(ErrorCode::InvalidArgument, "steps has ", steps->size(), " values but starts has ", starts.size());
  const std::vector<int64_t> axes = sliceAxes(axesIn, starts.size(), rank);
  SliceGeometry g;
  g.start.assign(in.size(), 0);
  g.step.assign(in.size(), 1);
  g.count = in;
  for (size_t k = 0; k < axes.size(); ++k) {
    const size_t a = static_cast<size_t>(axes[k]);
    const int64_t step = steps ? (*steps)[k] : 1;
    if (step == 0) fail(ErrorCode::InvalidArgument, "steps[", k, "] is 0");
    const int64_t n = in[a];
    if (n < 0) {
      g.count[a] = kDynamic;
      continue;
    }
    int64_t s = starts[k], e = ends[k];
    if (s < 0) s += n;  // cannot overflow: n >= 0
    if (e < 0) e += n;
    int64_t range;
    if (n == 0) {
      s = 0;
      range = 0;
    } else if (step > 0) {
      s = std::clamp<int64_t>(s, 0, n);
      e = std::clamp<int64_t>(e, 0, n);
      range = e - s;
    } else {
      s = std::clamp<int64_t>(s, 0, n - 1);
      e = std::clamp<int64_t>(e, -1, n - 1);
      range = s - e;
    }
    // |step| without overflow for INT64_MIN (any magnitude beyond n takes one element).
    const int64_t stepAbs = step > 0 ? step : (step == std::numeric_limits<int64_t>::min() ? kInt64Max : -step);
    const int64_t count = range > 0 ? (range - 1) / stepAbs + 1 : 0;
    g.start[a] = count > 0 ? s : 0;
    g.step[a] = count > 1 ? step : 1;  // a step is only walked when there are two or more elements
    g.count[a] = count;
  }
  return g;
}

std::vector<int64_t> splitSizes(int64_t dim, const std::vector<int64_t>* split, size_t numOutputs) {
  if (numOutputs == 0) fail(ErrorCode::InvalidModel, "Split needs at least one output");
  if (split) {
    if (split->size() != numOutputs)
      fail(ErrorCode::InvalidArgument, "split has ", split->size(), " sizes for ", numOutputs, " outputs");
    int64_t sum = 0;
    for (size_t i = 0; i < split->size(); ++i) {
      const int64_t s = (*split)[i];
      if (s < 0) fail(ErrorCode::InvalidArgument, "split[", i, "] = ", s, " must be >= 0");
      if (s > kInt64Max - sum) fail(ErrorCode::InvalidArgument, "split sizes overflow");
      sum += s;
    }
    if (dim >= 0 && sum != dim)
      fail(ErrorCode::ShapeMismatch, "split sizes ", dimsToString(*split), " sum to ", sum, " but the axis has ", dim);
    return *split;
  }
  if (dim < 0) return std::vector<int64_t>(numOutputs, kDynamic);
  const int64_t n = static_cast<int64_t>(numOutputs);
  const int64_t chunk = dim / n + (dim % n != 0);
  std::vector<int64_t> sizes(numOutputs, chunk);
  const int64_t last = dim - chunk * (n - 1);
  if (last < 0)
    fail(ErrorCode::InvalidArgument, "cannot split an axis of ", dim, " into ", n, " parts of ", chunk,
         " (the last part would be negative)");
  sizes.back() = last;
  return sizes;
}

PadGeometry padGeometry(int64_t rank, const std::vector<int64_t>& pads, const std::vector<int64_t>* axesIn) {
  std::vector<int64_t> axes;
  if (axesIn) {
    axes = normalizeAxes(*axesIn, rank, "pad axis");
  } else {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  if (pads.size() != 2 * axes.size())
    fail(ErrorCode::InvalidArgument, "pads has ", pads.size(), " values, expected ", 2 * axes.size(),
         " (begin and end for ",
         axes.size(), " axes)");
  PadGeometry g;
  g.begin.assign(static_cast<size_t>(rank), 0);
  g.end.assign(static_cast<size_t>(rank), 0);
  for (size_t k = 0; k < axes.size(); ++k) {
    g.begin[axes[k]] = pads[k];
    g.end[axes[k]] = pads[k + axes.size()];
  }
  return g;
}

Dims paddedDims(const Dims& in, const PadGeometry& pads, bool replicates) {
  Dims out(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] < 0) {
      out[i] = kDynamic;
      continue;
    }
    const int64_t b = pads.begin[i], e = pads.end[i];
    const int64_t limit = kInt64Max / 4;  // pads beyond this are nonsense and would overflow the sum
    if (b > limit || b < -limit || e > limit || e < -limit)
      fail(ErrorCode::InvalidArgument, "pads ", b, "/", e, " of axis ", i, " are out of range");
    out[i] = dimSum(in[i] + std::min<int64_t>(b, 0) + std::min<int64_t>(e, 0), std::max<int64_t>(b, 0) + std::max<int64_t>(e, 0));
    const int64_t kept = in[i] + std::min<int64_t>(b, 0) + std::min<int64_t>(e, 0);
    if (kept < 0)
      fail(ErrorCode::ShapeMismatch, "pads ", b, "/", e, " crop axis ", i, " of size ", in[i], " below zero");
    if (replicates && kept == 0 && out[i] > 0)
      fail(ErrorCode::InvalidArgument, "cannot pad axis ", i,
           " in reflect/edge mode: no input elements are left (size ",
           in[i], ", pads ", b, "/", e, ")");
  }
  return out;
}

int64_t rangeLengthInt(int64_t start, int64_t limit, int64_t delta) {
  if (delta == 0) fail(ErrorCode::InvalidArgument, "Range delta is 0");
  // Unsigned differences are exact for any int64 pair ordered the right way.
  uint64_t span, step;
  if (delta > 0) {
    if (limit <= start) return 0;
    span = static_cast<uint64_t>(limit) - static_cast<uint64_t>(start);
    step = static_cast<uint64_t>(delta);
  } else {
    if (limit >= start) return 0;
    span = static_cast<uint64_t>(start) - static_cast<uint64_t>(limit);
    step = static_cast<uint64_t>(-(delta + 1)) + 1;
  }
  const uint64_t n = (span - 1) / step + 1;
  if (n > static_cast<uint64_t>(kMaxElements))
    fail(ErrorCode::InvalidArgument, "Range (", start, ", ", limit, ", ", delta, ") has ", n, " elements, too many");
  return static_cast<int64_t>(n);
}

int64_t rangeLengthFloat(float start, float limit, float delta) {
  if (delta == 0) fail(ErrorCode::InvalidArgument, "Range delta is 0");
  // The difference in float32 (float16 inputs are exact there), the division in double.
  const double n = std::ceil(static_cast<double>(limit - start) / static_cast<double>(delta));
  if (std::isnan(n)) fail(ErrorCode::InvalidArgument, "Range length of (", start, ", ", limit, ", ", delta, ") is NaN");
  if (n <= 0) return 0;
  if (n > static_cast<double>(kMaxElements))
    fail(ErrorCode::InvalidArgument, "Range (", start, ", ", limit, ", ", delta, ") has too many elements");
  return static_cast<int64_t>(n);
}

}  // namespace inferrt
