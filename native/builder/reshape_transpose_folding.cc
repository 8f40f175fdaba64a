// Reshape -> Transpose -> Reshape that only swaps the last two dims of a rank-4 tensor becomes one Transpose.
// PyTorch's dynamo exporter writes k.transpose(-2, -1) of scaled_dot_product_attention that way: x [B, H, S, D]
// reshaped to [B*H, S, D], transposed [0, 2, 1], reshaped to [B, H, D, S], with both shapes computed from Shape
// layers at run time. The attention fusion only reads around Transposes, so without this pass those exports keep
// unfused attention (and the packed-BERT rewrite cannot take them).
//
// Taken when the Reshapes' target shapes are provably (SymbolicDims, for every input) [-1, x2, x3] and [x0, x1, x3,
// x2] for x's dims x0..x3, and the intermediates are read by the chain alone. The proof is on the targets, not on
// the Reshapes' output dims: those analyses assume a symbolic target element may be 0 (copying an input dim), and
// only an empty x (a dim 0) makes that differ here, where the unfused chain fails or gives other (still empty)
// dims than the Transpose. Profiles keep input dims >= 1, so only an empty tensor made inside a network could. When x
// is itself written by a rank-4 Transpose, the new Transpose reads that one's input through the composed
// permutation (PyTorch's head split precedes it), which leaves the attention fusion one Transpose to read around.
// Runs before dead-layer elimination, which then drops the Shape layers that computed the two targets.
#include <optional>
#include <vector>

#include "builder/fusion_rewriter.h"
#include "builder/passes.h"
#include "builder/symbolic_dims.h"
#include "ir/error.h"
#include "ir/ops/movement_geometry.h"

namespace inferrt {

namespace {

// The permutation of a Transpose layer over rank `rank`, or empty.
std::vector<int64_t> permOf(const Layer& layer, int64_t rank) {
  try {
    return transposePerm(layer.attrs, rank);
  } catch (const Error&) {
    return {};
  }
}

// Whether Reshape `reshape`'s target shape is provably x's dims in the order `axes` (an empty entry: -1).
bool targetIs(const SymbolicDims& sym, const Layer& reshape, const std::vector<std::optional<int64_t>>& axes, int x) {
  if (reshape.inputs.size() < 2 || reshape.inputs[1] < 0) return false;
  const std::optional<std::vector<SymDim>>& target = sym.valueOf(reshape.inputs[1]);
  const std::vector<SymDim>& dims = sym.dimsOf(x);
  if (!target || target->size() != axes.size() || dims.size() != 4) return false;
  for (size_t i = 0; i < axes.size(); ++i) {
    const SymDim& e = (*target)[i];
    if (axes[i] ? !(e == dims[static_cast<size_t>(*axes[i])]) : !(e.isStatic() && e.num == -1)) return false;
  }
  return true;
}

}  // namespace

size_t foldReshapeTransposes(Network& network) {
  FusionRewriter g(network);
  const SymbolicDims sym(network.tensors(), network.layers());
  size_t folded = 0;
  for (size_t l = 0; l < g.numLayers(); ++l) {
    const Layer& t = g.layer(static_cast<int>(l));
    if (t.kind != "Transpose" || t.inputs.size() != 1 || permOf(t, 3) != std::vector<int64_t>{0, 2, 1}) continue;
    const int first = g.producer(t.inputs[0], "Reshape");
    const int second = g.soleReader(t.outputs[0]);
    if (first < 0 || second < 0 || g.layer(second).kind != "Reshape" || g.layer(second).inputs[0] != t.outputs[0])
      continue;
    if (!g.readOnlyBy(t.inputs[0], {static_cast<int>(l)})) continue;
    const int x = g.layer(first).inputs[0];
    if (!targetIs(sym, g.layer(first), {{}, 2, 3}, x) || !targetIs(sym, g.layer(second), {0, 1, 3, 2}, x)) continue;
    Layer swap;
    swap.kind = "Transpose";
    std::vector<int64_t> perm = {0, 1, 3, 2};
    swap.inputs = {x};
    const int head = g.producer(x, "Transpose");
    const std::vector<int64_t> before = head >= 0 ? permOf(g.layer(head), 4) : std::vector<int64_t>{};
    if (before.size() == 4) {  // read x's source through both permutations: output dim i is source dim before[perm[i]]
      for (int64_t& p : perm) p = before[p];
      swap.inputs = {g.layer(head).inputs[0]};
    }
    swap.attrs.set("perm", perm);
    // The output may record dynamic dims that the Transpose knows (the chain's targets were run-time values).
    if (g.replaceKnowingMore({first, static_cast<int>(l), second}, std::move(swap))) ++folded;
  }
  if (folded) g.apply(network);
  return folded;
}

}  // namespace inferrt
