// CUDA kernel definition of Cast (kernels in cast.cu): every pair of the seven dtypes; a cast to the same dtype
// is a device-to-device copy, as the CPU's memcpy (bool bytes other than 0/1 are kept, not normalized).
#include <string>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/elementwise_common.h"
#include "ir/error.h"

namespace inferrt::cudakernels {

namespace {

std::string supportsCast(const Layer&, const std::vector<TensorDesc>&) { return ""; }

void runCast(CudaKernelArgs& args) {
  const DeviceTensor& x = ewInput(args, 0, "x");
  DType to;
  if (!dtypeFromInt(args.layer.attrs.getInt("to"), &to))
    fail(ErrorCode::InvalidArgument, "Cast 'to' is not a dtype code");
  DeviceTensor& out = args.outputs.at(0);
  // In an fp16 layer the executor stores a float32 result as fp16: cast straight to that.
  if (to == DType::Float32 && out.dtype == DType::Float16) to = DType::Float16;
  requireEwOutput(out, to, x.dims, "Cast output");
  if (x.numel() == 0) return;
  if (to == x.dtype) {
    INFERRT_CUDA_CHECK(cudaMemcpyAsync(out.data, x.data, x.bytes(), cudaMemcpyDeviceToDevice, args.env.stream));
    return;
  }
  checkEwLaunch(launchEwCast(toEwType(x.dtype), toEwType(to), x.data, out.data, x.numel(), args.env.stream,
                             args.env.multiProcessors),
                "Cast", std::string(dtypeName(x.dtype)) + " -> " + dtypeName(to));
}

}  // namespace

void registerCudaCastKernel() { registerCudaKernel({"Cast", supportsCast, runCast, 0}); }

}  // namespace inferrt::cudakernels
