// Small helpers shared by shape rules (native/ir/ops/*.cc): input access, dtype and rank checks, axis lists,
// and reading int values that may or may not be known at build time. Header-only (inline).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "ir/attributes.h"
#include "ir/dims.h"
#include "ir/dtype.h"
#include "ir/error.h"
#include "ir/op_registry.h"
#include "ir/tensor.h"

namespace inferrt {

inline TensorDesc makeDesc(DType dtype, Dims dims) {
  TensorDesc d;
  d.dtype = dtype;
  d.dims = std::move(dims);
  return d;
}

// True when optional input `i` was given.
// A scale attribute the builder's INT8 passes set (output_scale, residual_scale): a finite float32 > 0
// (InvalidArgument otherwise).
inline void requireScaleAttribute(const Layer& layer, const char* name) {
  const double s = layer.attrs.getFloat(name);
  if (!(s > 0) || !std::isfinite(s) || static_cast<double>(static_cast<float>(s)) != s)
    fail(ErrorCode::InvalidArgument, "attribute '", name, "' must be a finite float32 > 0, got ", s);
}

inline bool hasInput(const std::vector<TensorDesc>& inputs, size_t i) {
  return i < inputs.size() && inputs[i].present;
}

// Comma-separated dtype names, for messages ("float32, float16").
inline std::string dtypeList(std::initializer_list<DType> allowed) {
  std::string s;
  for (DType t : allowed) s += (s.empty() ? "" : ", ") + std::string(dtypeName(t));
  return s;
}

// Throws DTypeMismatch naming the input index when `desc` is not one of `allowed`.
inline void requireDType(const TensorDesc& desc, size_t index, std::initializer_list<DType> allowed) {
  if (std::find(allowed.begin(), allowed.end(), desc.dtype) == allowed.end())
    fail(ErrorCode::DTypeMismatch, "input ", index, " has dtype ", dtypeName(desc.dtype), ", expected one of ",
         dtypeList(allowed));
}

// Throws DTypeMismatch when inputs i and j differ in dtype.
inline void requireSameDType(const std::vector<TensorDesc>& inputs, size_t i, size_t j) {
  if (inputs[i].dtype != inputs[j].dtype)
    fail(ErrorCode::DTypeMismatch, "input ", j, " has dtype ", dtypeName(inputs[j].dtype), " but input ", i,
         " has dtype ", dtypeName(inputs[i].dtype), "; they must match");
}

// Throws ShapeMismatch naming the input when its rank is outside [lo, hi] (hi < 0: no upper bound).
inline void requireRank(const TensorDesc& desc, size_t index, int64_t lo, int64_t hi = -1) {
  const int64_t r = static_cast<int64_t>(desc.dims.size());
  if (r < lo || (hi >= 0 && r > hi)) {
    if (lo == hi) fail(ErrorCode::ShapeMismatch, "input ", index, " must have rank ", lo, ", got shape ",
                       dimsToString(desc.dims));
    fail(ErrorCode::ShapeMismatch, "input ", index, " must have rank ", lo, hi < 0 ? " or more" : " to ",
         hi < 0 ? std::string() : std::to_string(hi), ", got shape ", dimsToString(desc.dims));
  }
}

// Normalizes each axis against `rank` and rejects duplicates (InvalidArgument naming `what`). Keeps order.
inline std::vector<int64_t> normalizeAxes(const std::vector<int64_t>& axes, int64_t rank, const char* what) {
  std::vector<int64_t> out;
  out.reserve(axes.size());
  for (int64_t a : axes) {
    int64_t n = normalizeAxis(a, rank, what);
    if (std::find(out.begin(), out.end(), n) != out.end())
      fail(ErrorCode::InvalidArgument, what, " ", a, " appears more than once");
    out.push_back(n);
  }
  return out;
}

// The int values of an input when known (build-time constant or run time), else false. Float inputs throw
// DTypeMismatch naming `what`.
inline bool knownInts(const TensorDesc& desc, const char* what, std::vector<int64_t>* out) {
  if (!desc.present || !desc.value) return false;
  *out = readInts(*desc.value, what);
  return true;
}

// Dim arithmetic that keeps kDynamic unknown: a dynamic operand makes the result dynamic.
inline int64_t dimProduct(int64_t a, int64_t b) { return a < 0 || b < 0 ? kDynamic : a * b; }

// Product of dims [begin, end), kDynamic if any is unknown (0 if any known dim is 0).
inline int64_t dimsProduct(const Dims& d, size_t begin, size_t end) {
  int64_t p = 1;
  bool dynamic = false;
  for (size_t i = begin; i < end && i < d.size(); ++i) {
    if (d[i] == 0) return 0;
    if (d[i] < 0) {
      dynamic = true;
    } else {
      // Declared dims may be anything up to INT64_MAX; a wrapped product would become a bogus dim.
      if (p > std::numeric_limits<int64_t>::max() / d[i])
        fail(ErrorCode::InvalidArgument, "shape ", dimsToString(d), " has too many elements");
      p *= d[i];
    }
  }
  return dynamic ? kDynamic : p;
}

// a + b for known dims (>= 0); throws instead of overflowing.
inline int64_t dimSum(int64_t a, int64_t b) {
  if (a > std::numeric_limits<int64_t>::max() - b)
    fail(ErrorCode::InvalidArgument, "dims ", a, " + ", b, " overflow int64 (too many elements)");
  return a + b;
}

// Merges two views of the same dim (e.g. the K of a matmul): equal, or one unknown. Throws ShapeMismatch
// naming `what` when both are known and differ.
inline int64_t unifyDim(int64_t a, int64_t b, const char* what) {
  if (a < 0) return b;
  if (b < 0 || a == b) return a;
  fail(ErrorCode::ShapeMismatch, what, ": ", a, " vs ", b);
}

// Which dims a Reduce layer reduces, from its axes (attribute or input values): `reduced[d]` per input dim;
// `noop` when the axes are empty and noop_with_empty_axes is set (the output is the input). Empty axes
// otherwise mean all dims.
struct ReduceAxes {
  bool noop = false;
  std::vector<bool> reduced;
};
inline ReduceAxes resolveReduceAxes(const std::vector<int64_t>& axes, int64_t rank, bool noopWithEmptyAxes) {
  ReduceAxes r;
  r.reduced.assign(static_cast<size_t>(rank), axes.empty());
  if (axes.empty()) {
    r.noop = noopWithEmptyAxes;
    if (r.noop) r.reduced.assign(static_cast<size_t>(rank), false);
    return r;
  }
  for (int64_t a : normalizeAxes(axes, rank, "reduce axis")) r.reduced[static_cast<size_t>(a)] = true;
  return r;
}

// Sliding-window geometry of Convolution / Pooling per spatial dim, with auto_pad resolved. Where an input
// dim is unknown (build time) its output is kDynamic and SAME pads are left 0.
struct SpatialWindow {
  std::vector<int64_t> kernel, strides, dilations, padBegin, padEnd, output;
};

inline int64_t floorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
inline int64_t ceilDiv(int64_t a, int64_t b) { return -floorDiv(-a, b); }

// Reads strides / dilations / pads / auto_pad for `kernel` over the spatial dims `input`. `ceilMode` (pooling)
// rounds the output up, dropping a last window that would start inside the end padding (PyTorch / ONNX rule).
inline SpatialWindow resolveWindow(const Attributes& attrs, const Dims& input, const Dims& kernel, bool ceilMode) {
  const size_t n = input.size();
  SpatialWindow w;
  w.kernel = kernel;
  w.strides = attrs.getInts("strides", std::vector<int64_t>(n, 1));
  w.dilations = attrs.getInts("dilations", std::vector<int64_t>(n, 1));
  std::vector<int64_t> pads = attrs.getInts("pads", std::vector<int64_t>(2 * n, 0));
  // ONNX exporters write empty lists for "default".
  if (w.strides.empty()) w.strides.assign(n, 1);
  if (w.dilations.empty()) w.dilations.assign(n, 1);
  if (pads.empty()) pads.assign(2 * n, 0);
  if (w.strides.size() != n || w.dilations.size() != n || pads.size() != 2 * n)
    fail(ErrorCode::InvalidArgument, "strides/dilations need ", n, " values and pads ", 2 * n, " for ", n,
         " spatial dims, got ", w.strides.size(), "/", w.dilations.size(), "/", pads.size());
  const std::string autoPad = attrs.getString("auto_pad", "NOTSET");
  if (autoPad != "NOTSET" && autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER" && autoPad != "VALID")
    fail(ErrorCode::InvalidArgument, "auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got '", autoPad, "'");
  w.padBegin.assign(pads.begin(), pads.begin() + n);
  w.padEnd.assign(pads.begin() + n, pads.end());
  w.output.assign(n, kDynamic);
  for (size_t i = 0; i < n; ++i) {
    if (w.strides[i] < 1 || w.dilations[i] < 1 || w.kernel[i] == 0 || w.kernel[i] < kDynamic ||
        w.padBegin[i] < 0 || w.padEnd[i] < 0)
      fail(ErrorCode::InvalidArgument, "spatial dim ", i, ": kernel ", w.kernel[i], ", stride ", w.strides[i],
           ", dilation ", w.dilations[i], " must be >= 1 and pads ", w.padBegin[i], "/", w.padEnd[i], " >= 0");
    if (autoPad == "VALID") w.padBegin[i] = w.padEnd[i] = 0;
    if (input[i] < 0 || w.kernel[i] < 0) continue;  // unknown until run time
    const int64_t extent = (w.kernel[i] - 1) * w.dilations[i] + 1;
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      w.output[i] = ceilDiv(input[i], w.strides[i]);
      const int64_t total = std::max<int64_t>(0, (w.output[i] - 1) * w.strides[i] + extent - input[i]);
      w.padBegin[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w.padEnd[i] = total - w.padBegin[i];
      continue;
    }
    const int64_t span = input[i] + w.padBegin[i] + w.padEnd[i] - extent;
    if (span < 0)
      fail(ErrorCode::ShapeMismatch, "spatial dim ", i, ": window extent ", extent, " exceeds the padded input ",
           input[i] + w.padBegin[i] + w.padEnd[i]);
    int64_t out = (ceilMode ? ceilDiv(span, w.strides[i]) : span / w.strides[i]) + 1;
    if (ceilMode && (out - 1) * w.strides[i] >= input[i] + w.padBegin[i]) --out;
    w.output[i] = out;
  }
  return w;
}

// The window of a Pooling layer over the spatial dims `spatial`: global modes cover everything in one window
// with no padding; the others read kernel_shape, ceil_mode and the resolveWindow attributes.
inline SpatialWindow poolingWindow(const Attributes& attrs, const Dims& spatial, bool global) {
  if (!global) return resolveWindow(attrs, spatial, attrs.getInts("kernel_shape"), attrs.getInt("ceil_mode", 0) == 1);
  SpatialWindow w;
  w.kernel = spatial;
  w.strides = w.dilations = w.output = std::vector<int64_t>(spatial.size(), 1);
  w.padBegin = w.padEnd = std::vector<int64_t>(spatial.size(), 0);
  return w;
}

}  // namespace inferrt
