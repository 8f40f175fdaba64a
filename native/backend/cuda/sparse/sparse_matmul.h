// How a MatMul (QuantizedMatMul, 1x1 Convolution) layer with a constant 2:4 weight becomes the sparse GEMM of
// sparse_gemm.h: shared by the build (sparse tactic selection) and the kernels at run time, so what was timed is
// what runs.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/cuda/device_memory.h"
#include "backend/cuda/sparse/sparse_gemm.h"
#include "ir/gemm_activation.h"
#include "ir/network.h"

namespace inferrt::sparselt {

struct SparseMatMul {
  SparseGemmShape shape;
  // The layer's GELU (exact or tanh), run after the GEMM in place (cuSPARSELt has no fp16 GELU epilogue); else None.
  GemmActivation geluAfter = GemmActivation::None;
  std::string reason;  // "" when the sparse kernel takes the layer at these dims, else why not
};

// The sparse GEMM of `layer` (transA, transB, activation) for fp16 operands with dims `a` (activations) and `b`
// (the constant 2-D weight): X = A folded to [m, k], W = B as [n, k].
SparseMatMul sparseMatMulOf(const Layer& layer, const Dims& a, const Dims& b, bool hasBias);
// The same for a Convolution layer: a channels-last 1x1 convolution with stride 1, no pads and no groups is the
// GEMM of x [N, H, W, C] as [N*H*W, C] with its [M, 1, 1, C] filter as [M, C] (bias, residual and relu as its
// epilogue); anything else gets a reason.
SparseMatMul sparseConvolutionOf(const Layer& layer, const Dims& x, const Dims& w, bool hasBias, bool hasResidual);

// The same for a QuantizedMatMul (a [..., M, K] int8, its constant int8 weight w [N, K]): the int8 GEMM with exact
// int32 sums, X = a folded to [m, k], W = w as stored; no epilogue (the layer's dequantizing epilogue runs after
// it on the int32 sums, as on the dense path).
SparseMatMul sparseQuantizedMatMulOf(const Dims& a, const Dims& w);

// The weight as the sparse GEMM reads it: fp16 [n, k] row-major (B transposed when transB = 0).
std::vector<uint16_t> sparseWeightLayout(const Tensor& b, bool transB);

// Writes `bytes` from `host` (zeros when null) to device memory `at` of `capacity` bytes and zeroes the rest of it,
// on `stream`, and waits for both. `capacity` must be at least paddedCompressedBytes(bytes) (INTERNAL otherwise): the
// slack a kernel that over-reads the operand may touch.
void uploadPadded(void* at, size_t capacity, const void* host, size_t bytes, cudaStream_t stream);
// A new device buffer of paddedCompressedBytes(bytes) holding `bytes` from `host` (zeros when null), slack zeroed.
std::unique_ptr<DeviceMemory> devicePadded(const void* host, size_t bytes, int device, cudaStream_t stream);

// Compresses a [n, k] weight in host memory (`shape`'s operand type) on `handle`'s device, for the weight
// descriptor of `shape` (which depends on n, k and the type only). Host bytes; synchronizes. INVALID_ARGUMENT
// when cuSPARSELt's own check finds the weight not 2:4 along k.
std::vector<uint8_t> compressWeight(const Handle& handle, const SparseGemmShape& shape, const void* weight);
// The weight's [n, k] and operand type for a MatMul, QuantizedMatMul (int8) or 1x1 Convolution layer (m left at
// 16: the weight descriptor ignores it).
SparseGemmShape weightShapeOf(const Layer& layer, const Tensor& weight);
// The same for a MatMul or 1x1 Convolution layer's fp16 (or float32, rounded) constant weight, or a
// QuantizedMatMul's int8 [n, k] one (compressed as stored, as int8).
std::vector<uint8_t> compressLayerWeight(const Handle& handle, const SparseGemmShape& shape, const Layer& layer,
                                         const Tensor& weight);

}  // namespace inferrt::sparselt

namespace inferrt::sparselt {

// One sparse GEMM from host operands to host output, for tests of the kernel itself: x [m, k] and w [n, k] in the
// shape's operand type, y [m, n] in its output type, with kernel configuration `configId` (< 0: the library's
// default). Also says how many configurations there are. Synchronous.
struct SparseGemmResult {
  std::vector<uint8_t> y;
  int32_t configCount = 0;
};
SparseGemmResult runSparseGemmOnce(int device, const SparseGemmShape& shape, const void* x, const void* w,
                                   int32_t configId);

}  // namespace inferrt::sparselt
