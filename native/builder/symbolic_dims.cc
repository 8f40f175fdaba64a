// Symbolic dims: the expression algebra and one rule per modelled layer kind (see symbolic_dims.h).
#include "builder/symbolic_dims.h"

#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <string>

#include "ir/error.h"
#include "ir/ops/movement_geometry.h"

namespace inferrt {

namespace {

constexpr size_t kMaxValueLength = 64;  // longer integer vectors are not shape tensors worth tracking

SymDim constant(int64_t v) {
  SymDim d;
  d.num = v;
  return d;
}

bool isConstant(const SymDim& d, int64_t v) { return d.isStatic() && d.num == v; }

// Sorts the atoms, cancels those found above and below the bar (divisors are never 0: symbolic_dims.h) and
// reduces the integer factor. Null when a factor overflows or the divisor is 0.
std::optional<SymDim> normalized(SymDim d) {
  if (d.den == 0) return std::nullopt;
  if (d.num == 0) return constant(0);
  std::sort(d.up.begin(), d.up.end());
  std::sort(d.down.begin(), d.down.end());
  std::vector<int64_t> up, down;
  std::set_difference(d.up.begin(), d.up.end(), d.down.begin(), d.down.end(), std::back_inserter(up));
  std::set_difference(d.down.begin(), d.down.end(), d.up.begin(), d.up.end(), std::back_inserter(down));
  d.up = std::move(up);
  d.down = std::move(down);
  if (d.den < 0) {
    if (d.num == INT64_MIN || d.den == INT64_MIN) return std::nullopt;
    d.num = -d.num;
    d.den = -d.den;
  }
  const int64_t g = std::gcd(d.num, d.den);
  d.num /= g;
  d.den /= g;
  return d;
}

std::optional<SymDim> multiply(const SymDim& a, const SymDim& b) {
  SymDim r;
  if (__builtin_mul_overflow(a.num, b.num, &r.num) || __builtin_mul_overflow(a.den, b.den, &r.den)) return std::nullopt;
  r.up = a.up;
  r.up.insert(r.up.end(), b.up.begin(), b.up.end());
  r.down = a.down;
  r.down.insert(r.down.end(), b.down.begin(), b.down.end());
  return normalized(std::move(r));
}

std::optional<SymDim> divide(const SymDim& a, const SymDim& b) {
  SymDim inverse;
  inverse.num = b.den;
  inverse.den = b.num;
  inverse.up = b.down;
  inverse.down = b.up;
  return multiply(a, inverse);
}

// Product of dims [begin, end), or null on overflow.
std::optional<SymDim> product(const std::vector<SymDim>& d, size_t begin, size_t end) {
  SymDim p = constant(1);
  for (size_t i = begin; i < end; ++i) {
    const std::optional<SymDim> next = multiply(p, d[i]);
    if (!next) return std::nullopt;
    p = *next;
  }
  return p;
}

bool isIntegerType(DType t) {
  return t == DType::Int64 || t == DType::Int32 || t == DType::Int8 || t == DType::UInt8;
}

// The static integer values of `t` when known and short: a build-time constant or folded shape tensor.
bool staticInts(const std::vector<std::optional<std::vector<SymDim>>>& values, int t, std::vector<int64_t>* out) {
  if (t < 0 || !values[t]) return false;
  out->clear();
  for (const SymDim& d : *values[t]) {
    if (!d.isStatic()) return false;
    out->push_back(d.num);
  }
  return true;
}

}  // namespace

SymbolicDims::SymbolicDims(const std::vector<TensorInfo>& tensors, const std::vector<Layer>& layers)
    : tensors_(tensors), dims_(tensors.size()), values_(tensors.size()) {
  auto settle = [&](int t, Dimv d) {  // static dims known to the shape rules win; values known at build time too
    const TensorInfo& info = tensors_[t];
    if (d.size() != info.dims.size()) d.clear();
    for (size_t a = 0; a < info.dims.size(); ++a) {
      if (d.size() < info.dims.size()) d.push_back(atom(t, a));
      if (info.dims[a] >= 0) d[a] = constant(info.dims[a]);
    }
    dims_[t] = std::move(d);
    if (info.value && isIntegerType(info.value->dtype()) && info.value->rank() <= 1 &&
        info.value->numel() <= static_cast<int64_t>(kMaxValueLength)) {
      Dimv v;
      for (int64_t x : readInts(*info.value, "shape tensor")) v.push_back(constant(x));
      values_[t] = std::move(v);
    }
  };
  for (size_t t = 0; t < tensors_.size(); ++t)
    if (tensors_[t].producer < 0) settle(static_cast<int>(t), {});
  for (const Layer& layer : layers) {
    for (size_t o = 0; o < layer.outputs.size(); ++o) {
      const int t = layer.outputs[o];
      settle(t, outputDims(layer, o));
      const TensorInfo& info = tensors_[t];
      if (!values_[t] && isIntegerType(info.dtype) && info.dims.size() <= 1) {
        std::optional<Dimv> v = outputValue(layer, o);
        if (v && v->size() <= kMaxValueLength) values_[t] = std::move(v);
      }
    }
  }
}

bool SymbolicDims::provablyEqual(int a, int64_t axisA, int b, int64_t axisB) const {
  if (a < 0 || b < 0 || axisA < 0 || axisB < 0) return false;
  const Dimv& da = dims_.at(a);
  const Dimv& db = dims_.at(b);
  if (static_cast<size_t>(axisA) >= da.size() || static_cast<size_t>(axisB) >= db.size()) return false;
  return da[axisA] == db[axisB];
}

SymDim SymbolicDims::atom(int tensor, size_t axis) const {
  SymDim d;
  d.up.push_back((static_cast<int64_t>(tensor) << 20) | static_cast<int64_t>(axis));
  return d;
}

SymbolicDims::Dimv SymbolicDims::outputDims(const Layer& layer, size_t output) const {
  const int out = layer.outputs[output];
  const size_t rank = tensors_[out].dims.size();
  auto input = [&](size_t i) -> const Dimv* {
    return i < layer.inputs.size() && layer.inputs[i] >= 0 ? &dims_[layer.inputs[i]] : nullptr;
  };
  // Numpy broadcast of dims right-aligned: a 1 yields to the other, equal dims stay, anything else is new.
  auto broadcast = [&](const std::vector<const Dimv*>& operands) {
    Dimv r(rank);
    for (size_t a = 0; a < rank; ++a) {
      std::optional<SymDim> d;
      for (const Dimv* op : operands) {
        if (!op || op->size() + a < rank) continue;  // this operand has no dim here
        const SymDim& x = (*op)[op->size() + a - rank];
        if (!d || isConstant(*d, 1)) d = x;
        else if (!isConstant(x, 1) && !(x == *d)) d = atom(out, a);
      }
      r[a] = d ? *d : constant(1);
    }
    return r;
  };
  const std::string& kind = layer.kind;
  const Dimv* x = input(0);
  try {
    if (!x) return {};
    const int64_t inRank = static_cast<int64_t>(x->size());
    if (kind == "Unary" || kind == "Activation" || kind == "Softmax" || kind == "Cast" || kind == "Identity" ||
        kind == "CumSum" || kind == "Trilu" || (kind == "Normalization" && output == 0))
      return *x;
    if (kind == "ElementWise" || kind == "Where") {
      std::vector<const Dimv*> ops;
      for (size_t i = 0; i < layer.inputs.size(); ++i) ops.push_back(input(i));
      return broadcast(ops);
    }
    if (kind == "Transpose") {
      const std::vector<int64_t> perm = transposePerm(layer.attrs, inRank);
      Dimv r;
      for (int64_t p : perm) r.push_back((*x)[p]);
      return r;
    }
    if (kind == "MatMul") {
      const Dimv* y = input(1);
      if (!y || x->size() < 2 || y->size() < 2 || rank < 2) return {};
      Dimv a = *x, b = *y;
      if (layer.attrs.getInt("transA", 0)) std::swap(a[a.size() - 1], a[a.size() - 2]);
      if (layer.attrs.getInt("transB", 0)) std::swap(b[b.size() - 1], b[b.size() - 2]);
      const SymDim m = a[a.size() - 2], n = b.back();
      a[a.size() - 2] = a.back() = b[b.size() - 2] = b.back() = constant(1);  // batch dims stay right-aligned
      Dimv r = broadcast({&a, &b});
      r[rank - 2] = m;
      r[rank - 1] = n;
      return r;
    }
    if (kind == "Reshape") {
      const int shapeTensor = layer.inputs.size() > 1 ? layer.inputs[1] : -1;
      if (shapeTensor < 0 || !values_[shapeTensor] || values_[shapeTensor]->size() != rank) return {};
      const Dimv& shape = *values_[shapeTensor];
      const bool allowZero = layer.attrs.getInt("allowzero", 0) != 0;
      Dimv r(rank);
      size_t inferAt = rank;
      for (size_t i = 0; i < rank; ++i) {
        const SymDim& e = shape[i];
        const bool copies = i < x->size() && !allowZero;  // a 0 here copies input dim i
        if (e.isStatic() && e.num == -1) {
          inferAt = i;
        } else if (e.isStatic() && e.num == 0) {
          if (!allowZero && !copies) return {};
          r[i] = allowZero ? constant(0) : (*x)[i];
        } else if (e.isStatic()) {
          if (e.num < 0) return {};
          r[i] = e;
        } else {  // a symbolic element (a dim, so >= 0): when it is 0 without allowzero, input dim i is copied
          r[i] = allowZero || (copies && (*x)[i] == e) ? e : atom(out, i);
        }
      }
      if (inferAt < rank) {
        r[inferAt] = constant(1);
        const std::optional<SymDim> volume = product(*x, 0, x->size()), others = product(r, 0, rank);
        const std::optional<SymDim> inferred = volume && others ? divide(*volume, *others) : std::nullopt;
        r[inferAt] = inferred ? *inferred : atom(out, inferAt);
      }
      return r;
    }
    if (kind == "Squeeze") {
      const std::vector<int64_t> axes = layer.attrs.getInts("axes", {});
      if (axes.empty()) return {};
      std::vector<bool> drop(x->size(), false);
      for (int64_t a : axes) drop[normalizeAxis(a, inRank, "axis")] = true;
      Dimv r;
      for (size_t i = 0; i < x->size(); ++i)
        if (!drop[i]) r.push_back((*x)[i]);
      return r;
    }
    if (kind == "Unsqueeze") {
      std::vector<bool> added(rank, false);
      for (int64_t a : layer.attrs.getInts("axes", {})) added[normalizeAxis(a, static_cast<int64_t>(rank), "axis")] = true;
      Dimv r;
      size_t next = 0;
      for (size_t i = 0; i < rank; ++i) r.push_back(added[i] ? constant(1) : next < x->size() ? (*x)[next++] : constant(1));
      return next == x->size() ? r : Dimv{};
    }
    if (kind == "Flatten") {
      int64_t axis = layer.attrs.getInt("axis", 1);
      if (axis < 0) axis += inRank;
      if (axis < 0 || axis > inRank) return {};
      const std::optional<SymDim> lead = product(*x, 0, axis), rest = product(*x, axis, x->size());
      if (!lead || !rest) return {};
      return {*lead, *rest};
    }
    if (kind == "Gather") {
      const Dimv* idx = input(1);
      if (!idx) return {};
      const int64_t axis = normalizeAxis(layer.attrs.getInt("axis", 0), inRank, "axis");
      Dimv r(x->begin(), x->begin() + axis);
      r.insert(r.end(), idx->begin(), idx->end());
      r.insert(r.end(), x->begin() + axis + 1, x->end());
      return r;
    }
    if (kind == "Split") {
      const int64_t axis = normalizeAxis(layer.attrs.getInt("axis", 0), inRank, "axis");
      Dimv r = *x;
      std::vector<int64_t> sizes;
      const bool given = layer.inputs.size() > 1 && layer.inputs[1] >= 0;
      if (given && staticInts(values_, layer.inputs[1], &sizes) && output < sizes.size()) {
        r[axis] = constant(sizes[output]);
      } else if (!given && r[axis].isStatic()) {
        r[axis] = constant(splitSizes(r[axis].num, nullptr, layer.outputs.size())[output]);
      } else {
        r[axis] = atom(out, static_cast<size_t>(axis));
      }
      return r;
    }
    if (kind == "Concat") {
      const int64_t axis = normalizeAxis(layer.attrs.getInt("axis", 0), inRank, "axis");
      Dimv r = *x;  // the other dims agree in every input (else the Concat fails)
      r[axis] = atom(out, static_cast<size_t>(axis));
      return r;
    }
    if (kind == "Expand") {
      const int shapeTensor = layer.inputs.size() > 1 ? layer.inputs[1] : -1;
      if (shapeTensor < 0 || !values_[shapeTensor]) return {};
      return broadcast({x, &*values_[shapeTensor]});
    }
  } catch (const Error&) {
    // A layer the rules cannot read (a bad attribute the shape rule would reject): its dims stay atoms.
  }
  return {};
}

std::optional<SymbolicDims::Dimv> SymbolicDims::outputValue(const Layer& layer, size_t output) const {
  if (output != 0 || layer.inputs.empty() || layer.inputs[0] < 0) return std::nullopt;
  const std::string& kind = layer.kind;
  const int in = layer.inputs[0];
  try {
    if (kind == "Shape") {
      const Dimv& x = dims_[in];
      int64_t start = 0, end = 0;
      shapeRange(layer.attrs, static_cast<int64_t>(x.size()), &start, &end);
      return Dimv(x.begin() + start, x.begin() + end);
    }
    if (kind == "Concat") {
      Dimv r;
      for (int t : layer.inputs) {
        if (t < 0 || !values_[t] || tensors_[t].dims.size() != 1) return std::nullopt;
        r.insert(r.end(), values_[t]->begin(), values_[t]->end());
      }
      return r;
    }
    if (kind == "Unsqueeze" || kind == "Squeeze" || kind == "Identity" || kind == "Cast" || kind == "Reshape") {
      const bool widens = kind != "Cast" || (tensors_[layer.outputs[0]].dtype == DType::Int64 &&
                                             (tensors_[in].dtype == DType::Int64 || tensors_[in].dtype == DType::Int32));
      if (tensors_[in].dims.size() > 1 || !widens) return std::nullopt;
      return values_[in];  // the same elements in the same order (the output is rank <= 1 too)
    }
    if (kind == "Gather") {
      std::vector<int64_t> indices;
      if (!values_[in] || tensors_[in].dims.size() != 1 || layer.inputs.size() < 2 ||
          !staticInts(values_, layer.inputs[1], &indices))
        return std::nullopt;
      const Dimv& data = *values_[in];
      const int64_t n = static_cast<int64_t>(data.size());
      Dimv r;
      for (int64_t i : indices) {
        if (i < -n || i >= n) return std::nullopt;
        r.push_back(data[i < 0 ? i + n : i]);
      }
      return r;
    }
    if (kind == "Slice") {
      if (!values_[in] || tensors_[in].dims.size() != 1) return std::nullopt;
      std::vector<int64_t> starts, ends, axes, steps;
      const size_t count = layer.inputs.size();
      if (count < 3 || !staticInts(values_, layer.inputs[1], &starts) || !staticInts(values_, layer.inputs[2], &ends))
        return std::nullopt;
      const bool hasAxes = count > 3 && layer.inputs[3] >= 0, hasSteps = count > 4 && layer.inputs[4] >= 0;
      if ((hasAxes && !staticInts(values_, layer.inputs[3], &axes)) || (hasSteps && !staticInts(values_, layer.inputs[4], &steps)))
        return std::nullopt;
      const Dimv& data = *values_[in];
      const SliceGeometry g = sliceGeometry({static_cast<int64_t>(data.size())}, starts, ends, hasAxes ? &axes : nullptr,
                                            hasSteps ? &steps : nullptr);
      Dimv r;
      for (int64_t i = 0; i < g.count[0]; ++i) r.push_back(data[g.start[0] + i * g.step[0]]);
      return r;
    }
  } catch (const Error&) {
  }
  return std::nullopt;
}

}  // namespace inferrt
