// FullyConnected v1 on CUDA: the MatMul kernel's float GEMM path (matmul_float.h) — cuBLASLt with the bias in its
// epilogue where it has one, exact-erf GELU by the MatMul epilogue kernel, tanh GELU by cuBLASLt's GELU epilogue —
// for x [..., K] · weight [K, N].
#include <string>
#include <vector>

#include "backend/cuda/kernels/matmul_float.h"
#include "bert_cuda.h"
#include "ir/error.h"
#include "ir/gemm_layers.h"
#include "bert/fully_connected.h"

namespace inferrt::bert_cuda {

std::string supportsFullyConnected(const Layer& layer, const std::vector<TensorDesc>& in) {
  try {
    fullyConnectedActivation(layer);
  } catch (const Error& e) {
    return e.what();
  }
  const TensorDesc* x = descAt(in, 0);
  const TensorDesc* w = descAt(in, 1);
  const TensorDesc* bias = descAt(in, 2);
  if (!x || !w) return "x or weight absent";
  if (!isFloatType(x->dtype)) return std::string("x of dtype ") + dtypeName(x->dtype);
  if (w->dtype != x->dtype)
    return std::string("weight of dtype ") + dtypeName(w->dtype) + " (x is " + dtypeName(x->dtype) + ")";
  if (bias && bias->dtype != x->dtype)
    return std::string("bias of dtype ") + dtypeName(bias->dtype) + " (x is " + dtypeName(x->dtype) + ")";
  if (x->dims.empty() || w->dims.size() != 2) return "x of rank 0 or a weight not of rank 2";
  return "";
}

void runFullyConnected(CudaKernelArgs& args) {
  fullyConnectedActivation(args.layer);  // the plugin's own message for a bad attribute
  const DeviceTensor* x = inputAt(args, 0);
  const DeviceTensor* w = inputAt(args, 1);
  const DeviceTensor* bias = inputAt(args, 2);
  if (!x || !w || args.outputs.size() != 1)
    fail(ErrorCode::InvalidModel, "FullyConnected needs inputs x and weight and one output");
  if (!isFloatType(x->dtype) || w->dtype != x->dtype || (bias && bias->dtype != x->dtype))
    fail(ErrorCode::DTypeMismatch, "FullyConnected x, weight and bias must be one float dtype, got ",
         dtypeName(x->dtype), ", ", dtypeName(w->dtype), bias ? std::string(", ") + dtypeName(bias->dtype) : "");
  if (x->dims.empty() || w->dims.size() != 2 || w->dims[0] != x->dims.back())
    fail(ErrorCode::ShapeMismatch, "FullyConnected x ", dimsToString(x->dims), " and weight ", dimsToString(w->dims),
         " do not match: expected x [..., K] and weight [K, N]");
  const int64_t n = w->dims[1];
  if (bias && bias->dims != Dims{n})
    fail(ErrorCode::ShapeMismatch, "FullyConnected bias must be [", n, "], got ", dimsToString(bias->dims));
  Dims expected(x->dims.begin(), x->dims.end() - 1);
  expected.push_back(n);
  DeviceTensor& out = args.outputs[0];
  if (out.dtype != x->dtype || out.dims != expected)
    fail(ErrorCode::Internal, "FullyConnected output is ", dtypeName(out.dtype), " ", dimsToString(out.dims),
         ", expected ", dtypeName(x->dtype), " ", dimsToString(expected));
  if (out.numel() == 0) return;
  // The MatMul path reads inputs 0, 1 and (optional) 2 as A, B and bias, and the layer's activation attribute,
  // which FullyConnected names and spells as MatMul does; transA / transB are absent (0). No alpha.
  cudakernels::runFloatMatMulLayer(args, gemmActivationOf(args.layer), 1.0f);
}

}  // namespace inferrt::bert_cuda
