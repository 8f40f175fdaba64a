// SkipLayerNorm v1 on CUDA: the Normalization kernel's layer mode with its skip input (normalization_launch.h),
// in SkipLayerNorm's arithmetic: (x + skip) + bias kept in fp32 (skipSumFp32), statistics in double, gamma and
// beta per column of the last dim.
#include <string>
#include <vector>

#include "backend/cuda/kernels/normalization_launch.h"
#include "bert_cuda.h"
#include "ir/error.h"
#include "bert/skip_layernorm.h"

namespace inferrt::bert_cuda {

namespace {

constexpr const char* kNames[5] = {"x", "skip", "gamma", "beta", "bias"};

// A [hidden] parameter per column, or `fallback` when absent.
cudakernels::NormParam columnParam(const DeviceTensor* t, float fallback) {
  cudakernels::NormParam p;
  p.fallback = fallback;
  if (!t) return p;
  p.data = t->data;
  p.half = t->dtype == DType::Float16;
  p.mode = cudakernels::NormParamMode::ByColumn;
  return p;
}

}  // namespace

std::string supportsSkipLayerNorm(const Layer& layer, const std::vector<TensorDesc>& in) {
  try {
    skipLayerNormEpsilon(layer);
  } catch (const Error& e) {
    return e.what();
  }
  const TensorDesc* x = descAt(in, 0);
  if (!x || !descAt(in, 1) || !descAt(in, 2)) return "x, skip or gamma absent";
  if (!isFloatType(x->dtype)) return std::string("x of dtype ") + dtypeName(x->dtype);
  for (size_t i = 1; i < in.size() && i < 5; ++i) {
    const TensorDesc* d = descAt(in, i);
    if (d && d->dtype != x->dtype)
      return std::string(kNames[i]) + " of dtype " + dtypeName(d->dtype) + " (x is " + dtypeName(x->dtype) + ")";
  }
  return "";
}

void runSkipLayerNorm(CudaKernelArgs& args) {
  const double eps = skipLayerNormEpsilon(args.layer);
  const DeviceTensor* x = inputAt(args, 0);
  const DeviceTensor* skip = inputAt(args, 1);
  const DeviceTensor* gamma = inputAt(args, 2);
  const DeviceTensor* beta = inputAt(args, 3);
  const DeviceTensor* bias = inputAt(args, 4);
  if (!x || !skip || !gamma || args.outputs.size() != 1)
    fail(ErrorCode::InvalidModel, "SkipLayerNorm needs inputs x, skip and gamma and one output");
  if (!isFloatType(x->dtype) || x->dims.empty())
    fail(ErrorCode::DTypeMismatch, "SkipLayerNorm x must be float32 or float16 of rank >= 1, got ",
         dtypeName(x->dtype), " ", dimsToString(x->dims));
  if (skip->dtype != x->dtype || skip->dims != x->dims)
    fail(ErrorCode::ShapeMismatch, "SkipLayerNorm skip is ", dtypeName(skip->dtype), " ", dimsToString(skip->dims),
         ", expected x's ", dtypeName(x->dtype), " ", dimsToString(x->dims));
  const int64_t hidden = x->dims.back();
  const DeviceTensor* params[5] = {x, skip, gamma, beta, bias};
  for (size_t i = 2; i < 5; ++i)
    if (params[i] && (params[i]->dtype != x->dtype || params[i]->dims != Dims{hidden}))
      fail(ErrorCode::ShapeMismatch, "SkipLayerNorm ", kNames[i], " is ", dtypeName(params[i]->dtype), " ",
           dimsToString(params[i]->dims), ", expected ", dtypeName(x->dtype), " [", hidden, "]");
  DeviceTensor& out = args.outputs[0];
  if (out.dtype != x->dtype || out.dims != x->dims)
    fail(ErrorCode::Internal, "SkipLayerNorm output is ", dtypeName(out.dtype), " ", dimsToString(out.dims),
         ", expected ", dtypeName(x->dtype), " ", dimsToString(x->dims));
  if (out.numel() == 0) return;

  cudakernels::RowNormLaunch a;
  a.half = x->dtype == DType::Float16;
  a.x = x->data;
  a.skip = skip->data;
  a.skipSumFp32 = true;
  a.skipBias = bias ? bias->data : nullptr;
  a.y = out.data;
  a.rows = out.numel() / hidden;
  a.n = hidden;
  a.eps = eps;
  a.scale = columnParam(gamma, 1.0f);
  a.bias = columnParam(beta, 0.0f);
  a.multiProcessors = args.env.multiProcessors;
  a.stream = args.env.stream;
  cudakernels::launchRowNorm(a);
}

}  // namespace inferrt::bert_cuda
