// Shapes of every tensor of a network for given input dims, by running the shape rules in order (and the CPU
// kernels on small known values, so shape subgraphs such as Shape -> Gather -> Concat -> Reshape resolve).
// Used for output shapes before infer, for checking profiles at build time, and for re-checking loaded plans.
#pragma once
#include <vector>

#include "ir/network.h"
#include "ir/op_registry.h"

namespace inferrt {

// `inputDims` in network input order (kDynamic where unknown). Returns one desc per tensor. Throws what a shape
// rule throws (naming the layer) when the dims do not fit the network.
// `inputValues` (empty, or one per input, null where unknown) gives the values of inputs that feed shapes
// (a Reshape's shape, a Range's limit, ...), so that what depends on them resolves too.
std::vector<TensorDesc> resolveShapes(const Network& network, const std::vector<Dims>& inputDims,
                                      const std::vector<TensorPtr>& inputValues = {});

}  // namespace inferrt
