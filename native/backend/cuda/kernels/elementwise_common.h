// Host helpers shared by the elementwise family's kernel definitions (elementwise.cc, activation.cc, cast.cc,
// pointwise.cc): argument checks, the DType -> EwType and CPU op -> Ew op mappings (ops are parsed by the CPU
// reference's own parsers, so both backends read a layer alike) and the broadcast geometry the kernels index with.
#pragma once
#include <string>
#include <vector>

#include "backend/cpu/math_binary_ops.h"
#include "backend/cpu/math_scalar_ops.h"
#include "backend/cuda/kernels/cuda_kernel.h"
#include "backend/cuda/kernels/elementwise_launch.h"

namespace inferrt::cudakernels {

EwType toEwType(DType t);
EwBinary toEwBinary(BinaryOp op);
EwUnary toEwUnary(UnaryOp op);
EwActivation toEwActivation(ActivationOp op);

// The i-th input, which must be present.
const DeviceTensor& ewInput(const CudaKernelArgs& args, size_t i, const char* what);

// Throws Internal when the executor's output allocation is not what this call writes (never write out of bounds).
void requireEwOutput(const DeviceTensor& out, DType dtype, const Dims& dims, const char* what);

// The broadcast of operands into `out`, coalesced: size-1 output dims dropped and neighbours merged where every
// operand steps through both as through one. Dims innermost first; strides[k][d]: operand k's element stride along
// dim d (0 on broadcast dims). One element (rank 0 or all dims 1) gives rank 1 of size 1 with zero strides.
// Throws ShapeMismatch for an operand that does not broadcast to `out`.
struct CoalescedBroadcast {
  std::vector<int64_t> dims;
  std::vector<std::vector<int64_t>> strides;
};
CoalescedBroadcast coalesceBroadcast(const Dims& out, const std::vector<Dims>& operands);

// Offsets of each operand (at most kEwMaxOperands, each broadcastable to `out`) for every element of `out`,
// coalesced. Throws ShapeMismatch for an operand that does not broadcast, UnsupportedOp above kEwMaxRank.
EwGeometry makeEwGeometry(const Dims& out, const std::vector<Dims>& operands);

// "" when every input's rank fits the broadcast kernels, else the reason.
std::string ewRankSupport(const std::vector<TensorDesc>& inputs);

// Throws CudaError when the last kernel launch failed, Internal when the launcher had no kernel for the call.
void checkEwLaunch(bool launched, const char* kind, const std::string& op);

// Registration of the family's other files (registerCudaElementwiseKernels calls them).
void registerCudaUnaryActivationKernels();
void registerCudaCastKernel();

}  // namespace inferrt::cudakernels
