// CUDA kernels of the builder's INT8 layers and the family's registration: QuantizedMatMul here,
// QuantizedConvolution in quantized_convolution.cc, QuantizeLinear in quantize_linear.cc. Semantics are the CPU
// kernels' (backend/cpu/quantized_layers.cc): exact int32 sums of int8 products (cuBLASLt's int8 GEMM,
// quantized_gemm.h), then per output element of channel c the fp32 epilogue act(float(acc) * dequantScale[c] +
// bias[c] (+ residual)) (quantized.cu), bit for bit; the cuDNN graphs (channels-last convolutions, fp16-output
// MatMuls) within fp32 rounding.
//
// QuantizedMatMul: a [..., M, K] int8, w [N, K] int8 (a row per output channel) -> y [..., M, N] float32 (with
// output_scale, y's int8 values beside it or alone). An fp16 y (half_output), or the int8-only form, runs on cuDNN
// with the whole epilogue fused where it can (quantized_matmul_cudnn.h). Otherwise the leading dims of a fold into
// the GEMM's rows: D [rows, N] = a * w^T is cuBLASLt's int8 "TN" GEMM as stored. K and N not multiples of 4 are
// zero-padded (copies of a and w in scratch: zeros add nothing to the sums). D goes into y itself when N needs no
// padding and y is float32 (int32 and float32 have one size; the epilogue converts in place); an fp16 y gets them
// from scratch; then a quantize pass makes the int8 values. In sparseWeights engines a layer whose int8 weight is 2:4
// gets its sums from cuSPARSELt's int8 GEMM instead (sparse_layers.h) where its build chose it.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/cuda_kernel.h"
#include "backend/cuda/kernels/quantized_gemm.h"
#include "backend/cuda/kernels/quantized_launch.h"
#include "backend/cuda/kernels/quantized_matmul_cudnn.h"
#include "backend/cuda/kernels/sparse_layers.h"
#include "ir/error.h"
#include "ir/gemm_layers.h"

