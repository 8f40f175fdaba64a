// CPU kernels of the reduction family: Reduce, ArgMinMax, Softmax, CumSum.
// Float reductions accumulate in double and round once; integer sums/products wrap in int64 and are cast
// back (numpy semantics). Empty reductions give the identity (sum 0, prod 1, max -inf, min +inf, mean NaN).
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "backend/cpu/broadcast.h"
#include "backend/cpu/kernel_registry.h"
#include "backend/cpu/math_common.h"
#include "ir/ops/shape_helpers.h"

namespace inferrt {

namespace {

enum class ReduceOp { Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare };

ReduceOp parseReduceOp(const std::string& op) {
  static const struct { const char* name; ReduceOp op; } kTable[] = {
      {"sum", ReduceOp::Sum}, {"mean", ReduceOp::Mean}, {"max", ReduceOp::Max},
      {"min", ReduceOp::Min}, {"prod", ReduceOp::Prod}, {"l1", ReduceOp::L1},
      {"l2", ReduceOp::L2},   {"log_sum", ReduceOp::LogSum}, {"log_sum_exp", ReduceOp::LogSumExp},
      {"sum_square", ReduceOp::SumSquare},
  };
  for (const auto& e : kTable)
    if (op == e.name) return e.op;
  fail(ErrorCode::InvalidArgument, "unknown Reduce op '", op, "'");
}

// The input walked in row-major order with, for each element, the index of the output it reduces into
// (the keepdims output shape broadcast against the input).
template <typename Fn>
void forEachReduced(const Dims& inDims, const Dims& keepDims, Fn fn) {
  BroadcastWalker walk(inDims, {keepDims});
  walk.forEach([&](int64_t i, const int64_t* off) { fn(i, off[0]); });
}

// Reduces doubles (float inputs, or integer inputs for the ops whose result is not an integer sum).
std::vector<double> reduceDoubles(ReduceOp op, const std::vector<double>& x, const Dims& inDims,
                                  const Dims& keepDims, int64_t outN) {
  const double inf = std::numeric_limits<double>::infinity();
  const double init = op == ReduceOp::Prod ? 1.0 : op == ReduceOp::Max ? -inf : op == ReduceOp::Min ? inf : 0.0;
  std::vector<double> acc(outN, init);
  std::vector<double> shift;  // log_sum_exp subtracts the max for stability
  if (op == ReduceOp::LogSumExp) {
    shift.assign(outN, -inf);
    forEachReduced(inDims, keepDims, [&](int64_t i, int64_t o) {
      if (x[i] > shift[o] || std::isnan(x[i])) shift[o] = std::isnan(shift[o]) ? shift[o] : x[i];
    });
  }
  forEachReduced(inDims, keepDims, [&](int64_t i, int64_t o) {
    const double v = x[i];
    double& a = acc[o];
    switch (op) {
      case ReduceOp::Sum: case ReduceOp::Mean: case ReduceOp::LogSum: a += v; break;
      case ReduceOp::Max: if (v > a || std::isnan(v)) a = std::isnan(a) ? a : v; break;
      case ReduceOp::Min: if (v < a || std::isnan(v)) a = std::isnan(a) ? a : v; break;
      case ReduceOp::Prod: a *= v; break;
      case ReduceOp::L1: a += std::fabs(v); break;
      case ReduceOp::L2: case ReduceOp::SumSquare: a += v * v; break;
      case ReduceOp::LogSumExp: a += std::isinf(shift[o]) ? std::exp(v) : std::exp(v - shift[o]); break;
    }
  });
  const double count = outN ? static_cast<double>(volume(inDims) / outN) : 0.0;
  for (int64_t o = 0; o < outN; ++o) {
    double& a = acc[o];
    if (op == ReduceOp::Mean) a /= count;
    else if (op == ReduceOp::L2) a = std::sqrt(a);
    else if (op == ReduceOp::LogSum) a = std::log(a);
    else if (op == ReduceOp::LogSumExp) a = std::log(a) + (std::isinf(shift[o]) ? 0.0 : shift[o]);
  }
  return acc;
}

// Integer sums, products, extremes and means: exact int64 arithmetic that wraps like numpy's.
template <typename T>
void reduceInts(ReduceOp op, const Tensor& x, const Dims& keepDims, Tensor& out) {
  const T* px = x.data<T>();
  const int64_t outN = out.numel();
  int64_t init = 0;
  if (op == ReduceOp::Prod) init = 1;
  if (op == ReduceOp::Max) init = std::numeric_limits<T>::lowest();
  if (op == ReduceOp::Min) init = std::numeric_limits<T>::max();
  std::vector<int64_t> acc(outN, init);
  forEachReduced(x.dims(), keepDims, [&](int64_t i, int64_t o) {
    const int64_t v = px[i];
    int64_t& a = acc[o];
    switch (op) {
      case ReduceOp::Sum: case ReduceOp::Mean: a = wrapAdd(a, v); break;
      case ReduceOp::Max: a = v > a ? v : a; break;
      case ReduceOp::Min: a = v < a ? v : a; break;
      case ReduceOp::Prod: a = wrapMul(a, v); break;
      case ReduceOp::L1: a = wrapAdd(a, v < 0 ? wrapNeg(v) : v); break;
      case ReduceOp::SumSquare: a = wrapAdd(a, wrapMul(v, v)); break;
      default: fail(ErrorCode::Internal, "reduceInts op");
    }
  });
  const int64_t count = outN ? x.numel() / outN : 0;
  T* po = out.data<T>();
  for (int64_t o = 0; o < outN; ++o)
    po[o] = static_cast<T>(op == ReduceOp::Mean ? (count ? acc[o] / count : 0) : acc[o]);
}

void runReduce(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  const ReduceOp op = parseReduceOp(layer.attrs.getString("op"));
  const Tensor& x = *inputs[0];
  Tensor& out = outputs[0];
  const bool hasAxesInput = inputs.size() > 1 && inputs[1];
  const std::vector<int64_t> axes =
      hasAxesInput ? readInts(*inputs[1], "Reduce axes (input 1)") : layer.attrs.getInts("axes", {});
  const ReduceAxes plan = resolveReduceAxes(axes, x.rank(), layer.attrs.getInt("noop_with_empty_axes", 0) != 0);
  Dims keepDims = x.dims();
  for (size_t d = 0; d < keepDims.size(); ++d)
    if (plan.reduced[d]) keepDims[d] = 1;
  if (out.numel() != volume(keepDims) || out.dtype() != x.dtype())
    fail(ErrorCode::ShapeMismatch, "Reduce output ", dimsToString(out.dims()), " does not match input ",
         dimsToString(x.dims()));
  if (plan.noop) {
    if (x.byteSize()) std::memcpy(out.raw(), x.raw(), x.byteSize());
    return;
  }
  const bool viaDoubles = isFloat(x.dtype()) || op == ReduceOp::L2 || op == ReduceOp::LogSum ||
                          op == ReduceOp::LogSumExp;
  if (!viaDoubles) {
    dispatchInteger(x.dtype(), "Reduce",
                    [&](auto tag) { reduceInts<typename decltype(tag)::type>(op, x, keepDims, out); });
    return;
  }
  std::vector<double> xd(x.numel());
  if (isFloat(x.dtype())) {
    const Tensor x32 = toFloat32(x);
    for (int64_t i = 0; i < x.numel(); ++i) xd[i] = x32.data<float>()[i];
  } else {
    for (int64_t i = 0; i < x.numel(); ++i) xd[i] = x.getDouble(i);
  }
  const std::vector<double> r = reduceDoubles(op, xd, x.dims(), keepDims, out.numel());
  if (isFloat(x.dtype())) {
    FloatOutput o(out);
    for (int64_t i = 0; i < out.numel(); ++i) o.data()[i] = static_cast<float>(r[i]);
    o.commit();
    return;
  }
  dispatchInteger(x.dtype(), "Reduce", [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (int64_t i = 0; i < out.numel(); ++i) out.data<T>()[i] = saturateCast<T>(r[i]);
  });
}

// Splits dims around `axis` into [outer, n, inner] (row-major).
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};
AxisSplit splitAt(const Dims& dims, int64_t axis) {
  AxisSplit s;
  for (int64_t d = 0; d < static_cast<int64_t>(dims.size()); ++d) {
    if (d < axis) s.outer *= dims[d];
    else if (d == axis) s.n = dims[d];
    else s.inner *= dims[d];
  }
  return s;
}

template <typename T>
void argMinMax(const T* x, const AxisSplit& s, bool isMax, bool last, int64_t* out) {
  for (int64_t o = 0; o < s.outer; ++o) {
    for (int64_t in = 0; in < s.inner; ++in) {
      const T* p = x + o * s.n * s.inner + in;
      int64_t best = 0;
      for (int64_t k = 1; k < s.n; ++k) {
        const T v = p[k * s.inner], b = p[best * s.inner];
        if (b != b) {  // NaN wins, as in numpy: keep the first (or the last, with select_last_index)
          if (last && v != v) best = k;
          continue;
        }
        if (v != v || (isMax ? v > b : v < b) || (last && v == b)) best = k;
      }
      out[o * s.inner + in] = best;
    }
  }
}

void runArgMinMax(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  const Tensor& x = *inputs[0];
  Tensor& out = outputs[0];
  const bool isMax = layer.attrs.getString("op") == "argmax";
  const bool last = layer.attrs.getInt("select_last_index", 0) != 0;
  const int64_t axis = normalizeAxis(layer.attrs.getInt("axis", 0), x.rank(), "axis");
  const AxisSplit s = splitAt(x.dims(), axis);
  if (out.dtype() != DType::Int64 || out.numel() != s.outer * s.inner)
    fail(ErrorCode::ShapeMismatch, "ArgMinMax output ", dimsToString(out.dims()), " does not match input ",
         dimsToString(x.dims()));
  if (s.n == 0 && out.numel() > 0) fail(ErrorCode::InvalidArgument, "ArgMinMax over an axis of size 0");
  if (isFloat(x.dtype())) {
    const Tensor x32 = toFloat32(x);
    return argMinMax(x32.data<float>(), s, isMax, last, out.data<int64_t>());
  }
  dispatchInteger(x.dtype(), "ArgMinMax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    argMinMax(x.data<T>(), s, isMax, last, out.data<int64_t>());
  });
}

