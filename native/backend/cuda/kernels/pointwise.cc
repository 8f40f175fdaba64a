// CUDA kernel definition of Pointwise (kernel in pointwise.cu): the layer's program, parsed as the CPU reference
// parses it (ir/pointwise_program.h), becomes a PwProgram passed to the kernel by value; inputs are indexed
// through the coalesced broadcast of the elementwise family (elementwise_common.h).
#include <string>
#include <vector>

#include "backend/cuda/kernels/elementwise_common.h"
#include "backend/cuda/kernels/pointwise_launch.h"
#include "ir/error.h"
#include "ir/pointwise_program.h"

namespace inferrt {

namespace cudakernels {

namespace {

static_assert(kPwMaxInputs == kPointwiseMaxInputs && kPwMaxSteps == kPointwiseMaxSteps,
              "the CUDA program holds what the IR allows");

// The kernel's form of `program`; every operand slot is checked to precede its step (the kernel trusts them).
PwProgram toDeviceProgram(const PointwiseProgram& program) {
  const int steps = static_cast<int>(program.steps.size());
  if (program.numInputs < 1 || program.numInputs > kPwMaxInputs || steps < 1 || steps > kPwMaxSteps)
    fail(ErrorCode::Internal, "Pointwise program of ", program.numInputs, " inputs and ", steps, " steps");
  PwProgram p;
  p.numInputs = program.numInputs;
  p.numSteps = steps;
  for (int s = 0; s < steps; ++s) {
    const PointwiseStep& step = program.steps[s];
    PwStep& d = p.steps[s];
    const int own = program.numInputs + s;
    const int b = step.kind == PointwiseStepKind::Binary ? step.b : 0;
    if (step.a < 0 || step.a >= own || b < 0 || b >= own)
      fail(ErrorCode::Internal, "Pointwise step ", s, " reads slot ", step.a, "/", step.b, " at or after its own");
    d.a = static_cast<uint8_t>(step.a);
    d.b = static_cast<uint8_t>(b);
    switch (step.kind) {
      case PointwiseStepKind::Binary:
        d.kind = PwStepKind::Binary;
        d.op = static_cast<uint8_t>(toEwBinary(step.binary));
        break;
      case PointwiseStepKind::Unary:
        d.kind = PwStepKind::Unary;
        d.op = static_cast<uint8_t>(toEwUnary(step.unary));
        break;
      case PointwiseStepKind::Activation:
        d.kind = PwStepKind::Activation;
        d.op = static_cast<uint8_t>(toEwActivation(step.activation.op));
        d.alpha = step.activation.alpha;
        d.beta = step.activation.beta;
        break;
    }
  }
  return p;
}

std::string supportsPointwise(const Layer&, const std::vector<TensorDesc>& inputs) { return ewRankSupport(inputs); }

void runPointwise(CudaKernelArgs& args) {
  const int n = static_cast<int>(args.inputs.size());
  const PwProgram program = toDeviceProgram(parsePointwiseProgram(args.layer.attrs.getString("program"), n));
  const DType dtype = ewInput(args, 0, "x0").dtype;
  Dims dims;
  std::vector<Dims> inDims;
  for (int k = 0; k < n; ++k) {
    const DeviceTensor& x = ewInput(args, k, "x");
    if (!isFloat(x.dtype) || x.dtype != dtype)
      fail(ErrorCode::DTypeMismatch, "Pointwise input ", k, " is ", dtypeName(x.dtype), ", expected ",
           isFloat(dtype) ? dtypeName(dtype) : "float32 or float16");
    dims = k == 0 ? x.dims : broadcastDims(dims, x.dims);
    inDims.push_back(x.dims);
  }
  DeviceTensor& out = args.outputs.at(0);
  requireEwOutput(out, dtype, dims, "Pointwise output");
  if (out.numel() == 0) return;
  const CoalescedBroadcast c = coalesceBroadcast(dims, inDims);
  if (c.dims.size() > static_cast<size_t>(kPwMaxRank))
    fail(ErrorCode::UnsupportedOp, "broadcast of ", dimsToString(dims), " needs rank ", c.dims.size(),
         " after merging dims; the Pointwise kernel takes at most ", kPwMaxRank);
  PwGeometry g;
  g.rank = static_cast<int32_t>(c.dims.size());
  g.numel = out.numel();
  g.narrow = g.numel <= INT32_MAX ? 1 : 0;
  PwIo io;
  io.output = out.data;
  for (int k = 0; k < n; ++k) {
    io.inputs[k] = args.inputs[k]->data;  // non-null: the output has elements, so every input has
    if (!io.inputs[k]) fail(ErrorCode::Internal, "Pointwise input ", k, " has no device memory");
  }
  for (int j = 0; j < g.rank; ++j) {
    g.dims[j] = c.dims[j];
    for (int k = 0; k < n; ++k) g.strides[k][j] = c.strides[k][j];
  }
  checkEwLaunch(launchPointwise(toEwType(dtype), program, io, g, args.env.stream, args.env.multiProcessors),
                "Pointwise", dtypeName(dtype));
}

}  // namespace

}  // namespace cudakernels

void registerCudaPointwiseKernels() {
  registerCudaKernel({"Pointwise", cudakernels::supportsPointwise, cudakernels::runPointwise, 0});
}

}  // namespace inferrt
