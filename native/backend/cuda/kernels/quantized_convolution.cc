// QuantizedConvolution on the GPU (channels_last = 1 layers go to quantized_convolution_nhwc.cc): x int8 NCHW (1 to
// 3 spatial dims), w int8 [M, C/group, k...] -> y float32 NCHW, with Convolution's geometry (strides, pads,
// dilations, groups, auto_pad), bias, residual and relu. For each chunk of images: im2col into col
// [group][rows][Kg] (quantized_im2col.cu; rows = images x output positions and Kg = C/group x taps, both
// zero-padded to multiples of 4), one int8 GEMM batched over the groups, D_g [M/group, rows] = w_g * col_g^T (w as
// stored, or zero-padded along K), whose rows are the output's channel planes, then the fp32 epilogue into y
// (quantized.cu). Exact integer sums, so the result is the CPU kernel's bit for bit whatever the summation order.
// Chunks keep col + accumulators within kChunkBudget of scratch.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/cuda_kernel.h"
#include "backend/cuda/kernels/quantized_convolution_nhwc.h"
#include "backend/cuda/kernels/quantized_gemm.h"
#include "backend/cuda/kernels/quantized_launch.h"
#include "ir/error.h"
#include "ir/ops/shape_helpers.h"

namespace inferrt {

namespace {

constexpr size_t kChunkBudget = size_t(256) << 20;  // bytes of im2col columns + accumulators per chunk

std::string supportsQuantizedConvolution(const Layer& layer, const std::vector<TensorDesc>& inputs) {
  if (inputs.size() < 3) return "";  // the shape rule reports it
  if (layer.attrs.getInt("channels_last", 0) != 0)
    return cudakernels::channelsLastQuantizedConvolutionLimit(layer, inputs);
  if (layer.attrs.has("output_scale") || layer.attrs.has("residual_scale"))
    return "output_scale or residual_scale without channels_last";
  const std::string act = layer.attrs.getString("activation", "none");
  if (act != "none" && act != "relu") return "activation '" + act + "'";
  const Dims& w = inputs[1].dims;
  if (w.size() < 3 || w.size() > 5 || !isStatic(w)) return "";  // the shape rule reports a bad rank
  const int64_t depth = volume(Dims(w.begin() + 1, w.end()));  // C/group x taps
  if (depth > cudakernels::kMaxExactInt8Depth)
    return "C/group x kernel taps = " + std::to_string(depth) + " > " +
           std::to_string(cudakernels::kMaxExactInt8Depth) + " (int32 sums could overflow)";
  return "";
}

// The GEMM of one chunk of `images` images: D_g [M/group, rowsPadded] = w_g [M/group, Kg] * col_g^T per group.
cudakernels::Int8GemmGeometry chunkGemm(int64_t images, int64_t positions, int64_t outPerGroup, int64_t kPadded,
                                        int64_t groups) {
  cudakernels::Int8GemmGeometry g;
  g.m = outPerGroup;
  g.n = cudakernels::roundUpTo4(images * positions);
  g.k = kPadded;
  g.lda = g.ldb = kPadded;
  g.ldd = g.n;
  g.batch = groups;
  g.strideA = outPerGroup * kPadded;
  g.strideB = g.n * kPadded;
  g.strideD = outPerGroup * g.n;
  return g;
}

void runQuantizedConvolution(CudaKernelArgs& args) {
  if (args.layer.attrs.getInt("channels_last", 0) == 1) return cudakernels::runQuantizedConvolutionNhwc(args);
  const Layer& layer = args.layer;
  const CudaLaunchEnv& env = args.env;
  const cudakernels::QuantizedConvolutionOperands operands = cudakernels::quantizedConvolutionOperands(args);
  const DeviceTensor &x = operands.x, &w = operands.w;
  const DeviceTensor *scale = operands.scale, *bias = operands.bias, *residual = operands.residual;
  DeviceTensor& out = args.outputs[0];
  const size_t rank = x.dims.size();
  if (x.dtype != DType::Int8 || w.dtype != DType::Int8 || rank < 3 || rank > 5 || w.dims.size() != rank)
    fail(ErrorCode::ShapeMismatch, "QuantizedConvolution needs int8 x and w of one rank 3 to 5, got ",
         dtypeName(x.dtype), " ", dimsToString(x.dims), " and ", dtypeName(w.dtype), " ", dimsToString(w.dims));
  if (layer.attrs.getInt("channels_last", 0) != 0 || layer.attrs.has("output_scale") ||
      layer.attrs.has("residual_scale"))
    fail(ErrorCode::InvalidArgument,
         "QuantizedConvolution: channels_last must be 0 or 1; output_scale and residual_scale need 1");
  const std::string act = layer.attrs.getString("activation", "none");
  if (act != "none" && act != "relu") fail(ErrorCode::InvalidArgument, "QuantizedConvolution activation '", act, "'");
  const int64_t batch = x.dims[0], channels = x.dims[1], outChannels = w.dims[0];
  const int64_t groups = layer.attrs.getInt("group", 1);
  if (groups < 1 || channels % groups != 0 || outChannels % groups != 0 || channels / groups != w.dims[1])
    fail(ErrorCode::ShapeMismatch, "QuantizedConvolution channels ", channels, " / weights ", dimsToString(w.dims),
         " do not fit group ", groups);
  const Dims spatial(x.dims.begin() + 2, x.dims.end()), kernel(w.dims.begin() + 2, w.dims.end());
  const SpatialWindow win = resolveWindow(layer.attrs, spatial, kernel, false);
  Dims expected = {batch, outChannels};
  expected.insert(expected.end(), win.output.begin(), win.output.end());
  if (out.dims != expected || (out.dtype != DType::Float32 && out.dtype != DType::Float16))
    fail(ErrorCode::Internal, "QuantizedConvolution output is ", dtypeName(out.dtype), " ", dimsToString(out.dims),
         ", expected float32 (or its fp16 storage) ", dimsToString(expected));
  const bool outHalf = out.dtype == DType::Float16;
  const size_t outElementBytes = outHalf ? 2 : 4;
  cudakernels::requireFloat32Operand(scale, "dequantScale", {outChannels});
  cudakernels::requireFloat32Operand(bias, "bias", {outChannels});
  cudakernels::requireFloat32Operand(residual, "residual", expected, true);
  if (out.numel() == 0) return;

  const int64_t positions = volume(win.output);
  const int64_t depth = (channels / groups) * volume(kernel), kPadded = cudakernels::roundUpTo4(depth);
  const int64_t outPerGroup = outChannels / groups;
  const int64_t inImage = volume(x.dims) / batch, outImage = outChannels * positions;
  const auto activation = act == "relu" ? cudakernels::GemmActivation::Relu : cudakernels::GemmActivation::None;
  // y[b, c, p] for the images [first, first + images) from acc [M][rows] (0 when null: empty sums).
  auto epilogue = [&](const int32_t* acc, int64_t first, int64_t images, int64_t accRows) {
    cudakernels::Int8EpilogueGeometry e;
    e.images = images;
    e.channels = outChannels;
    e.plane = positions;
    e.accChannelStride = accRows;
    e.accImageStride = positions;
    const bool resHalf = residual && residual->dtype == DType::Float16;
    const char* res = residual ? static_cast<const char*>(residual->data) +
                                     static_cast<size_t>(first * outImage) * (resHalf ? 2 : 4)
                               : nullptr;
    char* y = static_cast<char*>(out.data) + static_cast<size_t>(first * outImage) * outElementBytes;
    if (!cudakernels::launchInt8Epilogue(acc, scale->as<float>(), bias ? bias->as<float>() : nullptr, res, resHalf, y,
                                         outHalf, e, activation, env.multiProcessors, env.stream))
      fail(ErrorCode::Internal, "QuantizedConvolution: bad epilogue arguments");
    INFERRT_CUDA_CHECK(cudaGetLastError());
  };
  if (depth == 0) {  // no input channels: every sum is empty
    epilogue(nullptr, 0, batch, 0);
    return;
  }

  // Images per chunk, and the GEMMs of a full chunk and of the last one (planned before the scratch is sized).
  const size_t perImage = static_cast<size_t>(groups * positions * kPadded + outImage * 4);
  const int64_t chunk =
      std::clamp<int64_t>(static_cast<int64_t>(kChunkBudget / std::max<size_t>(perImage, 1)), 1, batch);
  const int64_t lastImages = batch - (batch - 1) / chunk * chunk;
  const cudakernels::Int8GemmGeometry full = chunkGemm(chunk, positions, outPerGroup, kPadded, groups);
  const cudakernels::Int8GemmGeometry last = chunkGemm(lastImages, positions, outPerGroup, kPadded, groups);
  const bool copyW = kPadded != depth || cudakernels::pointerAlignment(w.data) < 4;
  const uint32_t scratchAlign = static_cast<uint32_t>(cudakernels::kScratchAlignment);
  const uint32_t wAlign = copyW ? scratchAlign : cudakernels::pointerAlignment(w.data);
  std::unique_ptr<CudaKernelCache> local;
  cudakernels::Int8GemmPlans& plans = cudakernels::int8GemmPlans(args, local);
  const std::shared_ptr<cublaslt::GemmPlan> fullPlan =
      plans.planFor(cudakernels::int8GemmShape(full, wAlign, scratchAlign, scratchAlign), env);
  const std::shared_ptr<cublaslt::GemmPlan> lastPlan =
      plans.planFor(cudakernels::int8GemmShape(last, wAlign, scratchAlign, scratchAlign), env);

  using cudakernels::scratchBytes;
  const size_t wBytes = copyW ? scratchBytes(static_cast<size_t>(outChannels * kPadded)) : 0;
  const size_t colBytes = scratchBytes(static_cast<size_t>(groups * full.n * kPadded));
  const size_t accBytes = scratchBytes(static_cast<size_t>(outChannels * full.n) * sizeof(int32_t));
  const size_t workspaceBytes = scratchBytes(
      std::max(cudakernels::int8GemmWorkspace(fullPlan.get()), cudakernels::int8GemmWorkspace(lastPlan.get())));
  char* scratch = static_cast<char*>(env.scratch(wBytes + colBytes + accBytes + workspaceBytes));
  cudakernels::requireScratchAlignment(scratch);
  int8_t* wPadded = reinterpret_cast<int8_t*>(scratch);
  int8_t* col = reinterpret_cast<int8_t*>(scratch + wBytes);
  int32_t* acc = reinterpret_cast<int32_t*>(scratch + wBytes + colBytes);
  void* workspace = workspaceBytes ? scratch + wBytes + colBytes + accBytes : nullptr;
  if (copyW) {
    if (!cudakernels::launchPadInt8(w.as<int8_t>(), outChannels, depth, wPadded, outChannels, kPadded,
                                    env.multiProcessors, env.stream))
      fail(ErrorCode::Internal, "QuantizedConvolution: bad padding arguments");
    INFERRT_CUDA_CHECK(cudaGetLastError());
  }

  // Geometry in three slots with leading unit dims (1-D and 2-D alike).
  cudakernels::Im2ColGeometry ig;
  ig.channels = channels;
  ig.groups = groups;
  ig.kPadded = kPadded;
  const size_t lead = 3 - spatial.size();
  for (size_t i = 0; i < spatial.size(); ++i) {
    ig.in[lead + i] = spatial[i];
    ig.out[lead + i] = win.output[i];
    ig.kernel[lead + i] = win.kernel[i];
    ig.stride[lead + i] = win.strides[i];
    ig.dilation[lead + i] = win.dilations[i];
    ig.padBegin[lead + i] = win.padBegin[i];
  }
  // Stream order serializes the chunks' reuse of col and acc: no chunk overwrites them while another reads.
  for (int64_t first = 0; first < batch; first += chunk) {
    const int64_t images = std::min(chunk, batch - first);
    const cudakernels::Int8GemmGeometry& g = images == chunk ? full : last;
    ig.images = images;
    ig.rowsPadded = g.n;
    if (!cudakernels::launchIm2ColInt8(x.as<int8_t>() + first * inImage, col, ig, env.multiProcessors, env.stream))
      fail(ErrorCode::Internal, "QuantizedConvolution: bad im2col arguments");
    INFERRT_CUDA_CHECK(cudaGetLastError());
    const int8_t* wUsed = copyW ? wPadded : w.as<int8_t>();
    cudakernels::runInt8Gemm((images == chunk ? fullPlan : lastPlan).get(), g, wUsed, col, acc, workspace, env);
    epilogue(acc, first, images, g.n);
  }
}

}  // namespace

void registerCudaQuantizedConvolutionKernel() {
  // The residual (input 4) is read as its producer stored it: an fp16 activation without a conversion pass (the CPU
  // reads the same fp16-rounded values).
  registerCudaKernel({"QuantizedConvolution", supportsQuantizedConvolution, runQuantizedConvolution, 0, 1u << 4});
}

}  // namespace inferrt
