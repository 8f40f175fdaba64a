// Host helpers shared by the elementwise family's kernel definitions (elementwise.cc, activation.cc, cast.cc):
// argument checks, the DType -> EwType mapping and the broadcast geometry the kernels index with.
#pragma once
#include <string>
#include <vector>

#include "backend/cuda/kernels/cuda_kernel.h"
#include "backend/cuda/kernels/elementwise_launch.h"

namespace inferrt::cudakernels {

EwType toEwType(DType t);

// The i-th input, which must be present.
const DeviceTensor& ewInput(const CudaKernelArgs& args, size_t i, const char* what);

// Throws Internal when the executor's output allocation is not what this call writes (never write out of bounds).
void requireEwOutput(const DeviceTensor& out, DType dtype, const Dims& dims, const char* what);

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
