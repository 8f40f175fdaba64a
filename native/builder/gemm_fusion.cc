// GEMM fusion: MatMul(a, W constant) -> Add(bias constant [N]) -> optional relu or GELU becomes one MatMul with a
// bias input and an activation attribute. GELU is taken as the Activation layer (exact: "gelu"; approximate "tanh":
// "gelu_tanh") or as the decomposed exact form exporters emit, y * 0.5 * (1 + erf(y / sqrt(2))) in either
// association. Every intermediate must feed only the next step; tensors must be float32.
#include <cmath>
#include <string>
#include <vector>

#include "builder/fusion_rewriter.h"
#include "builder/passes.h"

namespace inferrt {

namespace {

bool isOp(const FusionRewriter& g, int l, const char* kind, const char* op) {
  return l >= 0 && g.layer(l).kind == kind && g.layer(l).attrs.getString("op", "") == op;
}

// The operand of the binary layer `l` other than `t`, or -1 when `t` is not one of its two inputs.
int otherOperand(const Layer& l, int t) {
  if (l.inputs.size() != 2) return -1;
  if (l.inputs[0] == t) return l.inputs[1];
  return l.inputs[1] == t ? l.inputs[0] : -1;
}

// Whether layer `l` is Mul(t, c) or Mul(c, t) with c a one-element constant equal to `value` in float32.
bool mulsBy(const FusionRewriter& g, int l, int t, double value) {
  return isOp(g, l, "ElementWise", "mul") && g.isScalar(otherOperand(g.layer(l), t), value);
}

// Whether `y`'s readers compute the decomposed exact GELU, y * 0.5 * (1 + erf(y / sqrt(2))), multiplied as
// (y * t) * 0.5 (TorchScript's nn.GELU) or (y * 0.5) * t (the Python formula); appends its layers to `chain`.
bool matchDecomposedGelu(const FusionRewriter& g, int y, std::vector<int>& chain) {
  const std::vector<int>& readers = g.readers(y);
  if (g.tensor(y).isOutput || readers.size() != 2) return false;
  for (int first : {0, 1}) {
    const int scale = readers[first], mul = readers[1 - first];
    const Layer& s = g.layer(scale);
    const bool divides = isOp(g, scale, "ElementWise", "div") && s.inputs[0] == y && g.isScalar(s.inputs[1], M_SQRT2);
    if (!divides && !mulsBy(g, scale, y, M_SQRT1_2)) continue;
    const int erf = g.soleReader(s.outputs[0]);
    if (!isOp(g, erf, "Unary", "erf")) continue;
    const int plus = g.soleReader(g.layer(erf).outputs[0]);
    if (!isOp(g, plus, "ElementWise", "add") || !g.isScalar(otherOperand(g.layer(plus), g.layer(erf).outputs[0]), 1.0))
      continue;
    const int t = g.layer(plus).outputs[0];
    if (!isOp(g, mul, "ElementWise", "mul")) continue;
    const int product = g.layer(mul).outputs[0];
    const int last = g.soleReader(product);
    const bool tThenHalf =
        otherOperand(g.layer(mul), y) == t && g.readOnlyBy(t, {mul}) && mulsBy(g, last, product, 0.5);
    const bool halfThenT = mulsBy(g, mul, y, 0.5) && isOp(g, last, "ElementWise", "mul") &&
                           otherOperand(g.layer(last), product) == t && g.readOnlyBy(t, {last});
    if (!tThenHalf && !halfThenT) continue;
    chain.insert(chain.end(), {scale, erf, plus, mul, last});
    return true;
  }
  return false;
}

// Fuses the chain starting at MatMul layer `matmul`; returns the activation fused, or "" when nothing was.
std::string fuseAt(FusionRewriter& g, int matmul) {
  const Layer& mm = g.layer(matmul);
  if (mm.inputs.size() != 2 || mm.attrs.has("activation")) return "";
  const Tensor* w = g.constant(mm.inputs[1]);
  const int mmOut = mm.outputs[0];
  const Dims& outDims = g.tensor(mmOut).dims;
  if (!w || w->rank() < 2 || g.tensor(mm.inputs[0]).dtype != DType::Float32 || outDims.empty() || outDims.back() < 1)
    return "";
  const int add = g.soleReader(mmOut);
  if (!isOp(g, add, "ElementWise", "add")) return "";
  const int bias = otherOperand(g.layer(add), mmOut);
  const Tensor* b = g.constant(bias);
  if (!b || b->dims() != Dims{outDims.back()}) return "";
  std::vector<int> chain = {matmul, add};
  std::string activation = "none";
  const int y = g.layer(add).outputs[0];
  const int act = g.soleReader(y);
  if (act >= 0 && g.layer(act).kind == "Activation") {
    const std::string op = g.layer(act).attrs.getString("op", "");
    const std::string approximate = g.layer(act).attrs.getString("approximate", "none");
    if (op == "relu" || (op == "gelu" && (approximate == "none" || approximate == "tanh"))) {
      activation = op == "gelu" && approximate == "tanh" ? "gelu_tanh" : op;
      chain.push_back(act);
    }
  } else if (matchDecomposedGelu(g, y, chain)) {
    activation = "gelu";
  }
  if (!g.canFuse(chain)) return "";
  Layer fused;
  fused.kind = "MatMul";
  fused.inputs = {mm.inputs[0], mm.inputs[1], bias};
  fused.attrs = mm.attrs;
  fused.attrs.set("activation", activation);
  return g.replace(chain, std::move(fused)) ? activation : "";
}

}  // namespace

GemmFusions fuseGemms(Network& network) {
  FusionRewriter g(network);
  GemmFusions fused;
  for (size_t l = 0; l < g.numLayers(); ++l) {
    if (g.layer(l).kind != "MatMul") continue;
    const std::string act = fuseAt(g, static_cast<int>(l));
    if (act.empty()) continue;
    ++fused.gemms;
    fused.relu += act == "relu" ? 1 : 0;
    fused.gelu += act == "gelu" || act == "gelu_tanh" ? 1 : 0;
  }
  if (fused.gemms) g.apply(network);
  return fused;
}

}  // namespace inferrt
