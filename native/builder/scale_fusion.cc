// Scale fusion: a constant scale around a float MatMul becomes its alpha attribute (out = alpha·(A·B)), so the
// GEMM applies it for free instead of an extra pass over the product. Attention is the case that matters: the
// scores [B, heads, S, S] are Mul(QKᵀ, c) or Div(QKᵀ, c) (TorchScript / dynamo eager exports), or the SDPA
// exports scale both operands, MatMul(Mul(q, c), Mul(k, c)). Taken: one-element float constants (finite, not
// 0), Mul in either operand order, Div with the product as dividend; every intermediate read by the chain alone
// and no network output; MatMuls with two inputs, no activation and no alpha yet (integer MatMuls never: alpha
// must stay 1 on them). Runs after the GEMM fusion, so a MatMul gets a bias or an alpha, and the GEMM fusion
// keeps its decomposed GELUs, whose final "* 0.5" often feeds the next MatMul.
//
// Rounding: alpha is the product of the constants (reciprocals for Div) in double, rounded to float once. The
// unfused graph rounds each step instead, so results may differ in the last float bit: dividing by c is not
// always multiplying by float(1/c), and scaling q and k before the product rounds them first. Exporters' scales
// are 1/sqrt(head size) (exact for 64 -> 1/8) or its square root; the fixtures match onnxruntime at 1e-4.
#include <cmath>
#include <vector>

#include "builder/fusion_rewriter.h"
#include "builder/passes.h"

namespace inferrt {

namespace {

bool isFloatType(DType t) { return t == DType::Float32 || t == DType::Float16; }

// The value of `t` when it is a one-element float constant (float32 or float16) that is finite and not 0.
bool scalarValue(const FusionRewriter& g, int t, double* value) {
  if (t < 0) return false;
  const TensorInfo& info = g.tensor(t);
  if (info.producer >= 0 || !info.value || !isFloatType(info.value->dtype()) || info.value->numel() != 1)
    return false;
  *value = info.value->getDouble(0);
  return std::isfinite(*value) && *value != 0;
}

bool isElementWise(const FusionRewriter& g, int l, const char* op) {
  return l >= 0 && g.layer(l).kind == "ElementWise" && g.layer(l).attrs.getString("op", "") == op;
}

// When layer `l` is Mul(t, c) / Mul(c, t), or (with `allowDiv`) Div(t, c), with c a scalar constant and an
// output shaped like t: the factor it applies to t.
bool scaleOf(const FusionRewriter& g, int l, int t, bool allowDiv, double* factor) {
  if (l < 0) return false;
  const Layer& s = g.layer(l);
  if (s.inputs.size() != 2 || g.tensor(s.outputs[0]).dims != g.tensor(t).dims) return false;
  double c = 0;
  if (isElementWise(g, l, "mul")) {
    const int other = s.inputs[0] == t ? s.inputs[1] : s.inputs[1] == t ? s.inputs[0] : -1;
    if (other == t || !scalarValue(g, other, &c)) return false;  // Mul(t, t) is a square, not a scale
    *factor = c;
    return true;
  }
  if (allowDiv && isElementWise(g, l, "div") && s.inputs[0] == t && s.inputs[1] != t &&
      scalarValue(g, s.inputs[1], &c)) {
    *factor = 1.0 / c;
    return true;
  }
  return false;
}

// Folds the scales around MatMul layer `m`; returns how many Mul/Div layers went into its alpha (0: none).
size_t fuseAt(FusionRewriter& g, int m) {
  const Layer& mm = g.layer(m);
  if (mm.inputs.size() != 2 || mm.attrs.getString("activation", "none") != "none" ||
      mm.attrs.getFloat("alpha", 1.0) != 1.0 || !isFloatType(g.tensor(mm.inputs[0]).dtype))
    return 0;
  double alpha = 1.0;
  std::vector<int> chain;
  Layer fused = mm;
  // Operand scales: Mul(x, c) read by this MatMul alone (not when A and B are one tensor: c would count twice).
  for (size_t i = 0; i < 2 && mm.inputs[0] != mm.inputs[1]; ++i) {
    const int t = mm.inputs[i];
    const int mul = g.producer(t, "ElementWise", "mul");
    if (mul < 0 || !g.readOnlyBy(t, {m})) continue;
    int x = -1;
    double c = 0;
    for (int operand : g.layer(mul).inputs)
      if (x < 0 && scaleOf(g, mul, operand, false, &c)) x = operand;
    if (x < 0) continue;
    alpha *= c;
    fused.inputs[i] = x;
    chain.push_back(mul);
  }
  chain.push_back(m);
  // Output scale: the product's only reader.
  const int y = mm.outputs[0];
  const int reader = g.soleReader(y);
  double c = 0;
  if (scaleOf(g, reader, y, true, &c)) {
    alpha *= c;
    chain.push_back(reader);
  }
  const float a = static_cast<float>(alpha);
  if (chain.size() == 1 || !std::isnormal(a) || !g.canFuse(chain)) return 0;
  fused.attrs.set("alpha", static_cast<double>(a));
  return g.replace(chain, std::move(fused)) ? chain.size() - 1 : 0;
}

}  // namespace

ScaleFusions fuseMatMulScales(Network& network) {
  FusionRewriter g(network);
  ScaleFusions fused;
  for (size_t l = 0; l < g.numLayers(); ++l) {
    if (g.layer(l).kind != "MatMul") continue;
    const size_t scales = fuseAt(g, static_cast<int>(l));
    fused.matmuls += scales ? 1 : 0;
    fused.scales += scales;
  }
  if (fused.matmuls) g.apply(network);
  return fused;
}

}  // namespace inferrt
