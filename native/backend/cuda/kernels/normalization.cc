// CUDA kernel of Normalization: layer (statistics per row over dims [axis, rank), optional Mean / InvStdDev
// outputs or with output_scale y's int8 values, optional skip input 5 added to x first), instance (per (n, c) over
// spatial dims) and inference-mode batch normalization. Checks what the CPU reference checks and picks how scale /
// bias are indexed (see NormParamMode).
#include <string>
#include <vector>

#include "backend/cpu/broadcast.h"
#include "backend/cuda/kernels/cuda_kernel.h"
#include "backend/cuda/kernels/normalization_launch.h"
#include "int8/half_quantize_reciprocal.h"

namespace inferrt {

void registerCudaNormalizationKernel();

namespace {

using cudakernels::NormParam;
using cudakernels::NormParamMode;

// Input i as a parameter (mode Absent with `fallback` when the optional input is not given).
NormParam readParam(const CudaKernelArgs& args, size_t i, float fallback, const DeviceTensor** tensor) {
  NormParam p;
  p.fallback = fallback;
  *tensor = i < args.inputs.size() ? args.inputs[i] : nullptr;
  if (!*tensor) return p;
  if (!isFloat((*tensor)->dtype))
    fail(ErrorCode::DTypeMismatch, "Normalization input ", i, " must be float, got ", dtypeName((*tensor)->dtype));
  p.data = (*tensor)->data;
  p.half = (*tensor)->dtype == DType::Float16;
  p.mode = NormParamMode::ByColumn;
  return p;
}

void requireChannels(const DeviceTensor* t, int64_t channels, const char* what) {
  if (t && (t->dims.size() != 1 || t->numel() != channels))
    fail(ErrorCode::ShapeMismatch, what, " must have shape [", channels, "], got ", dimsToString(t->dims));
}

// Layer mode: scale / bias broadcast (right-aligned) to x's dims.
void indexLayerParam(NormParam& p, const DeviceTensor* t, const Dims& x, int64_t axis) {
  if (!t) return;
  const std::vector<int64_t> strides = broadcastStrides(t->dims, x);  // throws ShapeMismatch
  const std::vector<int64_t> xStrides = stridesOf(x);
  bool byColumn = true, constant = true;
  for (size_t d = 0; d < x.size(); ++d) {
    constant = constant && (strides[d] == 0 || x[d] == 1);
    if (x[d] == 1) continue;  // one coordinate: its stride never matters
    byColumn = byColumn && strides[d] == (static_cast<int64_t>(d) < axis ? 0 : xStrides[d]);
  }
  if (byColumn) return;  // data[k]: the usual [hidden] (or [.., hidden]) parameter
  if (constant) {
    p.mode = NormParamMode::ByChannel;  // data[r % 1]: one value for all
    p.channels = 1;
    return;
  }
  if (x.size() > static_cast<size_t>(cudakernels::kMaxNormDims))
    fail(ErrorCode::UnsupportedOp, "layer normalization parameter broadcast over rank ", x.size());
  p.mode = NormParamMode::General;
  p.rank = static_cast<int>(x.size());
  for (size_t d = 0; d < x.size(); ++d) {
    p.dims[d] = x[d];
    p.strides[d] = strides[d];
  }
}

void runLayerNorm(const CudaKernelArgs& args, cudakernels::RowNormLaunch& a, const DeviceTensor* scale,
                  const DeviceTensor* bias) {
  const Dims& dims = args.inputs[0]->dims;
  const int64_t axis = normalizeAxis(args.layer.attrs.getInt("axis", -1), static_cast<int64_t>(dims.size()), "axis");
  a.rows = 1;
  a.n = 1;
  for (size_t d = 0; d < dims.size(); ++d) (static_cast<int64_t>(d) < axis ? a.rows : a.n) *= dims[d];
  indexLayerParam(a.scale, scale, dims, axis);
  indexLayerParam(a.bias, bias, dims, axis);
  if (args.layer.attrs.has("output_scale")) {  // output 1: y's int8 values (the builder's INT8 output fusion)
    const DeviceTensor& q = args.outputs.at(1);
    if (q.dtype != DType::Int8 || q.dims != dims)
      fail(ErrorCode::Internal, "Normalization int8 output is ", dtypeName(q.dtype), " ", dimsToString(q.dims),
           ", expected int8 ", dimsToString(dims));
    a.q = static_cast<int8_t*>(q.data);
    a.qScale = static_cast<float>(args.layer.attrs.getFloat("output_scale"));
    a.qReciprocal = a.half ? halfQuantizeReciprocal(a.qScale) : 0.0f;
    return cudakernels::launchRowNorm(a);
  }
  for (size_t i = 1; i < args.outputs.size(); ++i)
    if (args.outputs[i].numel() != a.rows || args.outputs[i].dtype != args.outputs.back().dtype ||
        !isFloat(args.outputs[i].dtype))
      fail(ErrorCode::ShapeMismatch, "Normalization statistics output ", i, " must be float with ", a.rows,
           " elements, got ", dtypeName(args.outputs[i].dtype), " ", dimsToString(args.outputs[i].dims));
  a.mean = args.outputs.size() > 1 ? args.outputs[1].data : nullptr;
  a.invStd = args.outputs.size() > 2 ? args.outputs[2].data : nullptr;
  a.statsHalf = args.outputs.back().dtype == DType::Float16;  // fp16 layers store their float32 outputs as fp16
  // An empty row still has statistics (NaN, as on the CPU): launch whenever there are rows.
  cudakernels::launchRowNorm(a);
}

void runNormalization(CudaKernelArgs& args) {
  const std::string mode = args.layer.attrs.getString("mode");
  const DeviceTensor& x = *args.inputs[0];
  DeviceTensor& out = args.outputs[0];
  if (out.dtype != x.dtype || out.dims != x.dims)
    fail(ErrorCode::Internal, "Normalization output is ", dtypeName(out.dtype), " ", dimsToString(out.dims),
         ", expected ", dtypeName(x.dtype), " ", dimsToString(x.dims));
  if (!isFloat(x.dtype)) fail(ErrorCode::DTypeMismatch, "Normalization: unsupported dtype ", dtypeName(x.dtype));
  const double eps = args.layer.attrs.getFloat("epsilon", 1e-5);
  const DeviceTensor *scaleT = nullptr, *biasT = nullptr;
  const DeviceTensor* skip = args.inputs.size() > 5 ? args.inputs[5] : nullptr;
  if (skip && mode != "layer")
    fail(ErrorCode::InvalidModel, "skip (input 5) is only allowed in layer mode, got mode '", mode, "'");
  if (skip && (skip->dtype != x.dtype || skip->dims != x.dims))
    fail(ErrorCode::ShapeMismatch, "skip (input 5) is ", dtypeName(skip->dtype), " ", dimsToString(skip->dims),
         ", expected x's ", dtypeName(x.dtype), " ", dimsToString(x.dims));
  cudakernels::RowNormLaunch a;
  a.half = x.dtype == DType::Float16;
  a.x = x.data;
  a.skip = skip ? skip->data : nullptr;
  a.y = out.data;
  a.eps = eps;
  a.scale = readParam(args, 1, 1.0f, &scaleT);
  a.bias = readParam(args, 2, 0.0f, &biasT);
  a.multiProcessors = args.env.multiProcessors;
  a.stream = args.env.stream;
  if (mode == "layer") return runLayerNorm(args, a, scaleT, biasT);

  if (x.dims.size() < 2) fail(ErrorCode::ShapeMismatch, mode, " normalization needs rank >= 2");
  const int64_t batch = x.dims[0], channels = x.dims[1];
  const int64_t spatial = channels != 0 && batch != 0 ? x.numel() / (channels * batch) : 0;
  requireChannels(scaleT, channels, "scale (input 1)");
  requireChannels(biasT, channels, "bias (input 2)");
  if (mode == "instance") {
    for (NormParam* p : {&a.scale, &a.bias}) {
      if (p->mode == NormParamMode::Absent) continue;
      p->mode = NormParamMode::ByChannel;
      p->channels = channels;
    }
    a.rows = batch * channels;
    a.n = spatial;
    if (x.numel() == 0) return;
    cudakernels::launchRowNorm(a);
    return;
  }
  if (mode != "batch") fail(ErrorCode::InvalidArgument, "unknown Normalization mode '", mode, "'");
  cudakernels::BatchNormLaunch b;
  const DeviceTensor *meanT = nullptr, *varT = nullptr;
  b.mean = readParam(args, 3, 0.0f, &meanT);
  b.var = readParam(args, 4, 1.0f, &varT);
  if (!meanT || !varT) fail(ErrorCode::InvalidModel, "batch normalization needs mean and var inputs");
  requireChannels(meanT, channels, "mean (input 3)");
  requireChannels(varT, channels, "var (input 4)");
  if (x.numel() == 0) return;
  b.half = a.half;
  b.x = x.data;
  b.y = out.data;
  b.batch = batch;
  b.channels = channels;
  b.spatial = spatial;
  b.eps = eps;
  b.scale = a.scale;  // ByColumn over [channels] (data[c]) or Absent
  b.bias = a.bias;
  b.scratch = args.env.scratch(cudakernels::batchNormScratchBytes(channels));
  b.multiProcessors = a.multiProcessors;
  b.stream = a.stream;
  cudakernels::launchBatchNorm(b);
}

std::string normalizationSupports(const Layer& layer, const std::vector<TensorDesc>& in) {
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i].present && !isFloat(in[i].dtype)) return "input " + std::to_string(i) + " is " + dtypeName(in[i].dtype);
  // A scale / bias that varies along the row dims is indexed through x's dims (kMaxNormDims of them).
  if (layer.attrs.getString("mode", "") == "layer" && !in.empty() &&
      in[0].dims.size() > static_cast<size_t>(cudakernels::kMaxNormDims))
    return "layer normalization of rank above " + std::to_string(cudakernels::kMaxNormDims);
  return "";
}

}  // namespace

void registerCudaNormalizationKernel() {
  registerCudaKernel({"Normalization", normalizationSupports, runNormalization, 0});
}

}  // namespace inferrt
