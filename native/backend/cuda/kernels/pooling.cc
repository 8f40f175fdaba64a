// CUDA kernel of Pooling (our own kernels in pooling.cu, no cuDNN): max, average, global_max, global_average over
// 1 to 3 spatial dims with the CPU kernel's window rules (strides, pads, dilations, ceil_mode, auto_pad,
// count_include_pad), NCHW or (channels_last = 1, 2-D) NHWC. Max also takes int8 / uint8 / int32 / int64, as on
// the CPU. Max pooling with output_scale (INT8 output fusion) writes the maxima's int8 values: fused into the NHWC
// fp16 vector kernel, else the maxima go to scratch and the QuantizeLinear kernel quantizes them.
#include <string>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/cuda_kernel.h"
#include "backend/cuda/kernels/pooling_launch.h"
#include "backend/cuda/kernels/quantized_launch.h"
#include "ir/error.h"
#include "ir/ops/shape_helpers.h"
#include "int8/half_quantize_reciprocal.h"

namespace inferrt {

namespace {

using cudakernels::PoolType;
static_assert(static_cast<int>(PoolType::F32) == static_cast<int>(DType::Float32) &&
                  static_cast<int>(PoolType::F16) == static_cast<int>(DType::Float16) &&
                  static_cast<int>(PoolType::I8) == static_cast<int>(DType::Int8) &&
                  static_cast<int>(PoolType::U8) == static_cast<int>(DType::UInt8) &&
                  static_cast<int>(PoolType::I32) == static_cast<int>(DType::Int32) &&
                  static_cast<int>(PoolType::I64) == static_cast<int>(DType::Int64),
              "PoolType mirrors DType");

bool isMaxMode(const std::string& mode) { return mode == "max" || mode == "global_max"; }

std::string supportsPooling(const Layer& layer, const std::vector<TensorDesc>& inputs) {
  if (inputs.empty()) return "";  // the shape rule reports it
  const DType t = inputs[0].dtype;
  if (t == DType::Bool || (!isFloat(t) && !isMaxMode(layer.attrs.getString("mode", ""))))
    return std::string(dtypeName(t)) + " input";
  return "";
}

void runPooling(CudaKernelArgs& args) {
  const Layer& layer = args.layer;
  const DeviceTensor& x = *args.inputs[0];
  DeviceTensor& out = args.outputs[0];
  if (x.dims.size() < 3 || x.dims.size() > 5)
    fail(ErrorCode::ShapeMismatch, "Pooling input must have rank 3 to 5, got ", dimsToString(x.dims));
  const std::string mode = layer.attrs.getString("mode");
  const bool global = mode == "global_max" || mode == "global_average";
  const bool isMax = isMaxMode(mode);
  if (!global && !isMax && mode != "average")
    fail(ErrorCode::InvalidArgument, "unknown Pooling mode '", mode, "'");
  if (!isMax && !isFloat(x.dtype))
    fail(ErrorCode::DTypeMismatch, "average pooling needs float input, got ", dtypeName(x.dtype));
  const bool last = layer.attrs.getInt("channels_last", 0) == 1;
  if (last && x.dims.size() != 4)
    fail(ErrorCode::ShapeMismatch, "Pooling with channels_last = 1 needs a rank-4 input, got ", dimsToString(x.dims));
  const int64_t batch = x.dims[0], channels = x.dims[last ? 3 : 1];
  const Dims spatial = last ? Dims(x.dims.begin() + 1, x.dims.end() - 1) : Dims(x.dims.begin() + 2, x.dims.end());
  const SpatialWindow w = poolingWindow(layer.attrs, spatial, global);
  Dims expected = {batch};
  if (!last) expected.push_back(channels);
  expected.insert(expected.end(), w.output.begin(), w.output.end());
  if (last) expected.push_back(channels);
  const bool quantizes = layer.attrs.has("output_scale");  // int8 out: QuantizeLinear of the maxima
  const DType yType = quantizes ? DType::Int8 : x.dtype;
  if (out.dims != expected || out.dtype != yType || (quantizes && (!isMax || !isFloat(x.dtype))))
    fail(ErrorCode::Internal, "Pooling output is ", dtypeName(out.dtype), " ", dimsToString(out.dims), ", expected ",
         dtypeName(yType), " ", dimsToString(expected));
  if (out.numel() == 0) return;

  const PoolType type = static_cast<PoolType>(static_cast<int>(x.dtype));
  const CudaLaunchEnv& env = args.env;
  const float outputScale = quantizes ? static_cast<float>(layer.attrs.getFloat("output_scale")) : 0.0f;
  // Where the fused kernel does not apply, the maxima go to scratch and the QuantizeLinear kernel quantizes them.
  void* pooled = nullptr;
  auto floatTarget = [&] {
    pooled = quantizes ? env.scratch(static_cast<size_t>(out.numel()) * dtypeSize(x.dtype)) : out.data;
    return pooled;
  };
  bool launched;
  if (global && last) {
    launched = cudakernels::launchGlobalPoolingNhwc(type, x.data, floatTarget(), batch, volume(spatial), channels,
                                                    isMax, env.multiProcessors, env.stream);
  } else if (global) {
    launched = cudakernels::launchGlobalPooling(type, x.data, floatTarget(), batch * channels, volume(spatial), isMax,
                                                env.multiProcessors, env.stream);
  } else {
    cudakernels::PoolGeometry g;
    g.planes = last ? batch : batch * channels;
    g.channels = last ? channels : 1;
    g.channelsLast = last;
    const size_t n = spatial.size(), lead = 3 - n;
    for (size_t i = 0; i < n; ++i) {
      g.in[lead + i] = spatial[i];
      g.out[lead + i] = w.output[i];
      g.kernel[lead + i] = w.kernel[i];
      g.stride[lead + i] = w.strides[i];
      g.dilation[lead + i] = w.dilations[i];
      g.padBegin[lead + i] = w.padBegin[i];
      g.padEnd[lead + i] = w.padEnd[i];
    }
    const bool countPad = layer.attrs.getInt("count_include_pad", 0) != 0;
    if (quantizes && x.dtype == DType::Float16 &&
        cudakernels::launchMaxPoolNhwcHalfToInt8(x.data, out.as<int8_t>(), g, halfQuantizeReciprocal(outputScale),
                                                 outputScale, env.multiProcessors, env.stream)) {
      INFERRT_CUDA_CHECK(cudaGetLastError());
      return;
    }
    launched =
        cudakernels::launchPooling(type, x.data, floatTarget(), g, isMax, countPad, env.multiProcessors, env.stream);
  }
  if (!launched) fail(ErrorCode::Internal, "Pooling: no kernel for ", mode, " on ", dtypeName(x.dtype));
  if (quantizes && !cudakernels::launchQuantizeInt8ByValue(pooled, x.dtype == DType::Float16, outputScale,
                                                           out.as<int8_t>(), out.numel(), env.multiProcessors,
                                                           env.stream))
    fail(ErrorCode::Internal, "Pooling: no quantize kernel for its int8 output");
  INFERRT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void registerCudaPoolingKernel() { registerCudaKernel({"Pooling", supportsPooling, runPooling, 0}); }

}  // namespace inferrt