void runSoftmax(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  const Tensor& x = *inputs[0];
  Tensor& out = outputs[0];
  requireKernelOutput(out, x.dtype(), x.dims(), "Softmax output");
  const bool logMode = layer.attrs.getInt("log", 0) != 0;
  const AxisSplit s = splitAt(x.dims(), normalizeAxis(layer.attrs.getInt("axis", -1), x.rank(), "axis"));
  Tensor x32 = toFloat32(x);  // may share x's storage: never written
  if (inputs.size() > 1 && inputs[1]) {  // fused additive mask: x + mask in fp32, as the unfused Add computed it
    const Tensor m32 = toFloat32(*inputs[1]);
    const float* pm = m32.data<float>();
    const float* px32 = x32.data<float>();
    Tensor masked(DType::Float32, x.dims());
    float* ps = masked.data<float>();
    BroadcastWalker walk(x.dims(), {m32.dims()});  // throws ShapeMismatch unless the mask broadcasts into x
    walk.forEach([&](int64_t i, const int64_t* off) { ps[i] = px32[i] + pm[off[0]]; });
    x32 = masked;
  }
  const float* px = x32.data<float>();
  FloatOutput o(out);
  float* po = o.data();
  std::vector<double> e(s.n);
  for (int64_t a = 0; a < s.outer; ++a) {
    for (int64_t in = 0; in < s.inner; ++in) {
      const int64_t base = a * s.n * s.inner + in;
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t k = 0; k < s.n; ++k) mx = std::fmax(mx, px[base + k * s.inner]);  // NaN rows stay NaN below
      double sum = 0;
      for (int64_t k = 0; k < s.n; ++k) sum += e[k] = std::exp(px[base + k * s.inner] - mx);
      const double logSum = std::log(sum);
      for (int64_t k = 0; k < s.n; ++k)
        po[base + k * s.inner] = static_cast<float>(logMode ? px[base + k * s.inner] - mx - logSum : e[k] / sum);
    }
  }
  o.commit();
}

