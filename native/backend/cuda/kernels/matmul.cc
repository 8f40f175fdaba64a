// CUDA kernel of MatMul (numpy matmul with transA/transB, optional fused alpha, bias and relu/gelu). float32 /
// float16 go to cuBLASLt (cublaslt_gemm.cc; alpha is its alpha scalar), int32 / int64 to our wrapping tiled
// kernel (matmul_int.cu). Batches run as one GEMM where possible: weights shared by every batch fold the batch
// into M; operands whose batch dims are either full or all broadcast become one strided-batched GEMM; anything
// else (partial broadcasts, rare) issues one GEMM per output batch index.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/cublaslt_gemm.h"
#include "backend/cuda/kernels/cuda_kernel.h"
#include "backend/cuda/kernels/matmul_launch.h"
#include "ir/error.h"

namespace inferrt {

namespace {

using cudakernels::GemmActivation;

// One operand seen as a stack of stored row-major matrices; rows/cols are the logical ones (after transA /
// transB): A is M x K, B is K x N. A 1-D A is [1, K], a 1-D B is [K, 1]; transposition is a no-op on them.
struct Operand {
  Dims batch;
  int64_t rows = 1, cols = 1;
  int64_t ld = 1;  // stored row length
  bool trans = false;
  int64_t size = 1;  // elements per stored matrix
};

Operand viewOperand(const Dims& d, bool transpose, bool isA) {
  Operand v;
  if (d.size() == 1) {
    v.rows = isA ? 1 : d[0];
    v.cols = isA ? d[0] : 1;
    v.ld = v.cols;
    v.size = d[0];
    return v;
  }
  v.batch.assign(d.begin(), d.end() - 2);
  const int64_t r = d[d.size() - 2], c = d.back();
  v.ld = c;
  v.size = r * c;
  v.trans = transpose;
  v.rows = transpose ? c : r;
  v.cols = transpose ? r : c;
  return v;
}

// Per output batch dim, the operand's stride in elements (0 where it broadcasts).
std::vector<int64_t> batchStrides(const Operand& v, const Dims& outBatch) {
  std::vector<int64_t> strides(outBatch.size(), 0);
  const size_t lead = outBatch.size() - v.batch.size();
  int64_t step = v.size;
  for (size_t i = v.batch.size(); i-- > 0;) {
    if (v.batch[i] != 1) strides[lead + i] = step;
    step *= v.batch[i];
  }
  return strides;
}

// The single stride of a strided-batched GEMM over outBatch, or -1 when the operand broadcasts only partly.
int64_t uniformStride(const Operand& v, const Dims& outBatch) {
  if (volume(v.batch) == 1) return 0;
  const size_t lead = outBatch.size() - v.batch.size();
  for (size_t i = 0; i < outBatch.size(); ++i)
    if ((i < lead ? 1 : v.batch[i - lead]) != outBatch[i]) return -1;
  return v.size;
}

GemmActivation activationOf(const Layer& layer) {
  const std::string act = layer.attrs.getString("activation", "none");
  if (act == "none") return GemmActivation::None;
  if (act == "relu") return GemmActivation::Relu;
  if (act == "gelu") return GemmActivation::Gelu;
  fail(ErrorCode::InvalidArgument, "MatMul activation must be none, relu or gelu, got '", act, "'");
}

uint32_t alignOf(const void* p) { return cublaslt::alignmentOf(reinterpret_cast<uintptr_t>(p)); }

size_t roundUp(size_t bytes) { return (bytes + 255) / 256 * 256; }

void runIntMatMul(const CudaKernelArgs& args, const Operand& va, const Operand& vb, const Dims& outBatch) {
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
  const std::vector<int64_t> sa = batchStrides(va, outBatch), sb = batchStrides(vb, outBatch);
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

void runFloatMatMul(const CudaKernelArgs& args, const Operand& va, const Operand& vb, const Dims& outBatch,
                    GemmActivation act, float alpha) {
  const CudaLaunchEnv& env = args.env;
  const DeviceTensor& a = *args.inputs[0];
  const DeviceTensor& b = *args.inputs[1];
  const DeviceTensor* bias = args.inputs.size() > 2 ? args.inputs[2] : nullptr;
  const DeviceTensor& out = args.outputs[0];
  const bool half = a.dtype == DType::Float16;
  const size_t elem = dtypeSize(a.dtype);

  cublaslt::GemmShape s;
  s.half = half;
  s.allowTf32 = env.allowTf32;
  s.transA = va.trans;
  s.transB = vb.trans;
  s.m = va.rows;
  s.n = vb.cols;
  s.k = va.cols;
  s.lda = va.ld;
  s.ldb = vb.ld;
  s.ldd = s.n;
  // alpha scales the product inside the GEMM (before any epilogue, ours or cuBLASLt's), as act(alpha·AB + bias)
  // asks. GELU: cuBLASLt's GELU epilogue is the tanh approximation, so the GEMM stores the scaled product and our
  // kernel adds the bias and applies exact-erf GELU. For fp16 the product then goes to an fp32 scratch buffer,
  // so the result is rounded to fp16 once, as the CPU kernel does.
  const bool gelu = act == GemmActivation::Gelu;
  s.outFloat32 = half && gelu;
  if (!gelu) {
    const bool relu = act == GemmActivation::Relu;
    s.epilogue = bias ? (relu ? cublaslt::GemmEpilogue::ReluBias : cublaslt::GemmEpilogue::Bias)
                      : (relu ? cublaslt::GemmEpilogue::Relu : cublaslt::GemmEpilogue::None);
  }

  // Batch arrangement (see the file comment); offsets are in matrices of the output.
  const int64_t outVolume = volume(outBatch);
  std::vector<int64_t> aOffsets{0}, bOffsets{0};  // element offsets per GEMM call
  if (volume(vb.batch) == 1 && !va.trans && !va.batch.empty()) {
    s.m *= volume(va.batch);  // [batch..., M, K] x [K, N]: one [batch * M, K] x [K, N] GEMM
  } else if (outVolume > 1) {
    const int64_t strideA = uniformStride(va, outBatch), strideB = uniformStride(vb, outBatch);
    if (strideA >= 0 && strideB >= 0) {
      s.batch = outVolume;
      s.strideA = strideA;
      s.strideB = strideB;
      s.strideD = s.m * s.n;
    } else {
      const std::vector<int64_t> sa = batchStrides(va, outBatch), sb = batchStrides(vb, outBatch);
      aOffsets.assign(static_cast<size_t>(outVolume), 0);
      bOffsets.assign(static_cast<size_t>(outVolume), 0);
      for (int64_t z = 0; z < outVolume; ++z) {
        int64_t rest = z;
        for (size_t d = outBatch.size(); d-- > 0;) {
          const int64_t i = rest % outBatch[d];
          rest /= outBatch[d];
          aOffsets[z] += i * sa[d];
          bOffsets[z] += i * sb[d];
        }
      }
    }
  }

  // Scratch: [fp32 product (fp16 + GELU only)] [cuBLASLt workspace]. The fp32 buffer's address is part of the
  // plan (its alignment), so that case takes the largest workspace up front.
  const size_t tempBytes = s.outFloat32 ? roundUp(static_cast<size_t>(out.numel()) * sizeof(float)) : 0;
  char* scratch = tempBytes ? static_cast<char*>(env.scratch(tempBytes + cublaslt::kGemmMaxWorkspace)) : nullptr;
  void* d = s.outFloat32 ? scratch : out.data;
  const size_t dElem = s.outFloat32 ? sizeof(float) : elem;

  std::vector<cublaslt::GemmPointers> calls(aOffsets.size());
  s.alignA = s.alignB = s.alignD = s.alignBias = 256;
  for (size_t z = 0; z < calls.size(); ++z) {
    calls[z].a = static_cast<const char*>(a.data) + aOffsets[z] * elem;
    calls[z].b = static_cast<const char*>(b.data) + bOffsets[z] * elem;
    calls[z].d = static_cast<char*>(d) + static_cast<size_t>(z * s.m * s.n) * dElem;
    calls[z].bias = bias ? bias->data : nullptr;
    s.alignA = std::min(s.alignA, alignOf(calls[z].a));
    s.alignB = std::min(s.alignB, alignOf(calls[z].b));
    s.alignD = std::min(s.alignD, alignOf(calls[z].d));
  }
  s.alignA = std::min(s.alignA, cublaslt::alignmentOf(static_cast<uint64_t>(s.strideA) * elem));
  s.alignB = std::min(s.alignB, cublaslt::alignmentOf(static_cast<uint64_t>(s.strideB) * elem));
  s.alignD = std::min(s.alignD, cublaslt::alignmentOf(static_cast<uint64_t>(s.strideD) * dElem));
  if (bias) s.alignBias = alignOf(bias->data);

  std::shared_ptr<cublaslt::GemmPlan> plan = cublaslt::planGemm(s, env.blasLt, env.device);
  bool ownEpilogue = gelu;
  if (!plan && s.epilogue != cublaslt::GemmEpilogue::None) {
    s.epilogue = cublaslt::GemmEpilogue::None;  // no fused kernel for this shape: bias / relu by our kernel
    plan = cublaslt::planGemm(s, env.blasLt, env.device);
    ownEpilogue = bias || act != GemmActivation::None;
  }
  if (!plan)
    fail(ErrorCode::CudaError, "cuBLASLt has no algorithm for ", dtypeName(a.dtype), " MatMul M=", s.m, " N=", s.n,
         " K=", s.k, " batch=", s.batch * static_cast<int64_t>(calls.size()));
  const size_t workspaceBytes = cublaslt::gemmWorkspaceSize(*plan);
  void* workspace = nullptr;
  if (workspaceBytes > 0) workspace = tempBytes ? scratch + tempBytes : env.scratch(workspaceBytes);
  cublaslt::runGemm(*plan, env.blasLt, calls, workspace, env.stream, alpha);

  if (ownEpilogue) {
    if (!cudakernels::launchGemmEpilogue(d, half && !s.outFloat32, out.data, half, bias ? bias->data : nullptr,
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
  const Operand va = viewOperand(a.dims, layer.attrs.getInt("transA", 0) != 0, true);
  const Operand vb = viewOperand(b.dims, layer.attrs.getInt("transB", 0) != 0, false);
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
  const GemmActivation act = activationOf(layer);
  const float alpha = static_cast<float>(layer.attrs.getFloat("alpha", 1.0));
  const bool floats = isFloat(a.dtype);
  if (!floats && (bias || act != GemmActivation::None || alpha != 1.0f))
    fail(ErrorCode::DTypeMismatch, "MatMul alpha, bias and activation need float inputs, got ", dtypeName(a.dtype));
  if (bias && (bias->dims.size() != 1 || bias->dims[0] != vb.cols || b.dims.size() == 1))
    fail(ErrorCode::ShapeMismatch, "MatMul bias must be [", vb.cols, "], got ", dimsToString(bias->dims));
  if (out.numel() == 0) return;

  if (va.cols == 0) {  // empty sum: the product (times a finite alpha) is all zeros
    if (!floats) {
      INFERRT_CUDA_CHECK(cudaMemsetAsync(out.data, 0, out.bytes(), args.env.stream));
      return;
    }
    const bool half = a.dtype == DType::Float16;
    if (!cudakernels::launchGemmEpilogue(nullptr, half, out.data, half, bias ? bias->data : nullptr, out.numel(),
                                         vb.cols, act, args.env.multiProcessors, args.env.stream))
      fail(ErrorCode::Internal, "MatMul: bad epilogue arguments");
    INFERRT_CUDA_CHECK(cudaGetLastError());
    return;
  }
  if (floats) {
    runFloatMatMul(args, va, vb, outBatch, act, alpha);
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

void registerCudaMatMulKernels() { registerCudaKernel({"MatMul", supportsMatMul, runMatMul, 0}); }

}  // namespace inferrt
