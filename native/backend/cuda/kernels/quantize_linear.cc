// QuantizeLinear on the GPU, for the form the builder's INT8 pass inserts in front of its INT8 layers: x float32
// (or float16), one scale (float32, or float16), no zero point, int8 out: y = saturate(roundHalfEven(x / scale)),
// the division in fp32, NaN -> 0 (the CPU kernel, backend/cpu/quantization.cc, bit for bit). Every other form
// (uint8, zero points, per-axis scales, int32 x) is declined here and runs on the CPU kernel. The scale is read on
// the device, so a scale computed at run time works as well as a constant one. With the builder's activation (its
// GELU handoff) act(x) is quantized; an fp16 x then goes through a table of all 65,536 fp16 values' int8 values.
#include <string>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/cuda_kernel.h"
#include "backend/cuda/kernels/quantized_launch.h"
#include "ir/error.h"
#include "ir/gemm_layers.h"

namespace inferrt {

namespace {

bool isPerTensor(const Dims& dims) { return dims.empty() || (dims.size() == 1 && dims[0] == 1); }

std::string supportsQuantizeLinear(const Layer& layer, const std::vector<TensorDesc>& inputs) {
  if (inputs.size() < 2) return "";  // the shape rule reports it
  if (inputs.size() > 2 && inputs[2].present) return "a zero point";
  if (layer.attrs.getString("outputDType", "uint8") != "int8") return "uint8 output";
  const DType x = inputs[0].dtype, scale = inputs[1].dtype;
  if (!isFloat(x)) return std::string(dtypeName(x)) + " input";
  if (!isFloat(scale)) return std::string(dtypeName(scale)) + " scale";
  if (!isPerTensor(inputs[1].dims)) return "a per-axis scale";
  return "";
}

void runQuantizeLinear(CudaKernelArgs& args) {
  const DeviceTensor& x = *args.inputs[0];
  const DeviceTensor& scale = *args.inputs[1];
  DeviceTensor& y = args.outputs[0];
  if (args.inputs.size() > 2 && args.inputs[2])
    fail(ErrorCode::Internal, "QuantizeLinear with a zero point has no CUDA kernel");
  if (!isFloat(x.dtype) || !isFloat(scale.dtype) || scale.numel() != 1)
    fail(ErrorCode::ShapeMismatch, "QuantizeLinear needs float x and one float scale, got ", dtypeName(x.dtype), " ",
         dimsToString(x.dims), " and ", dtypeName(scale.dtype), " ", dimsToString(scale.dims));
  if (y.dtype != DType::Int8 || y.dims != x.dims)
    fail(ErrorCode::Internal, "QuantizeLinear output is ", dtypeName(y.dtype), " ", dimsToString(y.dims),
         ", expected int8 ", dimsToString(x.dims));
  if (y.numel() == 0) return;
  const GemmActivation act = gemmActivationOf(args.layer);
  const bool scaleHalf = scale.dtype == DType::Float16;
  // fp16 x with an activation (the builder's GELU handoff): by table, else elementwise.
  if (act != GemmActivation::None && x.dtype == DType::Float16 &&
      cudakernels::launchQuantizeHalfByTable(x.data, scale.data, scaleHalf, act,
                                             args.env.scratch(cudakernels::halfQuantizeTableBytes()), y.as<int8_t>(),
                                             y.numel(), args.env.multiProcessors, args.env.stream)) {
    INFERRT_CUDA_CHECK(cudaGetLastError());
    return;
  }
  if (!cudakernels::launchQuantizeInt8(x.data, x.dtype == DType::Float16, scale.data, scaleHalf, act, y.as<int8_t>(),
                                       y.numel(), args.env.multiProcessors, args.env.stream))
    fail(ErrorCode::Internal, "QuantizeLinear: bad kernel arguments");
  INFERRT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

// Registered by kind name: a network can only hold the layer where the QuantizeLinear schema exists.
void registerCudaQuantizeLinearKernel() {
  // x is read as its producer stored it: an fp16 activation is quantized from fp16 without a conversion pass. The
  // CPU reads the same values (its fp16 emulation rounds what fp16 layers write).
  registerCudaKernel({"QuantizeLinear", supportsQuantizeLinear, runQuantizeLinear, 0, 1u << 0});
}

}  // namespace inferrt