namespace inferrt {

void registerCudaQuantizedConvolutionKernel();  // quantized_convolution.cc
void registerCudaQuantizeLinearKernel();        // quantize_linear.cc

namespace {

using cudakernels::GemmActivation;

std::string supportsQuantizedMatMul(const Layer& layer, const std::vector<TensorDesc>& inputs) {
  if (inputs.size() < 3 || inputs[1].dims.size() != 2) return "";  // the shape rule reports it
  const std::string act = layer.attrs.getString("activation", "none");
  if (!isGemmActivation(act)) return "activation '" + act + "'";
  const int64_t k = inputs[1].dims[1];
  if (k > cudakernels::kMaxExactInt8Depth)
    return "K = " + std::to_string(k) + " > " + std::to_string(cudakernels::kMaxExactInt8Depth) +
           " (int32 sums could overflow)";
  return "";
}

// A float32 per-channel input (dequantScale, bias) of `channels` values.
void requireChannelVector(const DeviceTensor* t, const char* what, int64_t channels) {
  if (!t) return;
  if (t->dtype != DType::Float32 || t->numel() != channels)
    fail(ErrorCode::ShapeMismatch, "QuantizedMatMul ", what, " must be float32 with ", channels, " values, got ",
         dtypeName(t->dtype), " ", dimsToString(t->dims));
}

void runQuantizedMatMul(CudaKernelArgs& args) {
  const CudaLaunchEnv& env = args.env;
  const DeviceTensor& a = *args.inputs[0];
  const DeviceTensor& w = *args.inputs[1];
  const DeviceTensor* scale = args.inputs[2];
  const DeviceTensor* bias = args.inputs.size() > 3 ? args.inputs[3] : nullptr;
  if (a.dtype != DType::Int8 || w.dtype != DType::Int8 || a.dims.empty() || w.dims.size() != 2)
    fail(ErrorCode::ShapeMismatch, "QuantizedMatMul needs int8 a [..., M, K] and int8 w [N, K], got ",
         dtypeName(a.dtype), " ", dimsToString(a.dims), " and ", dtypeName(w.dtype), " ", dimsToString(w.dims));
  const int64_t n = w.dims[0], k = w.dims[1];
  if (a.dims.back() != k)
    fail(ErrorCode::ShapeMismatch, "QuantizedMatMul inner dims differ: a ", dimsToString(a.dims), ", w ",
         dimsToString(w.dims), " (stored [N, K])");
  requireChannelVector(scale, "dequantScale", n);
  requireChannelVector(bias, "bias", n);
  Dims expected(a.dims.begin(), a.dims.end() - 1);
  expected.push_back(n);
  // Outputs: y (float32, or its fp16 storage); with output_scale y's int8 values, alone or beside y.
  const bool quantizes = args.layer.attrs.has("output_scale"), both = args.outputs.size() == 2;
  DeviceTensor* floatOut = quantizes && !both ? nullptr : &args.outputs[0];
  DeviceTensor* int8Out = quantizes ? &args.outputs.back() : nullptr;
  const bool floatOk = !floatOut || ((floatOut->dtype == DType::Float32 || floatOut->dtype == DType::Float16) &&
                                     floatOut->dims == expected);
  if (!floatOk || (int8Out && (int8Out->dtype != DType::Int8 || int8Out->dims != expected)) || (both && !quantizes))
    fail(ErrorCode::Internal, "QuantizedMatMul outputs do not match ",
         quantizes ? (both ? "y and its int8 values " : "int8 ") : "float32 (or its fp16 storage) ",
         dimsToString(expected));
  const bool outHalf = floatOut && floatOut->dtype == DType::Float16;
  const float outputScale = quantizes ? static_cast<float>(args.layer.attrs.getFloat("output_scale")) : 0.0f;
  const GemmActivation act = gemmActivationOf(args.layer);
  const int64_t rows = volume(expected) / std::max<int64_t>(n, 1);
  if (rows * n == 0) return;

  const int mps = env.multiProcessors;
  // y from the sums: into the float output, or (int8-only form) into `yFloat32`, fp32 [rows, n] (may be acc
  // itself); then y's int8 values, from y as it holds them.
  auto epilogue = [&](const int32_t* acc, int64_t accStride, void* yFloat32) {
    void* y = floatOut ? floatOut->data : yFloat32;
    if (!cudakernels::launchInt8RowsEpilogue(acc, accStride, scale->as<float>(), bias ? bias->as<float>() : nullptr,
                                             y, outHalf, rows, n, act, mps, env.stream))
      fail(ErrorCode::Internal, "QuantizedMatMul: bad epilogue arguments");
    if (int8Out && !cudakernels::launchQuantizeInt8ByValue(y, outHalf, outputScale, int8Out->as<int8_t>(), rows * n,
                                                           mps, env.stream))
      fail(ErrorCode::Internal, "QuantizedMatMul: bad quantize arguments");
    INFERRT_CUDA_CHECK(cudaGetLastError());
  };
  using cudakernels::scratchBytes;
  const size_t yFloat32Bytes = floatOut ? 0 : scratchBytes(static_cast<size_t>(rows * n) * sizeof(float));
  if (k == 0) {  // empty sums: y = act(0 * scale + bias)
    epilogue(nullptr, n, yFloat32Bytes ? env.scratch(yFloat32Bytes) : nullptr);
    return;
  }
  // A sparseWeights engine's 2:4 weight: the same exact int32 sums from cuSPARSELt, [rows, n] with row stride n,
  // then the same epilogue (in place for the int8-only form): the cuBLASLt path's outputs bit for bit.
  const bool accMayBeY = floatOut && !outHalf;
  if (const int32_t* acc = cudakernels::runSparseQuantizedMatMul(args, accMayBeY)) {
    epilogue(acc, n, const_cast<int32_t*>(acc));
    return;
  }
  // fp16 (or int8-only) outputs: one cuDNN kernel with the epilogue fused, where it takes the operands.
  if (cudakernels::runQuantizedMatMulOnCudnn(args, rows, n, k, act, outputScale)) return;

  // Operands as cuBLASLt's int8 GEMM wants them: used in place where they already are, else zero-padded copies.
  // The int32 sums go straight into a float32 y when N needs no padding (same size; the epilogue converts each
  // element in place), else into scratch (where the int8-only form's fp32 y then overwrites them, or follows them
  // when N was padded).
  const int64_t kPadded = cudakernels::roundUpTo4(k), nPadded = cudakernels::roundUpTo4(n);
  const bool copyA = kPadded != k || cudakernels::pointerAlignment(a.data) < 4;
  const bool copyW = kPadded != k || nPadded != n || cudakernels::pointerAlignment(w.data) < 4;
  const bool accInOutput = accMayBeY && nPadded == n && cudakernels::pointerAlignment(floatOut->data) >= 4;
  cudakernels::Int8GemmGeometry g;
  g.m = rows;
  g.n = nPadded;
  g.k = kPadded;
  g.lda = g.ldb = kPadded;
  g.ldd = nPadded;
  const uint32_t scratchAlign = static_cast<uint32_t>(cudakernels::kScratchAlignment);
  const cublaslt::GemmShape shape =
      cudakernels::int8GemmShape(g, copyA ? scratchAlign : cudakernels::pointerAlignment(a.data),
                                 copyW ? scratchAlign : cudakernels::pointerAlignment(w.data),
                                 accInOutput ? cudakernels::pointerAlignment(floatOut->data) : scratchAlign);
  std::unique_ptr<CudaKernelCache> local;
  const std::shared_ptr<cublaslt::GemmPlan> plan = cudakernels::int8GemmPlans(args, local).planFor(shape, env);

  const size_t aBytes = copyA ? scratchBytes(static_cast<size_t>(rows * kPadded)) : 0;
  const size_t wBytes = copyW ? scratchBytes(static_cast<size_t>(nPadded * kPadded)) : 0;
  const size_t accBytes = accInOutput ? 0 : scratchBytes(static_cast<size_t>(rows * nPadded) * sizeof(int32_t));
  const size_t yBytes = nPadded == n ? 0 : yFloat32Bytes;  // else the int8-only form's y overwrites the sums
  const size_t workspaceBytes = scratchBytes(cudakernels::int8GemmWorkspace(plan.get()));
  const size_t total = aBytes + wBytes + accBytes + yBytes + workspaceBytes;
  char* scratch = total ? static_cast<char*>(env.scratch(total)) : nullptr;
  if (scratch) cudakernels::requireScratchAlignment(scratch);
  int8_t* aPadded = reinterpret_cast<int8_t*>(scratch);
  int8_t* wPadded = reinterpret_cast<int8_t*>(scratch + aBytes);
  int32_t* acc =
      accInOutput ? static_cast<int32_t*>(floatOut->data) : reinterpret_cast<int32_t*>(scratch + aBytes + wBytes);
  void* yFloat32 = yBytes ? scratch + aBytes + wBytes + accBytes : static_cast<void*>(acc);
  void* workspace = workspaceBytes ? scratch + aBytes + wBytes + accBytes + yBytes : nullptr;

  if (copyA && !cudakernels::launchPadInt8(a.as<int8_t>(), rows, k, aPadded, rows, kPadded, mps, env.stream))
    fail(ErrorCode::Internal, "QuantizedMatMul: bad padding arguments");
  if (copyW && !cudakernels::launchPadInt8(w.as<int8_t>(), n, k, wPadded, nPadded, kPadded, mps, env.stream))
    fail(ErrorCode::Internal, "QuantizedMatMul: bad padding arguments");
  INFERRT_CUDA_CHECK(cudaGetLastError());
  const int8_t* aUsed = copyA ? aPadded : a.as<int8_t>();
  const int8_t* wUsed = copyW ? wPadded : w.as<int8_t>();
  cudakernels::runInt8Gemm(plan.get(), g, aUsed, wUsed, acc, workspace, env);
  epilogue(acc, nPadded, yFloat32);
}

}  // namespace

void registerCudaQuantizedKernels() {
  registerCudaKernel({"QuantizedMatMul", supportsQuantizedMatMul, runQuantizedMatMul, 0});
  registerCudaQuantizedConvolutionKernel();
  registerCudaQuantizeLinearKernel();
}

}  // namespace inferrt
