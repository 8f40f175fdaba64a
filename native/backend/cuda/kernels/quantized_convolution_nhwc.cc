#include "backend/cuda/kernels/quantized_convolution_nhwc.h"

#include <memory>

#include "backend/cuda/kernels/quantized_gemm.h"
#include "ir/error.h"
#include "ir/ops/shape_helpers.h"

namespace inferrt::cudakernels {

void requireFloat32Operand(const DeviceTensor* t, const char* what, const Dims& dims, bool halfStorage) {
  const bool dtypeOk = t && (t->dtype == DType::Float32 || (halfStorage && t->dtype == DType::Float16));
  if (t && (!dtypeOk || t->dims != dims))
    fail(ErrorCode::ShapeMismatch, "QuantizedConvolution ", what, " must be float32 ", dimsToString(dims),
         halfStorage ? " (or its fp16 storage)" : "", ", got ", dtypeName(t->dtype), " ", dimsToString(t->dims));
}

std::string channelsLastQuantizedConvolutionLimit(const Layer& layer, const std::vector<TensorDesc>& inputs) {
#ifndef INFERRT_WITH_CUDNN
  (void)layer;
  (void)inputs;
  return "channels_last needs cuDNN (built without cuDNN)";
#else
  if (layer.attrs.getInt("group", 1) != 1) return "channels_last with groups";
  if (inputs.size() < 2 || inputs[0].dims.size() != 4 || inputs[1].dims.size() != 4) return "";  // the shape rule's
  if (inputs[0].dims[3] % 16 != 0 || inputs[1].dims[0] % 16 != 0)
    return "channels_last with C or M not a multiple of 16 (cuDNN's int8 kernels take 16-byte rows)";
  const std::vector<int64_t> pads = layer.attrs.getInts("pads", {});  // [top, left, bottom, right]
  if (pads.size() == 4 && (pads[0] != pads[2] || pads[1] != pads[3])) return "channels_last with asymmetric pads";
  const std::string autoPad = layer.attrs.getString("auto_pad", "NOTSET");
  if (autoPad != "NOTSET" && autoPad != "VALID") return "channels_last with auto_pad " + autoPad;
  return "";
#endif
}

QuantizedConvolutionOperands quantizedConvolutionOperands(const CudaKernelArgs& args) {
  return {*args.inputs[0], *args.inputs[1], args.inputs[2], args.inputs.size() > 3 ? args.inputs[3] : nullptr,
          args.inputs.size() > 4 ? args.inputs[4] : nullptr};
}

void runQuantizedConvolutionNhwc(CudaKernelArgs& args) {
  const Layer& layer = args.layer;
  const CudaLaunchEnv& env = args.env;
  const QuantizedConvolutionOperands operands = quantizedConvolutionOperands(args);
  const DeviceTensor &x = operands.x, &w = operands.w;
  const DeviceTensor *scale = operands.scale, *bias = operands.bias, *residual = operands.residual;
  DeviceTensor& out = args.outputs[0];
  if (x.dtype != DType::Int8 || w.dtype != DType::Int8 || x.dims.size() != 4 || w.dims.size() != 4)
    fail(ErrorCode::ShapeMismatch, "QuantizedConvolution (channels_last) needs int8 x and w of rank 4, got ",
         dtypeName(x.dtype), " ", dimsToString(x.dims), " and ", dtypeName(w.dtype), " ", dimsToString(w.dims));
  const std::string act = layer.attrs.getString("activation", "none");
  if (act != "none" && act != "relu") fail(ErrorCode::InvalidArgument, "QuantizedConvolution activation '", act, "'");
  const int64_t batch = x.dims[0], channels = x.dims[3], outChannels = w.dims[0];
  if (layer.attrs.getInt("group", 1) != 1 || w.dims[3] != channels)
    fail(ErrorCode::ShapeMismatch, "QuantizedConvolution (channels_last) input ", dimsToString(x.dims),
         " and weights ", dimsToString(w.dims), " need group 1 and matching channels");
  const Dims spatial = {x.dims[1], x.dims[2]}, kernel = {w.dims[1], w.dims[2]};
  const SpatialWindow win = resolveWindow(layer.attrs, spatial, kernel, false);
  const Dims expected = {batch, win.output[0], win.output[1], outChannels};
  // Outputs: y (float, or int8 alone with output_scale), and with output_scale and two outputs y's int8 values.
  const bool quantizes = layer.attrs.has("output_scale"), both = args.outputs.size() == 2;
  DeviceTensor* outInt8 = both ? &args.outputs[1] : nullptr;
  const bool floatOk = out.dtype == DType::Float32 || out.dtype == DType::Float16;
  if (out.dims != expected || (quantizes && !both ? out.dtype != DType::Int8 : !floatOk) ||
      (both && (!quantizes || outInt8->dtype != DType::Int8 || outInt8->dims != expected)))
    fail(ErrorCode::Internal, "QuantizedConvolution outputs are ", dtypeName(out.dtype), " ", dimsToString(out.dims),
         both ? " and int8" : "", ", expected ", quantizes && !both ? "int8 " : "float32 (or its fp16 storage) ",
         dimsToString(expected), quantizes && both ? " and its int8 values" : "");
  requireFloat32Operand(scale, "dequantScale", {outChannels});
  requireFloat32Operand(bias, "bias", {outChannels});
  const bool int8Residual = layer.attrs.has("residual_scale");
  if (int8Residual && (!residual || residual->dtype != DType::Int8 || residual->dims != expected))
    fail(ErrorCode::ShapeMismatch, "QuantizedConvolution with residual_scale needs an int8 residual ",
         dimsToString(expected));
  if (!int8Residual) requireFloat32Operand(residual, "residual", expected, true);
  if (out.numel() == 0) return;

  cudnnint8::Int8ConvProblem p;
  p.batch = batch;
  p.channels = channels;
  p.outChannels = outChannels;
  for (int i = 0; i < 2; ++i) {
    if (win.padBegin[i] != win.padEnd[i])
      fail(ErrorCode::Internal, "QuantizedConvolution (channels_last) has asymmetric pads");
    p.in[i] = spatial[i];
    p.kernel[i] = kernel[i];
    p.out[i] = win.output[i];
    p.pad[i] = win.padBegin[i];
    p.stride[i] = win.strides[i];
    p.dilation[i] = win.dilations[i];
  }
  p.bias = bias != nullptr;
  p.residual = residual != nullptr;
  p.residualHalf = residual && residual->dtype == DType::Float16;
  p.residualScale = int8Residual ? static_cast<float>(layer.attrs.getFloat("residual_scale")) : 0.0f;
  p.activation = act == "relu" ? cudnnint8::Int8Activation::Relu : cudnnint8::Int8Activation::None;
  p.halfOutput = out.dtype == DType::Float16;
  p.outputScale = quantizes ? static_cast<float>(layer.attrs.getFloat("output_scale")) : 0.0f;
  p.keepFloat = both;

  runCudnnInt8Graph(p, env, x.data, w.data, scale->as<float>(), bias ? bias->as<float>() : nullptr,
                    residual ? residual->data : nullptr, out.data, outInt8 ? outInt8->data : nullptr);
}

bool runCudnnInt8Graph(const cudnnint8::Int8ConvProblem& p, const CudaLaunchEnv& env, const void* x, const void* w,
                       const float* scale, const float* bias, const void* residual, void* y, void* yInt8,
                       bool mayDecline) {
  std::shared_ptr<const cudnnint8::Int8ConvPlan> plan;
  if (env.kernelState && *env.kernelState) {
    plan = std::static_pointer_cast<const cudnnint8::Int8ConvPlan>(*env.kernelState);
    if (!cudnnint8::planMatches(*plan, p, env.device)) plan.reset();
  }
  if (!plan) {
    plan = mayDecline ? cudnnint8::findInt8ConvolutionPlan(p, env.cudnn, env.device)
                      : cudnnint8::planInt8Convolution(p, env.cudnn, env.device);
    if (!plan) return false;
    if (env.kernelState) *env.kernelState = plan;
  }
  const size_t workspaceBytes = cudnnint8::workspaceSize(*plan);
  void* workspace = workspaceBytes ? env.scratch(scratchBytes(workspaceBytes)) : nullptr;
  cudnnint8::runInt8Convolution(*plan, env.cudnn, x, w, scale, bias, residual, y, yInt8, workspace);
  return true;
}

}  // namespace inferrt::cudakernels
