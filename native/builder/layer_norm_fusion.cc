// Layer-norm fusion: the decomposed layer norm that PyTorch's TorchScript exporter emits below opset 17,
//   m = ReduceMean(x, trailing axes)  d = x - m  v = ReduceMean(d^2 or d*d)  y = d / Sqrt(v + eps)
//   [y = y * gamma]  [y = y + beta]
// becomes one Normalization layer (mode layer). Every intermediate must feed only the next step, the
// constants must have the right values and shapes, and all tensors must be float32 (fp16 chains round each
// step, which the fused layer would not).
#include <cmath>
#include <string>
#include <vector>

#include "builder/fusion_rewriter.h"
#include "builder/passes.h"

namespace inferrt {

namespace {

// The number of trailing axes a keepdims mean reduces (all of [rank - count, rank)), or 0 when it is not such
// a reduction.
int64_t trailingAxes(const FusionRewriter& g, const Layer& reduce, int64_t rank) {
  if (reduce.attrs.getInt("keepdims", 1) != 1) return 0;
  std::vector<int64_t> axes;
  if (reduce.inputs.size() > 1 && reduce.inputs[1] >= 0) {
    const TensorInfo& t = g.tensor(reduce.inputs[1]);
    if (!t.value || t.producer >= 0) return 0;
    axes = readInts(*t.value, "Reduce axes");
  } else {
    axes = reduce.attrs.getInts("axes", {});
  }
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    if (a < 0) a += rank;
    if (a < 0 || a >= rank || seen[a]) return 0;
    seen[a] = true;
  }
  const int64_t count = static_cast<int64_t>(axes.size());
  for (int64_t a = rank - count; a < rank; ++a)
    if (!seen[a]) return 0;
  return count;
}

// The operand of the binary layer `l` other than `t`, or -1 when `t` is not one of its two inputs.
int otherOperand(const Layer& l, int t) {
  if (l.inputs.size() != 2) return -1;
  if (l.inputs[0] == t) return l.inputs[1];
  return l.inputs[1] == t ? l.inputs[0] : -1;
}

bool isFloat32(const FusionRewriter& g, const Layer& l) {
  for (int t : l.outputs)
    if (g.tensor(t).dtype != DType::Float32) return false;
  return true;
}

// A gamma or beta constant that varies only along the `count` normalized (trailing) dims.
int affineParam(const FusionRewriter& g, int t, int64_t count) {
  const Tensor* v = g.constant(t);
  return v && v->rank() <= count ? t : -1;
}

bool isElementWise(const FusionRewriter& g, int l, const char* op) {
  return l >= 0 && g.layer(l).kind == "ElementWise" && g.layer(l).attrs.getString("op", "") == op;
}

bool isOneElement(const FusionRewriter& g, int t) {
  const Tensor* v = g.constant(t);
  return v && v->numel() == 1;
}

// Matches the chain whose Div layer is `div`; returns whether it was fused.
bool fuseAt(FusionRewriter& g, int div) {
  const Layer& divL = g.layer(div);
  if (divL.inputs.size() != 2) return false;
  const int d = divL.inputs[0];
  const int sqrtL = g.producer(divL.inputs[1], "Unary", "sqrt");
  if (sqrtL < 0) return false;
  const int addEps = g.producer(g.layer(sqrtL).inputs[0], "ElementWise", "add");
  if (addEps < 0) return false;
  const Layer& addL = g.layer(addEps);
  const bool epsFirst = !isOneElement(g, addL.inputs[1]);  // v + eps as exported; eps + v too
  const int epsT = addL.inputs[epsFirst ? 0 : 1], v = addL.inputs[epsFirst ? 1 : 0];
  const Tensor* eps = isOneElement(g, epsT) ? g.constant(epsT) : nullptr;
  if (!eps || !(eps->data<float>()[0] >= 0) || std::isinf(eps->data<float>()[0])) return false;
  const int mean2 = g.producer(v, "Reduce", "mean");
  if (mean2 < 0) return false;
  const int p = g.layer(mean2).inputs[0];
  int square = g.producer(p, "ElementWise", "pow");
  if (square >= 0 && !(g.layer(square).inputs[0] == d && g.isScalar(g.layer(square).inputs[1], 2.0))) square = -1;
  if (square < 0) {
    square = g.producer(p, "ElementWise", "mul");
    if (square >= 0 && !(g.layer(square).inputs[0] == d && g.layer(square).inputs[1] == d)) square = -1;
  }
  const int sub = g.producer(d, "ElementWise", "sub");
  if (square < 0 || sub < 0) return false;
  const int x = g.layer(sub).inputs[0];
  const int mean1 = g.producer(g.layer(sub).inputs[1], "Reduce", "mean");
  if (mean1 < 0 || g.layer(mean1).inputs[0] != x || g.tensor(x).dtype != DType::Float32) return false;
  const int64_t rank = static_cast<int64_t>(g.tensor(x).dims.size());
  const int64_t count = trailingAxes(g, g.layer(mean1), rank);
  if (count == 0 || rank == 0 || trailingAxes(g, g.layer(mean2), rank) != count) return false;
  const int m = g.layer(mean1).outputs[0], s = divL.inputs[1];
  if (!g.readOnlyBy(m, {sub}) || !g.readOnlyBy(d, {square, div}) || !g.readOnlyBy(p, {mean2}) ||
      !g.readOnlyBy(v, {addEps}) || !g.readOnlyBy(g.layer(addEps).outputs[0], {sqrtL}) || !g.readOnlyBy(s, {div}))
    return false;
  std::vector<int> chain = {mean1, sub, square, mean2, addEps, sqrtL, div};

  // The optional affine tail: * gamma, then + beta (each only where the previous result feeds nothing else).
  int gamma = -1, beta = -1, out = divL.outputs[0];
  int next = g.soleReader(out);
  if (isElementWise(g, next, "mul") && (gamma = affineParam(g, otherOperand(g.layer(next), out), count)) >= 0) {
    chain.push_back(next);
    out = g.layer(next).outputs[0];
    next = g.soleReader(out);
  }
  if (isElementWise(g, next, "add") && (beta = affineParam(g, otherOperand(g.layer(next), out), count)) >= 0)
    chain.push_back(next);
  for (int l : chain)
    if (!isFloat32(g, g.layer(l))) return false;
  if (!g.canFuse(chain)) return false;

  Layer fused;
  fused.kind = "Normalization";
  fused.attrs.set("mode", std::string("layer"));
  fused.attrs.set("axis", rank - count);
  fused.attrs.set("epsilon", static_cast<double>(eps->data<float>()[0]));
  if (gamma < 0) {  // Normalization needs a scale: 1 is exact
    Tensor one(DType::Float32, {1});
    one.data<float>()[0] = 1.0f;
    gamma = g.addConstant(g.layer(div).name + ":unit_scale", std::move(one));
  }
  fused.inputs = {x, gamma};
  if (beta >= 0) fused.inputs.push_back(beta);
  return g.replace(chain, std::move(fused));
}

}  // namespace

size_t fuseLayerNorms(Network& network) {
  FusionRewriter g(network);
  size_t fused = 0;
  for (size_t l = 0; l < g.numLayers(); ++l)
    if (g.producer(g.layer(l).outputs.empty() ? -1 : g.layer(l).outputs[0], "ElementWise", "div") >= 0)
      fused += fuseAt(g, static_cast<int>(l)) ? 1 : 0;
  if (fused) g.apply(network);
  return fused;
}

}  // namespace inferrt