template <typename Acc, typename In, typename Out>
void cumSum(const In* x, Out* y, const AxisSplit& s, bool exclusive, bool reverse) {
  for (int64_t a = 0; a < s.outer; ++a) {
    for (int64_t in = 0; in < s.inner; ++in) {
      const int64_t base = a * s.n * s.inner + in;
      Acc acc = 0;
      for (int64_t j = 0; j < s.n; ++j) {
        const int64_t k = base + (reverse ? s.n - 1 - j : j) * s.inner;
        if (exclusive) {
          y[k] = static_cast<Out>(acc);
          acc = acc + static_cast<Acc>(x[k]);
        } else {
          acc = acc + static_cast<Acc>(x[k]);
          y[k] = static_cast<Out>(acc);
        }
      }
    }
  }
}

void runCumSum(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  const Tensor& x = *inputs[0];
  Tensor& out = outputs[0];
  requireKernelOutput(out, x.dtype(), x.dims(), "CumSum output");
  const std::vector<int64_t> axis = readInts(*inputs[1], "CumSum axis (input 1)");
  if (axis.size() != 1) fail(ErrorCode::ShapeMismatch, "CumSum axis (input 1) must hold one value, got ", axis.size());
  const AxisSplit s = splitAt(x.dims(), normalizeAxis(axis[0], x.rank(), "CumSum axis"));
  const bool exclusive = layer.attrs.getInt("exclusive", 0) != 0;
  const bool reverse = layer.attrs.getInt("reverse", 0) != 0;
  if (isFloat(x.dtype())) {
    const Tensor x32 = toFloat32(x);
    FloatOutput o(out);
    cumSum<double>(x32.data<float>(), o.data(), s, exclusive, reverse);
    o.commit();
    return;
  }
  // Integers accumulate in uint64 so overflow wraps instead of being undefined.
  dispatchInteger(x.dtype(), "CumSum", [&](auto tag) {
    using T = typename decltype(tag)::type;
    cumSum<uint64_t>(x.data<T>(), out.data<T>(), s, exclusive, reverse);
  });
}

}  // namespace

void registerReductionKernels() {
  registerCpuKernel({"Reduce", runReduce});
  registerCpuKernel({"ArgMinMax", runArgMinMax});
  registerCpuKernel({"Softmax", runSoftmax});
  registerCpuKernel({"CumSum", runCumSum});
}

}  // namespace inferrt
