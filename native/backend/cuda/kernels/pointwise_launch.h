// Host launcher of the Pointwise kernel (pointwise.cu): a fused chain of float elementwise ops whose program
// (native/ir/pointwise_program.h, translated by pointwise.cc) travels to the kernel by value. Plain C++ types only,
// so nvcc never sees ir/ headers.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "backend/cuda/kernels/elementwise_launch.h"

namespace inferrt::cudakernels {

constexpr int kPwMaxInputs = 8;
constexpr int kPwMaxSteps = 32;
constexpr int kPwMaxRank = kEwMaxRank;

enum class PwStepKind : uint8_t { Binary = 0, Unary = 1, Activation = 2 };

// One step. Slots: input k is slot k, step s's result is slot numInputs + s; a and b (0 for one-operand ops) are
// slots below the step's own, so every slot read has been written.
struct PwStep {
  PwStepKind kind = PwStepKind::Unary;
  uint8_t op = 0;  // an EwBinary (float arithmetic), EwUnary (float op) or EwActivation value
  uint8_t a = 0, b = 0;
  double alpha = 0, beta = 0;  // Activation: resolved to the op's defaults, as the CPU uses them
};

struct PwProgram {
  int32_t numInputs = 0;  // 1..kPwMaxInputs
  int32_t numSteps = 0;   // 1..kPwMaxSteps; the last step's result is the output
  PwStep steps[kPwMaxSteps];
};

// Where each input's element of output element i lives: as EwGeometry (dims innermost first, coalesced), for up
// to kPwMaxInputs operands. Strides of unused operands are 0.
struct PwGeometry {
  int32_t rank = 1;
  int32_t narrow = 0;  // 1: numel < 2^31, coordinates by 32-bit division
  int64_t numel = 0;   // > 0
  int64_t dims[kPwMaxRank] = {};
  int64_t strides[kPwMaxInputs][kPwMaxRank] = {};
};

struct PwIo {
  const void* inputs[kPwMaxInputs] = {};  // device pointers of type `type`, numInputs of them
  void* output = nullptr;
};

// output = program(inputs) over g.numel elements, all of `type` (F32 or F16; false, launching nothing, for
// others). Every step runs in fp32 (Unary/Activation in double, as their own kernels), inputs widened and the
// output rounded once. When every input is the output's shape or a single element (g coalesced to rank 1 with
// strides 1 or 0) the kernel reads them flat, four elements per access where the pointers are aligned.
bool launchPointwise(EwType type, const PwProgram& program, const PwIo& io, const PwGeometry& g, cudaStream_t stream,
                     int multiProcessors);

}  // namespace inferrt::cudakernels
