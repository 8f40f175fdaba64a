// Pointwise fusion: regions of float ElementWise (arithmetic), Unary (float math) and Activation layers become
// one Pointwise layer (ir/pointwise_program.h) whose kernel reads each input once and writes one output, saving a
// full write and read of the tensor per layer removed.
//
// A region grows backwards from its sink (the one layer whose output may be read anywhere or be a network
// output) through producers whose output is read only inside the region and is no network output. So no
// outside layer can sit between two members (the region is convex) and the fused layer may take the sink's place
// (FusionRewriter::replace). Members share one float dtype (inputs included: pow with an integer exponent stays a
// layer) and one precision setting; at most kPointwiseMaxInputs distinct external inputs and kPointwiseMaxSteps
// layers. Sinks are tried from the last layer back and each region is grown greedily. This pass runs after the
// pattern fusions (GEMM and conv epilogues, layer norm, masked softmax), which thereby keep their patterns.
#include <algorithm>
#include <string>
#include <vector>

#include "builder/fusion_rewriter.h"
#include "builder/passes.h"
#include "ir/pointwise_program.h"

namespace inferrt {

namespace {

// Whether layer `l` is one step a program can express: a float op whose inputs all have its output's dtype,
// with no attribute the program could not carry.
bool isCandidate(const FusionRewriter& g, int l) {
  const Layer& layer = g.layer(l);
  if (layer.outputs.size() != 1) return false;
  const std::string op = layer.attrs.getString("op", "");
  std::vector<std::string> allowed = {"op"};
  if (layer.kind == "ElementWise") {
    BinaryOp b;
    if (layer.inputs.size() != 2 || !findBinaryOp(op, &b) || !isFloatArithmetic(b)) return false;
  } else if (layer.kind == "Unary") {
    UnaryOp u;
    if (layer.inputs.size() != 1 || !findUnaryOp(op, &u) || !isFloatUnary(u)) return false;
  } else if (layer.kind == "Activation") {
    if (layer.inputs.size() != 1 || !findActivationDefaults(op)) return false;
    allowed.insert(allowed.end(), {"alpha", "beta"});
    if (op == "gelu") allowed.push_back("approximate");
  } else {
    return false;
  }
  for (const auto& entry : layer.attrs.all())
    if (std::find(allowed.begin(), allowed.end(), entry.first) == allowed.end()) return false;
  const DType dtype = g.tensor(layer.outputs[0]).dtype;
  if (!isFloat(dtype)) return false;
  for (int t : layer.inputs)
    if (t < 0 || g.tensor(t).dtype != dtype) return false;
  return true;
}

// A region: its layers in layer order (the sink last) and the tensors they read that none of them writes, in
// first-use order (the Pointwise layer's inputs).
struct Region {
  std::vector<int> layers, inputs;
};

class RegionBuilder {
 public:
  RegionBuilder(const FusionRewriter& g, const std::vector<bool>& candidate, const std::vector<bool>& used)
      : g_(g), candidate_(candidate), used_(used), in_(g.numLayers(), false) {}

  // The region with sink `sink`, grown producer by producer while the rules allow.
  Region grow(int sink) {
    members_ = {sink};
    in_[sink] = true;
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t m = 0; m < members_.size(); ++m) {  // members_ grows inside the loop
        for (int t : g_.layer(members_[m]).inputs) {
          if (static_cast<int>(members_.size()) == kPointwiseMaxSteps) break;
          if (tryAdd(g_.tensor(t).producer, t, sink)) changed = true;
        }
      }
    }
    Region region;
    region.layers = members_;
    std::sort(region.layers.begin(), region.layers.end());
    region.inputs = externalInputs(region.layers);
    for (int l : members_) in_[l] = false;
    return region;
  }

 private:
  // The tensors `layers` (members, in this order) read that no member writes, each once.
  std::vector<int> externalInputs(const std::vector<int>& layers) const {
    std::vector<int> inputs;
    for (int l : layers)
      for (int t : g_.layer(l).inputs) {
        const int p = g_.tensor(t).producer;
        if ((p < 0 || !in_[p]) && std::find(inputs.begin(), inputs.end(), t) == inputs.end()) inputs.push_back(t);
      }
    return inputs;
  }

  // Adds producer `p` of `t` when t can become internal to the region.
  bool tryAdd(int p, int t, int sink) {
    if (p < 0 || in_[p] || !candidate_[p] || used_[p]) return false;
    if (g_.layer(p).precision != g_.layer(sink).precision) return false;
    if (g_.tensor(t).dtype != g_.tensor(g_.layer(sink).outputs[0]).dtype || g_.tensor(t).isOutput) return false;
    for (int reader : g_.readers(t))
      if (!in_[reader]) return false;
    in_[p] = true;
    members_.push_back(p);
    if (static_cast<int>(externalInputs(members_).size()) <= kPointwiseMaxInputs) return true;
    members_.pop_back();
    in_[p] = false;
    return false;
  }

  const FusionRewriter& g_;
  const std::vector<bool>& candidate_;
  const std::vector<bool>& used_;
  std::vector<bool> in_;  // membership of the region being grown
  std::vector<int> members_;
};

// The Pointwise layer computing `region`.
Layer pointwiseLayer(const FusionRewriter& g, const Region& region) {
  const std::vector<int>& layers = region.layers;
  std::string program;
  for (size_t k = 0; k < layers.size(); ++k) {
    std::vector<std::string> operands;
    for (int t : g.layer(layers[k]).inputs) {
      const auto step = std::find(layers.begin(), layers.end(), g.tensor(t).producer);
      const auto input = std::find(region.inputs.begin(), region.inputs.end(), t);
      operands.push_back(step != layers.end() ? pointwiseStepName(static_cast<int>(step - layers.begin()))
                                              : pointwiseInputName(static_cast<int>(input - region.inputs.begin())));
    }
    program += (k ? "; " : "") + formatPointwiseStep(static_cast<int>(k), g.layer(layers[k]).attrs, operands);
  }
  Layer fused;
  fused.kind = "Pointwise";
  fused.inputs = region.inputs;
  fused.attrs.set("program", program);
  return fused;
}

}  // namespace

PointwiseFusions fusePointwise(Network& network) {
  FusionRewriter g(network);
  const int n = static_cast<int>(g.numLayers());
  std::vector<bool> candidate(n), used(n, false);
  for (int l = 0; l < n; ++l) candidate[l] = isCandidate(g, l);
  RegionBuilder builder(g, candidate, used);
  PointwiseFusions fused;
  for (int sink = n - 1; sink >= 0; --sink) {
    if (!candidate[sink] || used[sink]) continue;
    const Region region = builder.grow(sink);
    if (region.layers.size() < 2 || !g.replace(region.layers, pointwiseLayer(g, region))) continue;
    for (int l : region.layers) used[l] = true;
    ++fused.chains;
    fused.layers += region.layers.size();
  }
  if (fused.chains) g.apply(network);
  return fused;
}

}  // namespace inferrt
