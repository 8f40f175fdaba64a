// CUDA kernel definitions of ElementWise and Where (kernels in elementwise.cu), the family's shared host helpers,
// and registerCudaElementwiseKernels(). Argument checks mirror the CPU reference (backend/cpu/elementwise.cc,
// indexing.cc) so a layer fails with the same error on either backend.
#include <climits>
#include <string>
#include <vector>

#include "backend/cpu/broadcast.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/elementwise_common.h"
#include "ir/error.h"

namespace inferrt {

namespace cudakernels {

static_assert(static_cast<int>(EwType::F32) == static_cast<int>(DType::Float32) &&
                  static_cast<int>(EwType::F16) == static_cast<int>(DType::Float16) &&
                  static_cast<int>(EwType::I8) == static_cast<int>(DType::Int8) &&
                  static_cast<int>(EwType::U8) == static_cast<int>(DType::UInt8) &&
                  static_cast<int>(EwType::I32) == static_cast<int>(DType::Int32) &&
                  static_cast<int>(EwType::I64) == static_cast<int>(DType::Int64) &&
                  static_cast<int>(EwType::Bool) == static_cast<int>(DType::Bool) && kNumDTypes == 7,
              "EwType must mirror DType");

EwType toEwType(DType t) { return static_cast<EwType>(static_cast<int32_t>(t)); }

const DeviceTensor& ewInput(const CudaKernelArgs& args, size_t i, const char* what) {
  if (i >= args.inputs.size() || !args.inputs[i]) fail(ErrorCode::InvalidArgument, "missing input '", what, "'");
  return *args.inputs[i];
}

void requireEwOutput(const DeviceTensor& out, DType dtype, const Dims& dims, const char* what) {
  if (out.dtype != dtype || out.dims != dims)
    fail(ErrorCode::Internal, what, " is ", dtypeName(out.dtype), " ", dimsToString(out.dims), ", expected ",
         dtypeName(dtype), " ", dimsToString(dims));
  if (out.numel() > 0 && !out.data) fail(ErrorCode::Internal, what, " has no device memory");
}

EwBinary toEwBinary(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return EwBinary::Add;
    case BinaryOp::Sub: return EwBinary::Sub;
    case BinaryOp::Mul: return EwBinary::Mul;
    case BinaryOp::Div: return EwBinary::Div;
    case BinaryOp::Pow: return EwBinary::Pow;
    case BinaryOp::Max: return EwBinary::Max;
    case BinaryOp::Min: return EwBinary::Min;
    case BinaryOp::Mod: return EwBinary::Mod;
    case BinaryOp::FMod: return EwBinary::FMod;
    case BinaryOp::PRelu: return EwBinary::PRelu;
    case BinaryOp::And: return EwBinary::And;
    case BinaryOp::Or: return EwBinary::Or;
    case BinaryOp::Xor: return EwBinary::Xor;
    case BinaryOp::Equal: return EwBinary::Equal;
    case BinaryOp::Less: return EwBinary::Less;
    case BinaryOp::Greater: return EwBinary::Greater;
    case BinaryOp::LessEqual: return EwBinary::LessEqual;
    case BinaryOp::GreaterEqual: return EwBinary::GreaterEqual;
  }
  fail(ErrorCode::Internal, "ElementWise op without a CUDA mapping");
}

CoalescedBroadcast coalesceBroadcast(const Dims& out, const std::vector<Dims>& operands) {
  const size_t n = operands.size();
  std::vector<std::vector<int64_t>> strides;
  for (const Dims& d : operands) strides.push_back(broadcastStrides(d, out));
  // Outermost first: drop size-1 dims (their coordinate is always 0), merge a dim into its outer neighbour
  // when every operand steps through both as through one (contiguous, or broadcast over both).
  std::vector<int64_t> dims;
  std::vector<std::vector<int64_t>> steps;  // per kept dim, each operand's stride
  for (size_t d = 0; d < out.size(); ++d) {
    if (out[d] == 1) continue;
    std::vector<int64_t> s(n);
    for (size_t k = 0; k < n; ++k) s[k] = strides[k][d];
    bool merge = !dims.empty();
    for (size_t k = 0; k < n && merge; ++k) merge = steps.back()[k] == s[k] * out[d];
    if (merge) {
      dims.back() *= out[d];
      steps.back() = s;
    } else {
      dims.push_back(out[d]);
      steps.push_back(s);
    }
  }
  if (dims.empty()) {  // one element (rank 0 or all dims 1): offset 0 everywhere
    dims.push_back(1);
    steps.emplace_back(n, 0);
  }
  CoalescedBroadcast c;
  c.dims.assign(dims.rbegin(), dims.rend());  // innermost first
  c.strides.assign(n, std::vector<int64_t>(dims.size()));
  for (size_t j = 0; j < dims.size(); ++j)
    for (size_t k = 0; k < n; ++k) c.strides[k][j] = steps[dims.size() - 1 - j][k];
  return c;
}

EwGeometry makeEwGeometry(const Dims& out, const std::vector<Dims>& operands) {
  const size_t n = operands.size();
  if (n == 0 || n > static_cast<size_t>(kEwMaxOperands))
    fail(ErrorCode::Internal, "broadcast geometry of ", n, " operands");
  const CoalescedBroadcast c = coalesceBroadcast(out, operands);
  if (c.dims.size() > static_cast<size_t>(kEwMaxRank))
    fail(ErrorCode::UnsupportedOp, "broadcast of ", dimsToString(out), " needs rank ", c.dims.size(),
         " after merging dims; the CUDA kernels take at most ", kEwMaxRank);
  EwGeometry g;
  g.rank = static_cast<int32_t>(c.dims.size());
  g.numel = volume(out);
  g.narrow = g.numel <= INT32_MAX ? 1 : 0;
  for (int j = 0; j < g.rank; ++j) {
    g.dims[j] = c.dims[j];
    for (size_t k = 0; k < n; ++k) g.strides[k][j] = c.strides[k][j];
  }
  bool flat = g.rank == 1;
  for (size_t k = 0; k < n && flat; ++k) flat = g.strides[k][0] == 1 || g.numel == 1;
  g.flat = flat ? 1 : 0;
  return g;
}

std::string ewRankSupport(const std::vector<TensorDesc>& inputs) {
  for (const TensorDesc& t : inputs)
    if (t.dims.size() > static_cast<size_t>(kEwMaxRank))
      return "broadcast of rank " + std::to_string(t.dims.size()) + " (the kernels take up to " +
             std::to_string(kEwMaxRank) + ")";
  return "";
}

void checkEwLaunch(bool launched, const char* kind, const std::string& op) {
  if (!launched) fail(ErrorCode::Internal, "no CUDA ", kind, " kernel for '", op, "' with these dtypes");
  INFERRT_CUDA_CHECK(cudaGetLastError());
}

namespace {

bool isComparison(EwBinary op) { return op >= EwBinary::Equal; }
bool isLogic(EwBinary op) { return op == EwBinary::And || op == EwBinary::Or || op == EwBinary::Xor; }

std::string supportsBroadcast(const Layer&, const std::vector<TensorDesc>& inputs) { return ewRankSupport(inputs); }

void runElementWise(CudaKernelArgs& args) {
  const std::string name = args.layer.attrs.getString("op");
  const EwBinary op = toEwBinary(parseBinaryOp(name));
  const DeviceTensor& a = ewInput(args, 0, "a");
  const DeviceTensor& b = ewInput(args, 1, "b");
  if (op != EwBinary::Pow && a.dtype != b.dtype)
    fail(ErrorCode::DTypeMismatch, "ElementWise inputs differ in dtype: ", dtypeName(a.dtype), " vs ",
         dtypeName(b.dtype));
  const bool boolIn = a.dtype == DType::Bool;
  if (isLogic(op) != boolIn && !(op == EwBinary::Equal && boolIn))
    fail(ErrorCode::DTypeMismatch, "ElementWise ", name, " is not defined on ", dtypeName(a.dtype), " inputs");
  const Dims dims = broadcastDims(a.dims, b.dims);
  DeviceTensor& out = args.outputs.at(0);
  requireEwOutput(out, isComparison(op) || isLogic(op) ? DType::Bool : a.dtype, dims, "ElementWise output");
  if (out.numel() == 0) return;
  const EwGeometry g = makeEwGeometry(dims, {a.dims, b.dims});
  checkEwLaunch(launchEwBinary(op, toEwType(a.dtype), toEwType(b.dtype), a.data, b.data, out.data, g,
                               args.env.stream, args.env.multiProcessors),
                "ElementWise", name);
}

void runWhere(CudaKernelArgs& args) {
  const DeviceTensor& cond = ewInput(args, 0, "cond");
  const DeviceTensor& x = ewInput(args, 1, "x");
  const DeviceTensor& y = ewInput(args, 2, "y");
  if (cond.dtype != DType::Bool || x.dtype != y.dtype)
    fail(ErrorCode::DTypeMismatch, "Where takes bool, T, T; got ", dtypeName(cond.dtype), ", ", dtypeName(x.dtype),
         ", ", dtypeName(y.dtype));
  const Dims dims = broadcastDims(broadcastDims(cond.dims, x.dims), y.dims);
  DeviceTensor& out = args.outputs.at(0);
  requireEwOutput(out, x.dtype, dims, "Where output");
  if (out.numel() == 0) return;
  const EwGeometry g = makeEwGeometry(dims, {cond.dims, x.dims, y.dims});
  checkEwLaunch(launchEwWhere(cond.data, x.data, y.data, out.data, static_cast<int>(dtypeSize(x.dtype)), g,
                              args.env.stream, args.env.multiProcessors),
                "Where", dtypeName(x.dtype));
}

}  // namespace

}  // namespace cudakernels

void registerCudaElementwiseKernels() {
  registerCudaKernel({"ElementWise", cudakernels::supportsBroadcast, cudakernels::runElementWise, 0});
  registerCudaKernel({"Where", cudakernels::supportsBroadcast, cudakernels::runWhere, 0});
  cudakernels::registerCudaUnaryActivationKernels();
  cudakernels::registerCudaCastKernel();
}

}  // namespace inferrt
