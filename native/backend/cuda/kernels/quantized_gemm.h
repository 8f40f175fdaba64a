// The INT8 layers' GEMM, shared by QuantizedMatMul and QuantizedConvolution: int8 operands, exact int32 sums, on
// cuBLASLt's int8 path (cublaslt_gemm.h with GemmShape::int8) where it has an algorithm, else on our plain kernel
// (quantized_launch.h), which gives the same integers. The callers bring the operands to cuBLASLt's int8 form:
// "TN" (D = A * B^T, A and B stored with K contiguous), K, the leading dims and D's column count multiples of 4.
// No cuBLASLt types here.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "backend/cuda/kernels/cublaslt_gemm.h"
#include "backend/cuda/kernels/cuda_kernel.h"
#include "backend/cuda/kernels/quantized_launch.h"

namespace inferrt::cudakernels {

// The longest reduction whose int32 sum of int8 products cannot overflow (|product| <= 2^14). Past it the CPU
// kernels' sums wrap around, and cuBLASLt does not document that its int32 accumulators do the same.
constexpr int64_t kMaxExactInt8Depth = (int64_t{1} << 17) - 1;

// cuBLASLt's int8 multiple for K, leading dims and D's column count.
inline int64_t roundUpTo4(int64_t v) { return (v + 3) / 4 * 4; }

// Offset alignment of the scratch carve-up: device allocations are 256-byte aligned, and so is every carved piece.
constexpr size_t kScratchAlignment = 256;
inline size_t scratchBytes(size_t bytes) {
  return (bytes + kScratchAlignment - 1) / kScratchAlignment * kScratchAlignment;
}
// Alignment in bytes (power of two <= 256) of a device pointer.
uint32_t pointerAlignment(const void* p);
// Fails (INTERNAL) unless the scratch block has the alignment the GEMM plans assumed for it.
void requireScratchAlignment(const void* scratch);

// The cuBLASLt description of `g` (an int8 "TN" GEMM) whose A, B and D pointers (and batch strides) have at least
// the given alignments.
cublaslt::GemmShape int8GemmShape(const Int8GemmGeometry& g, uint32_t alignA, uint32_t alignB, uint32_t alignD);

// The cuBLASLt plans one layer made, one per GEMM shape it ran (a convolution runs two: its full batch chunks and
// the last one), kept in the layer's CudaKernelCache slot for later runs. A null plan means cuBLASLt has no
// algorithm for that shape: the fallback kernel runs it.
class Int8GemmPlans : public CudaKernelCache {
 public:
  // Shared with the caller: a later planFor may drop its entry (the list is bounded).
  std::shared_ptr<cublaslt::GemmPlan> planFor(const cublaslt::GemmShape& shape, const CudaLaunchEnv& env);

 private:
  std::vector<std::pair<cublaslt::GemmShape, std::shared_ptr<cublaslt::GemmPlan>>> plans_;
};

// The plans kept in `args.cache` (or in `local` where the executor keeps none), made there on first use.
Int8GemmPlans& int8GemmPlans(CudaKernelArgs& args, std::unique_ptr<CudaKernelCache>& local);

// Workspace bytes the plan's algorithm needs (0 for the fallback).
size_t int8GemmWorkspace(const cublaslt::GemmPlan* plan);

// Enqueues D = A * B^T for `g` on env.stream: cuBLASLt with `plan` (planFor's, for the int8GemmShape of `g` and
// these pointers' alignments), or the fallback kernel when the plan is null. `workspace` holds
// int8GemmWorkspace(plan) bytes.
void runInt8Gemm(cublaslt::GemmPlan* plan, const Int8GemmGeometry& g, const int8_t* a, const int8_t* b, int32_t* d,
                 void* workspace, const CudaLaunchEnv& env);

}  // namespace inferrt::cudakernels
