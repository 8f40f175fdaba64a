// CUDA kernel of Pooling (our own kernels in pooling.cu, no cuDNN): max, average, global_max, global_average over
// 1 to 3 spatial dims with the CPU kernel's window rules (strides, pads, dilations, ceil_mode, auto_pad,
// count_include_pad), NCHW or (channels_last = 1, 2-D) NHWC. Max also takes int8 / uint8 / int32 / int64, as on
// the CPU.
#include <string>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/cuda_kernel.h"
#include "backend/cuda/kernels/pooling_launch.h"
#include "ir/error.h"
#include "ir/ops/shape_helpers.h"

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
  if (out.dims != expected || out.dtype != x.dtype)
    fail(ErrorCode::Internal, "Pooling output is ", dimsToString(out.dims), ", expected ", dimsToString(expected));
  if (out.numel() == 0) return;

  const PoolType type = static_cast<PoolType>(static_cast<int>(x.dtype));
  const CudaLaunchEnv& env = args.env;
  bool launched;
  if (global && last) {
    launched = cudakernels::launchGlobalPoolingNhwc(type, x.data, out.data, batch, volume(spatial), channels, isMax,
                                                    env.multiProcessors, env.stream);
  } else if (global) {
    launched = cudakernels::launchGlobalPooling(type, x.data, out.data, batch * channels, volume(spatial), isMax,
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
    launched = cudakernels::launchPooling(type, x.data, out.data, g, isMax, countPad, env.multiProcessors, env.stream);
  }
  if (!launched) fail(ErrorCode::Internal, "Pooling: no kernel for ", mode, " on ", dtypeName(x.dtype));
  INFERRT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void registerCudaPoolingKernel() { registerCudaKernel({"Pooling", supportsPooling, runPooling, 0}); }

}  // namespace inferrt
