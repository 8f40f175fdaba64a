// Attention fusion: MatMul(Q, Kᵀ, alpha) -> Softmax(last axis, mask?) -> MatMul(P, V) becomes one Attention layer
// (ir/LAYERS.md), which never stores the [B, H, Sq, Sk] scores and probabilities. It runs after the scale and
// masked-softmax fusions, so alpha already sits on the first MatMul and the additive mask on the Softmax.
//
// Taken: a first MatMul without bias, activation or transA (transB either way); a Softmax over the last axis, not
// log; then, optionally, Identity layers or Casts to the same dtype (no-ops exporters leave) and PyTorch SDPA's
// Where(IsNaN(p), 0, p) (then zero_nan_rows = 1); a second MatMul that
// is plain (alpha 1, no transposes) and reads P as A. Q, K and V have rank 4 and one float dtype; the scores and
// the probabilities are read by the chain alone and are no network outputs; the mask is not made inside it.
//
// K: the first MatMul's B with transB; without it B is Kᵀ [B, H, D, Sk]. A Transpose writing Kᵀ is composed with
// the swap of the last two dims: identity means its input is K (layout 0), [0, 2, 1, 3] that its input is K as
// [B, Sk, H, D] (layout 1); any other permutation becomes one Transpose of its input to K, inserted where the first
// MatMul was, as is a Transpose of Kᵀ when no Transpose writes it. Q and V written by a Transpose [0, 2, 1, 3] are
// read before it (layout 1), and a Transpose [0, 2, 1, 3] that alone reads the result is written directly (out
// layout 1). A transpose read around is removed when the chain alone reads it, else kept for its other readers.
//
// Dims: MatMul broadcasts the batch and head dims of its operands, Attention does not. So the pass fuses only where
// B and H of q, k and v are provably equal for every input (SymbolicDims); any other mismatch (D, Sk, the mask's
// broadcast) fails in the unfused layers and in the Attention shape rule alike.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "builder/fusion_rewriter.h"
#include "builder/passes.h"
#include "builder/symbolic_dims.h"
#include "ir/error.h"
#include "ir/ops/movement_geometry.h"

