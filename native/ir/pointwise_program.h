// The program of a Pointwise layer (native/ir/LAYERS.md): a chain of float ElementWise, Unary and Activation ops
// written as text ("t0=add(x0,x1); t1=sigmoid(t0); t2=mul(t0,t1)") and parsed here, once per shape-rule or
// kernel call, into steps that the CPU and CUDA kernels both evaluate. The ops are the unfused layers' own
// (backend/cpu/math_binary_ops.h, math_scalar_ops.h), so a step means exactly what its layer means.
#pragma once
#include <string>
#include <vector>

#include "backend/cpu/math_binary_ops.h"
#include "backend/cpu/math_scalar_ops.h"
#include "ir/attributes.h"

namespace inferrt {

constexpr int kPointwiseMaxInputs = 8;
constexpr int kPointwiseMaxSteps = 32;

enum class PointwiseStepKind { Binary, Unary, Activation };

struct PointwiseStep {
  PointwiseStepKind kind = PointwiseStepKind::Unary;
  BinaryOp binary = BinaryOp::Add;              // kind Binary: a float arithmetic op
  UnaryOp unary = UnaryOp::Abs;                 // kind Unary: a float op
  Activation activation{ActivationOp::Relu, 0, 0};  // kind Activation: alpha/beta resolved to the op's defaults
  // Operand slots: i < numInputs is input x<i>, numInputs + k is step k's result t<k>; b is -1 for one operand.
  int a = -1, b = -1;
  Attributes attrs;  // the unfused layer's attributes: op, and alpha/beta/approximate as written
  std::string text;  // the step as written, for messages
};

struct PointwiseProgram {
  int numInputs = 0;
  std::vector<PointwiseStep> steps;  // in order; the last one's result is the layer's output
  int numSlots() const { return numInputs + static_cast<int>(steps.size()); }
};

// The IR kind of the layer a step stands for: "ElementWise", "Unary" or "Activation".
const char* pointwiseStepLayerKind(PointwiseStepKind kind);

// Parses and validates `text` for a layer of `numInputs` inputs: each step is checked as the shape rule of its
// unfused layer checks it (clip bounds, celu alpha, gelu approximate). Throws InvalidArgument naming the step (its
// index and text) on a syntax error, an unknown or non-float op, a wrong operand count, an operand that is
// neither an input below numInputs nor an earlier step, or a parameter the op does not take.
PointwiseProgram parsePointwiseProgram(const std::string& text, int numInputs);

// Operand names as programs write them: x<i> (input i), t<k> (step k's result).
std::string pointwiseInputName(int i);
std::string pointwiseStepName(int k);

// Step `index` as parsePointwiseProgram reads it: "t<index>=<op>[<params>](<operands>)" with op = attrs' "op";
// params are the Activation attributes alpha and beta (shortest decimal that reads back exactly) and approximate,
// where `attrs` has them.
std::string formatPointwiseStep(int index, const Attributes& attrs, const std::vector<std::string>& operands);

}  // namespace inferrt
