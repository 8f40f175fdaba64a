// Masked-softmax fusion: Softmax(Add(x, mask)) becomes Softmax(x, mask), which adds the mask as it reads x, so
// attention's additive mask no longer costs a pass over the [B, heads, S, S] scores. The Add may take its
// operands in either order; x is the one with the Add's full output shape and the mask must broadcast into it
// (the fused layer's output has x's shape). Taken: float tensors, a mask-less Softmax, the sum read by the
// Softmax alone and no network output.
//
// Unknown dims: with dynamic shapes both operands often look full ([-1, -1, -1, -1]: exporters expand the mask
// to [B, 1, S, S]), so build time cannot tell which one is x. Then x is the operand a MatMul produced (the
// attention scores; the mask never is) and nothing fuses when that does not decide it. Should x still turn out
// smaller than the mask at run time, the Softmax shape rule fails with ShapeMismatch rather than compute
// something else.
#include <vector>

#include "builder/fusion_rewriter.h"
#include "builder/passes.h"

namespace inferrt {

namespace {

bool producedByMatMul(const FusionRewriter& g, int t) {
  const int p = g.tensor(t).producer;
  return p >= 0 && g.layer(p).kind == "MatMul";
}

// Fuses the Add feeding Softmax layer `s`; returns whether it did.
bool fuseAt(FusionRewriter& g, int s) {
  const Layer& softmax = g.layer(s);
  if (softmax.inputs.size() != 1) return false;
  const int sum = softmax.inputs[0];
  const DType type = g.tensor(sum).dtype;
  if ((type != DType::Float32 && type != DType::Float16) || g.soleReader(sum) != s) return false;
  const int add = g.producer(sum, "ElementWise", "add");
  if (add < 0) return false;
  const int a = g.layer(add).inputs[0], b = g.layer(add).inputs[1];
  const Dims& full = g.tensor(sum).dims;
  const bool aFull = g.tensor(a).dims == full, bFull = g.tensor(b).dims == full;
  int x = -1;
  if (aFull && bFull) {
    if (isStatic(full)) x = a;  // both full and known: either order is the same layer
    else if (producedByMatMul(g, a) != producedByMatMul(g, b)) x = producedByMatMul(g, a) ? a : b;
  } else if (aFull || bFull) {
    x = aFull ? a : b;
  }
  if (x < 0 || !g.canFuse({add, s})) return false;
  Layer fused = softmax;
  fused.inputs = {x, x == a ? b : a};
  return g.replace({add, s}, std::move(fused));  // the shape rule checks that the mask broadcasts into x
}

}  // namespace

size_t fuseMaskedSoftmax(Network& network) {
  FusionRewriter g(network);
  size_t fused = 0;
  for (size_t l = 0; l < g.numLayers(); ++l)
    if (g.layer(l).kind == "Softmax" && fuseAt(g, static_cast<int>(l))) ++fused;
  if (fused) g.apply(network);
  return fused;
}

}  // namespace inferrt
