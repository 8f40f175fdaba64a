// Symbolic dims, for fusion passes that must prove two dims equal for every input a network accepts, also where
// build time knows neither (kDynamic). Attention needs it: MatMul broadcasts the batch and head dims of q, k and v,
// the fused layer does not, so it may replace the MatMuls only where those dims are provably the same.
//
// Each dim becomes an expression: an integer times a product of atoms, possibly divided by another such product.
// An atom stands for a dim the rules below cannot see through: dim `a` of tensor `t` (a network input, or the
// output of a layer they do not model). One forward walk over the layers derives every tensor's dims and, for
// small integer vectors (shape tensors: Shape -> Gather -> Concat -> Reshape), their values, through Transpose,
// Reshape (0 copies, -1 is the input volume over the other dims), MatMul, broadcasting layers, same-shape layers,
// Squeeze, Unsqueeze, Flatten, Gather, Split, Concat and Expand.
//
// Soundness: every expression is a function of its atoms' run-time values, so equal expressions mean equal dims
// in every run that computes both tensors. Divisors only come from a Reshape's -1, which the Reshape rejects
// when another output dim is 0, so they are never 0 and common factors may cancel. Unequal expressions prove
// nothing: callers then keep the unfused layers.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "ir/network.h"

namespace inferrt {

struct SymDim {
  int64_t num = 1, den = 1;         // the integer factor num/den (den > 0, reduced)
  std::vector<int64_t> up, down;    // atoms multiplied in and divided out, sorted
  bool operator==(const SymDim& o) const { return num == o.num && den == o.den && up == o.up && down == o.down; }
  bool isStatic() const { return up.empty() && down.empty() && den == 1; }
};

class SymbolicDims {
 public:
  SymbolicDims(const std::vector<TensorInfo>& tensors, const std::vector<Layer>& layers);

  // Whether dim `axisA` of tensor `a` and dim `axisB` of tensor `b` are equal in every run (false: unknown).
  bool provablyEqual(int a, int64_t axisA, int b, int64_t axisB) const;
  // The dims of tensor `t` as expressions (empty where not derived).
  const std::vector<SymDim>& dimsOf(int t) const { return dims_.at(t); }
  // The elements of `t` as expressions where it is a small integer vector whose value was derived (shape tensors).
  const std::optional<std::vector<SymDim>>& valueOf(int t) const { return values_.at(t); }

 private:
  using Dimv = std::vector<SymDim>;
  Dimv outputDims(const Layer& layer, size_t output) const;
  std::optional<Dimv> outputValue(const Layer& layer, size_t output) const;
  SymDim atom(int tensor, size_t axis) const;

  const std::vector<TensorInfo>& tensors_;
  std::vector<Dimv> dims_;                   // per tensor
  std::vector<std::optional<Dimv>> values_;  // per tensor: the elements of a small integer vector, where derived
};

}  // namespace inferrt
