// What the fusion passes need while matching a pattern: who reads each tensor, which tensors are build-time
// constants, and a list of edits (rewrite a chain's last layer, drop the rest) applied at the end in one go.
// The rewritten layer keeps its output tensor, so consumers and network outputs need no renumbering.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "ir/network.h"

namespace inferrt {

class FusionRewriter {
 public:
  explicit FusionRewriter(const Network& network);

  const TensorInfo& tensor(int t) const { return tensors_[t]; }
  const Layer& layer(int l) const { return layers_[l]; }
  size_t numLayers() const { return layers_.size(); }

  // The layer writing `t` when it has `kind` (and attribute op == `op`, if given) and is not yet claimed by
  // another fusion; -1 otherwise.
  int producer(int t, const char* kind, const char* op = nullptr) const;
  // The layers reading `t` (each once, in layer order until the first replace).
  const std::vector<int>& readers(int t) const { return readers_[t]; }
  // The only layer reading `t`, or -1 when t is a network output or has no or several readers.
  int soleReader(int t) const;
  // Whether `t` is read by exactly the layers in `readers` (a layer reading it twice counts once) and is not
  // a network output: the intermediate can disappear with them.
  bool readOnlyBy(int t, std::vector<int> readers) const;
  // The float32 value of a build-time constant, or null.
  const Tensor* constant(int t) const;
  // Whether `t` is a one-element constant whose value, rounded to float32, is `value`.
  bool isScalar(int t, double value) const;
  // Whether `layers` all exist, are unclaimed and ask for one precision.
  bool canFuse(const std::vector<int>& layers) const;

  // Adds a constant tensor (for example the unit scale of a layer norm without an affine tail).
  int addConstant(const std::string& name, Tensor value);
  // Adds a tensor (a unique name from `name`) that a helper layer of the next replace() writes.
  int addIntermediate(const std::string& name, DType dtype, Dims dims);
  // A layer name from `base` that no layer has.
  std::string uniqueLayerName(const std::string& base) const;
  // Replaces the layers `chain` (topologically ordered, all unclaimed) by `fused`, which takes the place and
  // the output of the last one. Returns false, changing nothing, when `fused`'s shape rule rejects it or
  // disagrees with the chain's output dtype/dims.
  bool replace(const std::vector<int>& chain, Layer fused);
  // The same, and each helper (slot, layer) takes the place of chain layer `slot` (not the last): a layer the
  // fused one needs, such as a transpose of an operand, writing a tensor from addIntermediate. A helper may read
  // only tensors that exist before its slot; its shape rule must give its output's dtype/dims.
  bool replace(const std::vector<int>& chain, Layer fused, std::vector<std::pair<int, Layer>> helpers);
  // The same, where the fused layer's shape rule may also know dims the chain's output records as dynamic (a
  // rewrite whose proof saw through run-time shape computations): those are recorded as known. The caller must
  // have proved that the fused layer computes the chain's output.
  bool replaceKnowingMore(const std::vector<int>& chain, Layer fused);
  // Writes the edits back into `network` and drops the replaced layers.
  void apply(Network& network);

 private:
  bool inferredAsRecorded(const Layer& layer) const;

  std::vector<TensorInfo> tensors_;
  std::vector<Layer> layers_;
  std::vector<std::vector<int>> readers_;  // per tensor, the layers reading it (each once)
  std::vector<bool> claimed_, keep_;
};

}  // namespace inferrt
