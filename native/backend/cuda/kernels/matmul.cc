// CUDA kernel of MatMul (numpy matmul with transA/transB, optional fused alpha, bias and relu/gelu). float32 /
// float16 go to cuBLASLt (cublaslt_gemm.cc; alpha is its alpha scalar) as the GEMMs matmul_gemm.h derives,
// int32 / int64 to our wrapping tiled kernel (matmul_int.cu).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/cublaslt_gemm.h"
#include "backend/cuda/kernels/cuda_kernel.h"
#include "backend/cuda/kernels/matmul_float.h"
#include "backend/cuda/kernels/matmul_gemm.h"
#include "backend/cuda/kernels/matmul_launch.h"
#include "backend/cuda/kernels/sparse_layers.h"
#include "ir/error.h"
#include "ir/gemm_layers.h"

namespace inferrt {

namespace {

using cudakernels::GemmActivation;
using cudakernels::MatMulGemm;
using cudakernels::MatMulOperand;

uint32_t alignOf(const void* p) { return cublaslt::alignmentOf(reinterpret_cast<uintptr_t>(p)); }

void runIntMatMul(const CudaKernelArgs& args, const MatMulOperand& va, const MatMulOperand& vb, const Dims& outBatch) {
  if (outBatch.size() > static_cast<size_t>(cudakernels::kMatMulMaxBatchDims))
    fail(ErrorCode::UnsupportedOp, "integer MatMul with more than ", cudakernels::kMatMulMaxBatchDims,
         " batch dims");
  cudakernels::IntGemmGeometry g;
  g.m = va.rows;
  g.n = vb.cols;
  g.k = va.cols;
  g.aRowStride = va.trans ? 1 : va.ld;
  g.aColStride = va.trans ? va.ld : 1;
  g.bRowStride = vb.trans ? 1 : vb.ld;
  g.bColStride = vb.trans ? vb.ld : 1;
  g.batchRank = static_cast<int32_t>(outBatch.size());
  const std::vector<int64_t> sa = cudakernels::matMulBatchStrides(va, outBatch);
  const std::vector<int64_t> sb = cudakernels::matMulBatchStrides(vb, outBatch);
  for (size_t i = 0; i < outBatch.size(); ++i) {
    g.batchDims[i] = outBatch[i];
    g.aBatchStrides[i] = sa[i];
    g.bBatchStrides[i] = sb[i];
  }
  g.batch = volume(outBatch);
  const DeviceTensor& a = *args.inputs[0];
  if (!cudakernels::launchIntGemm(static_cast<int>(dtypeSize(a.dtype)), a.data, args.inputs[1]->data,
                                  args.outputs[0].data, g, args.env.stream))
    fail(ErrorCode::Internal, "MatMul: no integer kernel for ", dtypeName(a.dtype));
  INFERRT_CUDA_CHECK(cudaGetLastError());
}

// What a float MatMul layer planned for one input-shape signature: kept by the executor (CudaKernelCache), so a
// later run with the same derived GEMM goes straight to runGemm.
struct MatMulCache : CudaKernelCache {
  cublaslt::GemmShape shape;               // as derived (with the fused epilogue)
  std::shared_ptr<cublaslt::GemmPlan> plan;  // for the GEMM run: `shape`, or it without the epilogue
  bool ownEpilogue = false;
  bool ownBias = false;  // the epilogue kernel adds the bias too
};

// Plans the first of the GEMMs to try that cuBLASLt has an algorithm for, with the layer's tactic when it was
// timed for exactly that GEMM.
std::unique_ptr<MatMulCache> planMatMul(const CudaKernelArgs& args, const MatMulGemm& g, DType dtype) {
  auto cache = std::make_unique<MatMulCache>();
  cache->shape = g.shape;
  for (const cublaslt::GemmShape& s : cudakernels::gemmShapesToTry(g)) {
    cublaslt::GemmTactic tactic;
    const bool useTactic = args.tactic && args.tactic->gemmKey == cublaslt::gemmKey(s);
    if (useTactic) tactic = {args.tactic->algo, args.tactic->cublasLtVersion};
    cache->plan = cublaslt::planGemm(s, args.env.blasLt, args.env.device, useTactic ? &tactic : nullptr);
    if (!cache->plan) continue;
    cache->ownEpilogue = cudakernels::needsOwnEpilogue(g, s);
    cache->ownBias = cudakernels::epilogueAddsBias(g, s);
    return cache;
  }
  fail(ErrorCode::CudaError, "cuBLASLt has no algorithm for ", dtypeName(dtype), " MatMul M=", g.shape.m,
       " N=", g.shape.n, " K=", g.shape.k, " batch=", g.shape.batch * static_cast<int64_t>(g.aOffsets.size()));
}

void runFloatMatMul(CudaKernelArgs& args, GemmActivation act, float alpha) {
  if (cudakernels::runSparseMatMul(args, alpha)) return;
  const CudaLaunchEnv& env = args.env;
  const DeviceTensor& a = *args.inputs[0];
  const DeviceTensor& b = *args.inputs[1];
  const DeviceTensor* bias = args.inputs.size() > 2 ? args.inputs[2] : nullptr;
  const DeviceTensor& out = args.outputs[0];
  const bool half = a.dtype == DType::Float16;
  const size_t elem = dtypeSize(a.dtype);

  cudakernels::GemmBaseAlignment align;
  align.a = alignOf(a.data);
  align.b = alignOf(b.data);
  align.out = alignOf(out.data);
  if (bias) align.bias = alignOf(bias->data);
  const MatMulGemm g = cudakernels::deriveMatMulGemm(args.layer, a.dims, b.dims, bias != nullptr, half, env.allowTf32, align);
  const cublaslt::GemmShape& s = g.shape;

  // The plan of this signature's earlier runs, unless the derived GEMM changed (other buffer alignments).
  std::unique_ptr<CudaKernelCache> local;
  std::unique_ptr<CudaKernelCache>& slot = args.cache ? *args.cache : local;
  auto* cached = dynamic_cast<MatMulCache*>(slot.get());
  if (!cached || cached->shape != s) {
    slot = planMatMul(args, g, a.dtype);
    cached = static_cast<MatMulCache*>(slot.get());
  }

  std::vector<cublaslt::GemmPointers> calls(g.aOffsets.size());
  for (size_t z = 0; z < calls.size(); ++z) {
    calls[z].a = static_cast<const char*>(a.data) + g.aOffsets[z] * static_cast<int64_t>(elem);
    calls[z].b = static_cast<const char*>(b.data) + g.bOffsets[z] * static_cast<int64_t>(elem);
    calls[z].d = static_cast<char*>(out.data) + static_cast<size_t>(static_cast<int64_t>(z) * s.m * s.n) * elem;
    calls[z].bias = bias ? bias->data : nullptr;
  }
  const size_t workspaceBytes = cublaslt::gemmWorkspaceSize(*cached->plan);
  void* workspace = nullptr;
  if (workspaceBytes > 0) workspace = env.scratch(workspaceBytes);
  cublaslt::runGemm(*cached->plan, env.blasLt, calls, workspace, env.stream, alpha);

  if (cached->ownEpilogue) {
    // In place: the GEMM stored alpha·AB (+ bias unless ownBias) in the output.
    if (!cudakernels::launchGemmEpilogue(out.data, half, out.data, half, cached->ownBias ? bias->data : nullptr,
                                         out.numel(), s.n, act, env.multiProcessors, env.stream))
      fail(ErrorCode::Internal, "MatMul: bad epilogue arguments");
    INFERRT_CUDA_CHECK(cudaGetLastError());
  }
}

void runMatMul(CudaKernelArgs& args) {
  const Layer& layer = args.layer;
  const DeviceTensor& a = *args.inputs[0];
  const DeviceTensor& b = *args.inputs[1];
  const DeviceTensor* bias = args.inputs.size() > 2 ? args.inputs[2] : nullptr;
  DeviceTensor& out = args.outputs[0];
  if (a.dtype != b.dtype || (bias && bias->dtype != a.dtype))
    fail(ErrorCode::DTypeMismatch, "MatMul inputs differ in dtype: ", dtypeName(a.dtype), " vs ",
         dtypeName(b.dtype));
  if (a.dims.empty() || b.dims.empty()) fail(ErrorCode::ShapeMismatch, "MatMul operands must have rank >= 1");
  const MatMulOperand va = cudakernels::viewMatMulOperand(a.dims, layer.attrs.getInt("transA", 0) != 0, true);
  const MatMulOperand vb = cudakernels::viewMatMulOperand(b.dims, layer.attrs.getInt("transB", 0) != 0, false);
  if (va.cols != vb.rows)
    fail(ErrorCode::ShapeMismatch, "MatMul inner dims differ: ", va.cols, " vs ", vb.rows, " (A ",
         dimsToString(a.dims), ", B ", dimsToString(b.dims), ")");
  const Dims outBatch = broadcastDims(va.batch, vb.batch);
  Dims expected = outBatch;
  if (a.dims.size() > 1) expected.push_back(va.rows);
  if (b.dims.size() > 1) expected.push_back(vb.cols);
  if (out.dims != expected || out.dtype != a.dtype)
    fail(ErrorCode::Internal, "MatMul output is ", dtypeName(out.dtype), " ", dimsToString(out.dims), ", expected ",
         dtypeName(a.dtype), " ", dimsToString(expected));
  const GemmActivation act = gemmActivationOf(layer);
  const float alpha = static_cast<float>(layer.attrs.getFloat("alpha", 1.0));
  const bool floats = isFloat(a.dtype);
  if (!floats && (bias || act != GemmActivation::None || alpha != 1.0f))
    fail(ErrorCode::DTypeMismatch, "MatMul alpha, bias and activation need float inputs, got ", dtypeName(a.dtype));
  if (bias && (bias->dims.size() != 1 || bias->dims[0] != vb.cols || b.dims.size() == 1))
    fail(ErrorCode::ShapeMismatch, "MatMul bias must be [", vb.cols, "], got ", dimsToString(bias->dims));
  if (out.numel() == 0) return;

  if (floats) {
    cudakernels::runFloatMatMulLayer(args, act, alpha);
  } else if (va.cols == 0) {  // empty sum: the product is all zeros
    INFERRT_CUDA_CHECK(cudaMemsetAsync(out.data, 0, out.bytes(), args.env.stream));
  } else if (a.dtype == DType::Int32 || a.dtype == DType::Int64) {
    runIntMatMul(args, va, vb, outBatch);
  } else {
    fail(ErrorCode::DTypeMismatch, "MatMul does not support ", dtypeName(a.dtype));
  }
}

std::string supportsMatMul(const Layer& layer, const std::vector<TensorDesc>& inputs) {
  if (inputs.size() < 2) return "";  // the shape rule reports it
  const DType t = inputs[0].dtype;
  if (t != DType::Float32 && t != DType::Float16 && t != DType::Int32 && t != DType::Int64)
    return std::string(dtypeName(t)) + " inputs";
  // The shape rule already rejects it; the integer kernel has no scaling, so never run it with one.
  if (!isFloat(t) && layer.attrs.getFloat("alpha", 1.0) != 1.0) return "integer MatMul with alpha != 1";
  const size_t rank = std::max(inputs[0].dims.size(), inputs[1].dims.size());
  if (!isFloat(t) && rank > 2 + static_cast<size_t>(cudakernels::kMatMulMaxBatchDims))
    return "integer MatMul with more than 8 batch dims";
  return "";
}

}  // namespace

void cudakernels::runFloatMatMulLayer(CudaKernelArgs& args, GemmActivation act, float alpha) {
  const DeviceTensor& a = *args.inputs[0];
  const DeviceTensor& b = *args.inputs[1];
  const DeviceTensor* bias = args.inputs.size() > 2 ? args.inputs[2] : nullptr;
  const DeviceTensor& out = args.outputs[0];
  const int64_t k = viewMatMulOperand(a.dims, args.layer.attrs.getInt("transA", 0) != 0, true).cols;
  const int64_t n = viewMatMulOperand(b.dims, args.layer.attrs.getInt("transB", 0) != 0, false).cols;
  if (k == 0) {  // empty sum: the product (times a finite alpha) is all zeros, so out = act(bias)
    const bool half = a.dtype == DType::Float16;
    if (!launchGemmEpilogue(nullptr, half, out.data, half, bias ? bias->data : nullptr, out.numel(), n, act,
                            args.env.multiProcessors, args.env.stream))
      fail(ErrorCode::Internal, "MatMul: bad epilogue arguments");
    INFERRT_CUDA_CHECK(cudaGetLastError());
    return;
  }
  runFloatMatMul(args, act, alpha);
}

void registerCudaMatMulKernels() { registerCudaKernel({"MatMul", supportsMatMul, runMatMul, 0}); }

}  // namespace inferrt
