// CUDA kernel of Convolution (cuDNN through cudnn_convolution.cc) and the family's registration (Pooling is in
// pooling.cc). Semantics are the CPU kernel's: NCHW with 1 to 3 spatial dims, or 2-D NHWC (channels_last = 1:
// x [N, H, W, C], weights [M, kH, kW, C/group], cuDNN's NHWC tensors and KRSC filter), groups, dilations, strides,
// explicit or auto pads, an optional bias per output channel, and the builder's fused epilogue (residual input 3,
// activation relu) through cudnnConvolutionBiasActivationForward where cuDNN takes it, else conv + an epilogue
// kernel. 1-D runs as 2-D with a unit height; asymmetric pads are split into the symmetric part (cuDNN's) and the
// rest, which a zero-padded copy of the input provides. The cuDNN plan is kept per run-plan step (env.kernelState),
// so repeated runs skip the global plan cache and its lock.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/convolution_launch.h"
#include "backend/cuda/kernels/cuda_kernel.h"
#include "backend/cuda/kernels/cudnn_convolution.h"
#include "backend/cuda/kernels/sparse_layers.h"
#include "ir/error.h"
#include "ir/ops/shape_helpers.h"

namespace inferrt {

void registerCudaPoolingKernel();  // pooling.cc

namespace {

size_t roundUp(size_t bytes) { return (bytes + 255) / 256 * 256; }

std::string supportsConvolution(const Layer&, const std::vector<TensorDesc>& inputs) {
  if (!cudnnconv::kBuiltWithCudnn) return "built without cuDNN";
  if (inputs.empty()) return "";  // the shape rule reports it
  if (!isFloat(inputs[0].dtype)) return std::string(dtypeName(inputs[0].dtype)) + " input";
  for (const TensorDesc& d : inputs) {  // cuDNN's legacy API indexes tensors with int
    if (!d.present || !isStatic(d.dims)) continue;
    if (volume(d.dims) > INT32_MAX) return "a tensor of 2^31 elements or more";
  }
  return "";
}

void runConvolution(CudaKernelArgs& args) {
  const Layer& layer = args.layer;
  const CudaLaunchEnv& env = args.env;
  const DeviceTensor& x = *args.inputs[0];
  const DeviceTensor& w = *args.inputs[1];
  const DeviceTensor* bias = args.inputs.size() > 2 ? args.inputs[2] : nullptr;
  const DeviceTensor* residual = args.inputs.size() > 3 ? args.inputs[3] : nullptr;
  const std::string act = layer.attrs.getString("activation", "none");
  if (act != "none" && act != "relu") fail(ErrorCode::InvalidArgument, "Convolution activation '", act, "'");
  const bool relu = act == "relu";
  const bool last = layer.attrs.getInt("channels_last", 0) == 1;
  DeviceTensor& out = args.outputs[0];
  const size_t rank = x.dims.size();
  if (rank < 3 || rank > 5 || w.dims.size() != rank || (last && rank != 4))
    fail(ErrorCode::ShapeMismatch, "Convolution input ", dimsToString(x.dims), " and weights ", dimsToString(w.dims),
         last ? " must both have rank 4 (channels_last)" : " must both have rank 3 to 5");
  if (w.dtype != x.dtype || (bias && bias->dtype != x.dtype) || !isFloat(x.dtype))
    fail(ErrorCode::DTypeMismatch, "Convolution needs matching float inputs, got ", dtypeName(x.dtype), " and ",
         dtypeName(w.dtype));
  const size_t channelDim = last ? rank - 1 : 1;  // of x and of w ([M, C/g, k...] or [M, kH, kW, C/g])
  const int64_t batch = x.dims[0], channels = x.dims[channelDim], outChannels = w.dims[0];
  const int64_t group = layer.attrs.getInt("group", 1);
  if (group < 1 || channels % group != 0 || outChannels % group != 0 || channels / group != w.dims[channelDim])
    fail(ErrorCode::ShapeMismatch, "Convolution channels ", channels, " / weights ", dimsToString(w.dims),
         " do not fit group ", group);
  if (bias && bias->numel() != outChannels)
    fail(ErrorCode::ShapeMismatch, "Convolution bias must have ", outChannels, " values, got ", bias->numel());
  const Dims spatial = last ? Dims(x.dims.begin() + 1, x.dims.end() - 1) : Dims(x.dims.begin() + 2, x.dims.end());
  const Dims kernel = last ? Dims(w.dims.begin() + 1, w.dims.end() - 1) : Dims(w.dims.begin() + 2, w.dims.end());
  const SpatialWindow win = resolveWindow(layer.attrs, spatial, kernel, false);
  Dims expected = {batch};
  if (!last) expected.push_back(outChannels);
  expected.insert(expected.end(), win.output.begin(), win.output.end());
  if (last) expected.push_back(outChannels);
  if (out.dims != expected || out.dtype != x.dtype)
    fail(ErrorCode::Internal, "Convolution output is ", dimsToString(out.dims), ", expected ",
         dimsToString(expected));
  if (residual && (residual->dims != expected || residual->dtype != x.dtype))
    fail(ErrorCode::ShapeMismatch, "Convolution residual is ", dtypeName(residual->dtype), " ",
         dimsToString(residual->dims), ", expected ", dtypeName(x.dtype), " ", dimsToString(expected));
  if (out.numel() == 0) return;
  if (cudakernels::runSparseConvolution(args)) return;  // a sparse-weight 1x1 channels-last convolution
  const bool half = x.dtype == DType::Float16;
  // The fused epilogue (builder conv fusion) as a separate in-place pass over y: after the unfused paths.
  auto epilogue = [&] {
    if (!relu && !residual) return;
    cudakernels::launchResidualRelu(out.data, residual ? residual->data : nullptr, half, out.numel(), relu,
                                    env.multiProcessors, env.stream);
    INFERRT_CUDA_CHECK(cudaGetLastError());
  };

  const int elem = static_cast<int>(dtypeSize(x.dtype));
  const int64_t outSpatial = volume(win.output);
  // y = bias per output channel: NCHW rows of outSpatial values per (n, m); NHWC rows of outChannels values.
  auto broadcastBias = [&] {
    const bool ok = last ? cudakernels::launchBroadcastBias(bias->data, out.data, elem, batch * outSpatial, outChannels,
                                                            1, env.multiProcessors, env.stream)
                         : cudakernels::launchBroadcastBias(bias->data, out.data, elem, batch, outChannels, outSpatial,
                                                            env.multiProcessors, env.stream);
    if (!ok) fail(ErrorCode::Internal, "Convolution: no bias kernel for ", dtypeName(x.dtype));
    INFERRT_CUDA_CHECK(cudaGetLastError());
  };
  if (x.numel() == 0 || w.numel() == 0) {  // no taps at all: the sums are empty, out = bias (or 0)
    if (bias) {
      broadcastBias();
    } else {
      INFERRT_CUDA_CHECK(cudaMemsetAsync(out.data, 0, out.bytes(), env.stream));
    }
    epilogue();
    return;
  }

  // Geometry in three slots with leading unit dims (1-D and 2-D alike); cuDNN gets the last two, or all three.
  // The zero-pad copy sees NCHW as (n, c) planes of spatial data and NHWC as n images of [H, W, C] (C unpadded).
  const size_t n = spatial.size(), lead = last ? 0 : 3 - n;
  cudnnconv::ConvProblem p;
  p.half = half;
  p.allowTf32 = env.allowTf32;
  p.channelsLast = last;
  p.identityEpilogue = !relu && (bias || residual);
  p.spatialDims = n == 3 ? 3 : 2;
  p.batch = batch;
  p.channels = channels;
  p.outChannels = outChannels;
  p.group = group;
  cudakernels::ZeroPadGeometry pad;
  pad.planes = last ? batch : batch * channels;
  if (last) pad.in[2] = pad.out[2] = channels;
  bool needPad = false;
  for (size_t i = 0; i < n; ++i) {
    const int64_t symmetric = std::min(win.padBegin[i], win.padEnd[i]);
    const int64_t extraBegin = win.padBegin[i] - symmetric, extraEnd = win.padEnd[i] - symmetric;
    needPad = needPad || extraBegin > 0 || extraEnd > 0;
    pad.in[lead + i] = spatial[i];
    pad.out[lead + i] = spatial[i] + extraBegin + extraEnd;
    pad.padBegin[lead + i] = extraBegin;
    const size_t j = p.spatialDims == 3 ? i : i + (n == 1 ? 1 : 0);  // slot in the cuDNN problem
    p.in[j] = pad.out[lead + i];
    p.kernel[j] = win.kernel[i];
    p.out[j] = win.output[i];
    p.pad[j] = symmetric;
    p.stride[j] = win.strides[i];
    p.dilation[j] = win.dilations[i];
  }

  // The plan kept by this run-plan step when it still fits (it does unless the step's shapes changed), else the
  // shared cache's (one global lock), kept for the next run.
  std::shared_ptr<const cudnnconv::ConvPlan> plan;
  if (env.kernelState && *env.kernelState) {
    plan = std::static_pointer_cast<const cudnnconv::ConvPlan>(*env.kernelState);
    if (!cudnnconv::planMatches(*plan, p, env.device)) plan.reset();
  }
  if (!plan) {
    plan = cudnnconv::planConvolution(p, env.cudnn, env.device);
    if (env.kernelState) *env.kernelState = plan;
  }
  const size_t padBytes =
      needPad ? roundUp(static_cast<size_t>(pad.planes * pad.out[0] * pad.out[1] * pad.out[2]) * elem) : 0;
  const size_t workspaceBytes = cudnnconv::convolutionWorkspaceSize(*plan);
  const bool fused = relu || residual || bias;
  // The fused cuDNN call needs a bias; a layer without one gets zeros after the workspace.
  const size_t zeroBiasBytes = fused && !bias ? roundUp(static_cast<size_t>(outChannels) * elem) : 0;
  const size_t scratchBytes = padBytes + roundUp(workspaceBytes) + zeroBiasBytes;
  char* scratch = scratchBytes > 0 ? static_cast<char*>(env.scratch(scratchBytes)) : nullptr;
  void* workspace = workspaceBytes ? scratch + padBytes : nullptr;
  const void* input = x.data;
  if (needPad) {
    if (!cudakernels::launchZeroPad(x.data, scratch, elem, pad, env.multiProcessors, env.stream))
      fail(ErrorCode::Internal, "Convolution: no padding kernel for ", dtypeName(x.dtype));
    INFERRT_CUDA_CHECK(cudaGetLastError());
    input = scratch;
  }
  if (fused) {  // one cuDNN call: act(conv + residual + bias), rounded once into y
    const void* fusedBias = bias ? bias->data : nullptr;
    if (!bias) {
      char* zeros = scratch + padBytes + roundUp(workspaceBytes);
      INFERRT_CUDA_CHECK(cudaMemsetAsync(zeros, 0, zeroBiasBytes, env.stream));
      fusedBias = zeros;
    }
    if (cudnnconv::runConvolutionBiasActivation(*plan, env.cudnn, input, w.data, residual ? residual->data : nullptr,
                                                fusedBias, relu, out.data, workspace))
      return;
    // cuDNN declined (identity needs IMPLICIT_PRECOMP_GEMM, or no fused kernel): the unfused path below, then
    // the epilogue. fp16 then rounds twice (conv + bias, then + residual), within an ulp of the fused result.
  }
  // The bias goes into the output first and cuDNN accumulates onto it (beta = 1): conv + bias is computed in
  // fp32 and rounded once, as the CPU kernel does (an add after an fp16 store would round twice).
  if (bias) broadcastBias();
  cudnnconv::runConvolution(*plan, env.cudnn, input, w.data, out.data, bias != nullptr, workspace);
  epilogue();
}

}  // namespace

void registerCudaConvolutionKernels() {
  registerCudaKernel({"Convolution", supportsConvolution, runConvolution, 0});
  registerCudaPoolingKernel();
}

}  // namespace inferrt
