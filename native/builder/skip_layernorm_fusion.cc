// Skip-layernorm fusion: a transformer's residual Add feeding a layer norm,
//   s = Add(a, b)   y = Normalization(s, scale, bias)            (mode layer)
// becomes one Normalization(a, scale, bias, -, -, skip = b), which adds a and b itself (the sum rounded to the
// tensors' dtype, exactly what the Add stored) and so saves writing s and reading it back.
//
// Soundness: s must be read only by that Normalization, only as its x, and not be a network output; a, b and s
// must have one float dtype and dims provably equal for every input the network accepts (SymbolicDims): the fused
// layer does not broadcast, so an Add that broadcasts or might broadcast stays. Both layers must ask for one
// precision (FusionRewriter::canFuse), so the fused layer rounds the sum as the Add would have; layer norms with
// Mean / InvStdDev outputs are left alone (the rewriter replaces single-output chains).
#include <initializer_list>
#include <vector>

#include "builder/fusion_rewriter.h"
#include "builder/passes.h"
#include "builder/symbolic_dims.h"

namespace inferrt {

namespace {

constexpr size_t kSkipInput = 5;

bool isLayerNormWithoutSkip(const Layer& l) {
  return l.kind == "Normalization" && l.attrs.getString("mode", "") == "layer" && l.outputs.size() == 1 &&
         (l.inputs.size() <= kSkipInput || l.inputs[kSkipInput] < 0);
}

// Whether tensors a and b have the dims of tensor s in every run.
bool sameDimsAs(const FusionRewriter& g, const SymbolicDims& sym, int s, std::initializer_list<int> others) {
  const size_t rank = g.tensor(s).dims.size();
  for (int t : others) {
    if (g.tensor(t).dims.size() != rank) return false;
    for (size_t d = 0; d < rank; ++d)
      if (!sym.provablyEqual(t, static_cast<int64_t>(d), s, static_cast<int64_t>(d))) return false;
  }
  return true;
}

// Fuses the Add that writes Normalization `norm`'s x into it; returns whether it did.
bool fuseAt(FusionRewriter& g, const SymbolicDims& sym, int norm) {
  const Layer& n = g.layer(norm);
  const int s = n.inputs[0];
  const int add = g.producer(s, "ElementWise", "add");
  if (add < 0 || g.layer(add).inputs.size() != 2 || !g.readOnlyBy(s, {norm})) return false;
  for (size_t i = 1; i < n.inputs.size(); ++i)
    if (n.inputs[i] == s) return false;  // s is also the scale or bias
  const int a = g.layer(add).inputs[0], b = g.layer(add).inputs[1];
  const DType dtype = g.tensor(s).dtype;
  if (!isFloat(dtype) || g.tensor(a).dtype != dtype || g.tensor(b).dtype != dtype) return false;
  if (!sameDimsAs(g, sym, s, {a, b})) return false;
  Layer fused = n;
  fused.inputs.resize(kSkipInput + 1, -1);
  fused.inputs[0] = a;
  fused.inputs[kSkipInput] = b;
  return g.replace({add, norm}, std::move(fused));
}

}  // namespace

size_t fuseSkipLayerNorms(Network& network) {
  std::vector<int> norms;
  for (size_t l = 0; l < network.layers().size(); ++l)
    if (isLayerNormWithoutSkip(network.layers()[l])) norms.push_back(static_cast<int>(l));
  if (norms.empty()) return 0;
  const SymbolicDims sym(network.tensors(), network.layers());
  FusionRewriter g(network);
  size_t fused = 0;
  for (int l : norms) fused += fuseAt(g, sym, l) ? 1 : 0;
  if (fused) g.apply(network);
  return fused;
}

}  // namespace inferrt
