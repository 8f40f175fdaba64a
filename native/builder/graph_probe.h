// Evaluating part of a network on the CPU reference kernels for chosen input values, so that a pass can check
// what a subgraph computes (the position ids a BERT export derives from input_ids, the additive attention mask
// for an all-ones attention_mask, a fused elementwise program) instead of matching each exporter's spelling.
#pragma once
#include <map>
#include <optional>
#include <vector>

#include "ir/network.h"
#include "ir/op_registry.h"

namespace inferrt {

// What tensor `target` is when the network inputs in `inputs` (tensor index -> value) take those values: its
// dims, and its value when every layer on the way could be evaluated (layers with more than `maxElements`
// elements in or out are not run, only shape-inferred, so probing a large model stays cheap). Empty when
// `target` depends on an input not given or a layer's shape rule or kernel fails.
std::optional<TensorDesc> probeDesc(const Network& network, int target, const std::map<int, TensorPtr>& inputs,
                                    int64_t maxElements = 1 << 16);

// probeDesc's value, or null when it has none.
TensorPtr probeTensor(const Network& network, int target, const std::map<int, TensorPtr>& inputs);

// The outputs of layer `layer` for input values `values` (null: the recorded constant, if any); empty when the
// layer cannot be evaluated for them.
std::vector<TensorPtr> probeLayer(const Network& network, int layer, const std::vector<TensorPtr>& values);

}  // namespace inferrt
