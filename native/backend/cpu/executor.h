// Running layers on the CPU reference kernels: one layer (definition-time and build-time folding) or a whole
// network (the CPU backend's engine execution, with fp16 emulation and intermediates freed after last use).
#pragma once
#include <cstdint>
#include <vector>

#include "ir/network.h"
#include "ir/op_registry.h"

namespace inferrt {

// Inputs up to this many elements in all are folded while a network is defined (shape subgraphs), so later
// shape rules such as Reshape's see concrete values.
constexpr int64_t kDefinitionFoldLimit = 65536;

// Runs `layer`'s CPU kernel. `inputs[i]` null marks an absent optional input. Outputs are allocated as
// `outDescs` say (dtype, static dims) unless the kernel makes views; a view kernel's result is checked against
// them. Throws UnsupportedOp when the CPU backend has no kernel for the kind; errors name the layer.
std::vector<TensorPtr> runCpuLayer(const Layer& layer, const std::vector<TensorPtr>& inputs,
                                   const std::vector<TensorDesc>& outDescs);

// What a layer's outputs are given what is known of its inputs: the shape rule, then the values too (by running
// the CPU kernel) when every present input has a value, inputs and outputs hold at most `maxElements` elements
// each in all, and the CPU backend supports the kind.
std::vector<TensorDesc> evaluateLayer(const Layer& layer, const std::vector<TensorDesc>& inputs, int64_t maxElements);

// The descs of a layer's inputs in `tensors` (dims and values as recorded); absent inputs are not present.
std::vector<TensorDesc> inputDescs(const Layer& layer, const std::vector<TensorInfo>& tensors);

// A float32 copy of `t` (float32) holding only fp16-representable values: what fp16 storage would give back.
TensorPtr roundedToHalf(const Tensor& t);

// Runs a validated network on the CPU. Built once per engine; `run` is const and thread-safe.
class CpuExecutor {
 public:
  explicit CpuExecutor(const Network& network);

  // `inputs` in network input order, with concrete dims; returns the outputs in network output order.
  std::vector<TensorPtr> run(const std::vector<TensorPtr>& inputs) const;

 private:
  const Network& network_;
  std::vector<int> lastUse_;  // per tensor: the last layer reading it (-1: none); outputs are never freed
};

}  // namespace inferrt