namespace inferrt {

namespace {

using Perm = std::vector<int64_t>;
const Perm kIdentity = {0, 1, 2, 3}, kHeadsSwap = {0, 2, 1, 3}, kLastSwap = {0, 1, 3, 2};

// An input of the fused layer: the tensor it reads and its layout, and where its logical [B, H, S, D] dims live in
// the original graph (dim i = dim axes[i] of `source`), for the proof that batch and head dims agree.
struct Operand {
  int tensor = -1;
  int64_t layout = 0;
  int bypassed = -1;  // a Transpose the fused layer reads around
  Perm insert;        // non-empty: `tensor` is to be made as Transpose(source, insert)
  int source = -1;
  Perm axes = kIdentity;
};

// The permutation of a rank-4 Transpose layer (empty for another rank or a bad attribute).
Perm permOf(const FusionRewriter& g, int l) {
  const Layer& t = g.layer(l);
  if (g.tensor(t.inputs[0]).dims.size() != 4) return {};
  try {
    return transposePerm(t.attrs, 4);
  } catch (const Error&) {
    return {};
  }
}

// Q or V, logically [B, H, S, D]: `t` itself, or the [B, S, H, D] input of a Transpose [0, 2, 1, 3] writing it.
Operand headsFirst(const FusionRewriter& g, int t) {
  Operand o;
  o.tensor = o.source = t;
  const int tr = g.producer(t, "Transpose");
  if (tr >= 0 && permOf(g, tr) == kHeadsSwap) {
    o.tensor = o.source = g.layer(tr).inputs[0];
    o.layout = 1;
    o.bypassed = tr;
    o.axes = kHeadsSwap;
  }
  return o;
}

// K from the first MatMul's B operand `b` (see the top of the file).
Operand keyOperand(const FusionRewriter& g, int b, bool transB) {
  if (transB) return headsFirst(g, b);
  Operand o;
  o.source = b;
  o.axes = o.insert = kLastSwap;
  const int tr = g.producer(b, "Transpose");
  const Perm p = tr >= 0 ? permOf(g, tr) : Perm{};
  if (p.size() != 4) return o;
  Perm composed(4);
  for (size_t i = 0; i < 4; ++i) composed[i] = p[kLastSwap[i]];  // K dim i = Kᵀ dim swap[i] = input dim p[swap[i]]
  o.source = g.layer(tr).inputs[0];
  o.axes = composed;
  o.bypassed = tr;
  if (composed == kIdentity || composed == kHeadsSwap) {
    o.tensor = o.source;
    o.layout = composed == kIdentity ? 0 : 1;
    o.insert.clear();
  } else {
    o.insert = composed;
  }
  return o;
}

bool isPlainMatMul(const Layer& mm) {
  return mm.kind == "MatMul" && mm.inputs.size() == 2 && mm.attrs.getString("activation", "none") == "none" &&
         mm.attrs.getInt("transA", 0) == 0;
}

// Whether layer `l` passes `t` through unchanged: Identity, or a Cast to t's own dtype.
bool isNoOp(const FusionRewriter& g, int l, int t) {
  const Layer& layer = g.layer(l);
  if (layer.inputs.size() != 1 || layer.inputs[0] != t || layer.outputs.size() != 1) return false;
  return layer.kind == "Identity" || (layer.kind == "Cast" && g.tensor(layer.outputs[0]).dtype == g.tensor(t).dtype);
}

// PyTorch's SDPA export zeroes the rows of fully masked queries after the Softmax: Where(IsNaN(p), 0, p). When `p`
// is read by exactly that pair, returns {IsNaN layer, Where layer}; else {-1, -1}.
std::pair<int, int> nanRowsZeroed(const FusionRewriter& g, int p) {
  const std::vector<int>& readers = g.readers(p);
  if (readers.size() != 2 || g.tensor(p).isOutput) return {-1, -1};
  int isNan = -1, where = -1;
  for (int r : readers) {
    const Layer& l = g.layer(r);
    if (l.kind == "Unary" && l.attrs.getString("op", "") == "isnan" && l.inputs.size() == 1) isNan = r;
    if (l.kind == "Where") where = r;
  }
  if (isNan < 0 || where < 0) return {-1, -1};
  const Layer& w = g.layer(where);
  const int cond = g.layer(isNan).outputs[0];
  if (w.inputs.size() != 3 || w.inputs[0] != cond || w.inputs[2] != p || !g.isScalar(w.inputs[1], 0.0) ||
      !g.readOnlyBy(cond, {where}) || g.tensor(w.outputs[0]).dims != g.tensor(p).dims)
    return {-1, -1};
  return {isNan, where};
}

struct BlockFusion {
  size_t absorbed = 0, inserted = 0;
};

// Fuses the attention block around Softmax layer `s`, or returns nothing and changes nothing.
std::optional<BlockFusion> fuseAt(FusionRewriter& g, const SymbolicDims& sym, int s) {
  const Layer& softmax = g.layer(s);
  const int scores = softmax.inputs[0];
  const int mask = softmax.inputs.size() > 1 ? softmax.inputs[1] : -1;
  if (g.tensor(scores).dims.size() != 4 || softmax.attrs.getInt("log", 0) != 0) return std::nullopt;
  const int64_t axis = softmax.attrs.getInt("axis", -1);
  if (axis != -1 && axis != 3) return std::nullopt;
  const int mm1 = g.producer(scores, "MatMul");
  if (mm1 < 0 || !isPlainMatMul(g.layer(mm1)) || !g.readOnlyBy(scores, {s})) return std::nullopt;
  const Layer& first = g.layer(mm1);
  const int64_t transB = first.attrs.getInt("transB", 0);
  if (transB != 0 && transB != 1) return std::nullopt;

  std::vector<int> chain = {mm1, s};
  int probs = softmax.outputs[0];
  bool zeroNanRows = false;
  for (;;) {
    const int next = g.soleReader(probs);
    if (next >= 0 && isNoOp(g, next, probs)) {
      chain.push_back(next);
      probs = g.layer(next).outputs[0];
      continue;
    }
    const auto [isNan, where] = zeroNanRows ? std::pair{-1, -1} : nanRowsZeroed(g, probs);
    if (where < 0) break;
    chain.insert(chain.end(), {isNan, where});
    probs = g.layer(where).outputs[0];
    zeroNanRows = true;
  }
  const int mm2 = g.soleReader(probs);
  if (mm2 < 0 || !isPlainMatMul(g.layer(mm2))) return std::nullopt;
  const Layer& second = g.layer(mm2);
  if (second.inputs[0] != probs || second.inputs[1] == probs || second.attrs.getInt("transB", 0) != 0 ||
      second.attrs.getFloat("alpha", 1.0) != 1.0)
    return std::nullopt;
  chain.push_back(mm2);
  int64_t outLayout = 0;
  const int tail = g.soleReader(second.outputs[0]);
  if (tail >= 0 && g.layer(tail).kind == "Transpose" && permOf(g, tail) == kHeadsSwap) {
    chain.push_back(tail);
    outLayout = 1;
  }

  const int qIn = first.inputs[0], kIn = first.inputs[1], vIn = second.inputs[1];
  const DType type = g.tensor(qIn).dtype;
  if (type != DType::Float32 && type != DType::Float16) return std::nullopt;
  for (int t : {qIn, kIn, vIn, scores, probs})
    if (g.tensor(t).dtype != type || g.tensor(t).dims.size() != 4) return std::nullopt;
  if (mask >= 0 && std::find(chain.begin(), chain.end(), g.tensor(mask).producer) != chain.end()) return std::nullopt;

  Operand q = headsFirst(g, qIn), k = keyOperand(g, kIn, transB == 1), v = headsFirst(g, vIn);
  for (size_t d : {0, 1})  // B and H
    for (const Operand* o : {&k, &v})
      if (!sym.provablyEqual(q.source, q.axes[d], o->source, o->axes[d])) return std::nullopt;

  // Transposes read around: gone with the chain when it alone reads them, else kept for their other readers.
  std::vector<int> bypassed, dropped;
  for (const Operand* o : {&q, &k, &v})
    if (o->bypassed >= 0 && std::find(bypassed.begin(), bypassed.end(), o->bypassed) == bypassed.end())
      bypassed.push_back(o->bypassed);
  for (int tr : bypassed) {
    const int t = g.layer(tr).outputs[0];
    const std::vector<int>& readers = g.readers(t);
    if (!g.tensor(t).isOutput &&
        std::all_of(readers.begin(), readers.end(), [&](int r) { return r == mm1 || r == mm2; }))
      dropped.push_back(tr);
  }
  BlockFusion done;
  done.absorbed = bypassed.size() + (outLayout == 1 ? 1 : 0);
  chain.insert(chain.begin(), dropped.begin(), dropped.end());

  std::vector<std::pair<int, Layer>> helpers;
  if (!k.insert.empty()) {
    Dims dims(4);
    for (size_t i = 0; i < 4; ++i) dims[i] = g.tensor(k.source).dims[k.insert[i]];
    const std::string name = g.tensor(kIn).name + "_keys";
    k.tensor = g.addIntermediate(name, type, dims);
    Layer transpose;
    transpose.kind = "Transpose";
    transpose.name = g.uniqueLayerName(g.layer(mm1).name + "_keys");
    transpose.inputs = {k.source};
    transpose.outputs = {k.tensor};
    transpose.attrs.set("perm", k.insert);
    helpers.emplace_back(mm1, std::move(transpose));
    done.inserted = 1;
  }
  Layer fused;
  fused.kind = "Attention";
  fused.inputs = {q.tensor, k.tensor, v.tensor, mask};
  fused.attrs.set("alpha", g.layer(mm1).attrs.getFloat("alpha", 1.0));
  fused.attrs.set("layout", std::vector<int64_t>{q.layout, k.layout, v.layout, outLayout});
  if (zeroNanRows) fused.attrs.set("zero_nan_rows", int64_t{1});
  if (!g.replace(chain, std::move(fused), std::move(helpers))) return std::nullopt;
  return done;
}

}  // namespace

AttentionFusions fuseAttention(Network& network) {
  AttentionFusions fused;
  const auto& layers = network.layers();
  if (std::none_of(layers.begin(), layers.end(), [](const Layer& l) { return l.kind == "Softmax"; })) return fused;
  const SymbolicDims sym(network.tensors(), layers);
  FusionRewriter g(network);
  for (size_t l = 0; l < g.numLayers(); ++l) {
    if (g.layer(l).kind != "Softmax") continue;
    if (const std::optional<BlockFusion> block = fuseAt(g, sym, static_cast<int>(l))) {
      ++fused.blocks;
      fused.absorbed += block->absorbed;
      fused.inserted += block->inserted;
    }
  }
  if (fused.blocks) g.apply(network);
  return fused;
}

}  // namespace inferrt
