// Host launchers of the reduction family (Reduce, ArgMinMax, Softmax, CumSum): plain C++ parameters only, so the
// .cc files that read layers never pull CUDA device headers and the .cu files never pull ir/ headers.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace inferrt::cudakernels {

// Element types of the tensors these kernels read and write (the .cc maps DType onto them).
enum class ElemType : int32_t { F32, F16, I8, U8, I32, I64 };

enum class ReduceOpCode : int32_t { Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare };

constexpr int kMaxReduceDims = 8;

// x seen as row-major [outer, reduced, inner]: the reduced dims are one contiguous run.
struct ReduceView3 {
  int64_t outer = 1, reduced = 1, inner = 1;
};

// Any set of reduced dims: outputs walk the kept dims, each output's elements walk the reduced dims
// (element strides into x). Adjacent dims of one kind are merged by the caller, so ranks stay small.
struct ReduceViewGeneral {
  int keptRank = 0, redRank = 0;
  int64_t keptDims[kMaxReduceDims] = {}, keptStrides[kMaxReduceDims] = {};
  int64_t redDims[kMaxReduceDims] = {}, redStrides[kMaxReduceDims] = {};
  int64_t reduced = 1;  // product of redDims
};

struct ReduceLaunch {
  ElemType type = ElemType::F32;  // of x and y
  ReduceOpCode op = ReduceOpCode::Sum;
  const void* x = nullptr;  // null when x is empty
  void* y = nullptr;
  int64_t outN = 0;  // > 0
  int multiProcessors = 0;
  cudaStream_t stream = nullptr;
};

// Device scratch the reduction of this view needs (split partials, log_sum_exp shifts); 0 for none.
size_t reduceScratchBytes(const ReduceLaunch& a, const ReduceView3& v);
size_t reduceScratchBytes(const ReduceLaunch& a, const ReduceViewGeneral& v);
// Enqueue the reduction; `scratch` holds reduceScratchBytes(a, v) bytes (may be null when that is 0).
void launchReduce(const ReduceLaunch& a, const ReduceView3& v, void* scratch);
void launchReduce(const ReduceLaunch& a, const ReduceViewGeneral& v, void* scratch);

// ArgMinMax over the middle of [outer, n, inner] (n >= 1); y is int64 [outer, inner].
void launchArgMinMax(ElemType type, const void* x, int64_t* y, int64_t outer, int64_t n, int64_t inner, bool isMax,
                     bool selectLast, int multiProcessors, cudaStream_t stream);

// The additive mask of a masked softmax, broadcast to x: its element offset for x's flat index f is
// sum_d ((f / inner(d)) % dims[d]) * strides[d] over x's dims (merged where the mask allows, size-1 dims
// dropped; strides 0 where it broadcasts), and moving one step along the softmax axis adds axisStride.
constexpr int kSoftmaxMaskMaxRank = 8;
struct SoftmaxMask {
  const void* data = nullptr;  // null: no mask
  bool half = false;           // float16, else float32 (independent of x's type)
  int rank = 0;
  int64_t dims[kSoftmaxMaskMaxRank] = {}, strides[kSoftmaxMaskMaxRank] = {};
  int64_t axisStride = 0;
};

// Softmax / LogSoftmax over the middle of [outer, n, inner] (float32 or float16 in and out) of x + mask.
void launchSoftmax(ElemType type, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool logMode,
                   const SoftmaxMask& mask, int multiProcessors, cudaStream_t stream);

// Cumulative sum over the middle of [outer, n, inner].
void launchCumSum(ElemType type, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool exclusive,
                  bool reverse, int multiProcessors, cudaStream_t stream);

}  // namespace inferrt::cudakernels
