// The one place that runs 2:4 sparse-weight GEMMs on cuSPARSELt (sparseWeights builds): a row-major GEMM with
// a constant weight, Y[M, N] = act(alpha * X[M, K] * W[N, K]^T + bias), where W holds at most two non-zeros in
// every four consecutive elements along K. fp16 operands (fp32 accumulation, fp16 out), or int8 operands with
// exact int32 accumulation and int32 out (no bias or activation; for the INT8 path). No cuSPARSELt types here,
// so callers compile without its headers; built without cuSPARSELt, available() is false, planSparseGemm gives
// null and the rest fails with UNSUPPORTED_OP.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace inferrt::sparselt {

enum class SparseType : int32_t { Half = 0, Int8 = 1 };

struct SparseGemmShape {
  int64_t m = 0, n = 0, k = 0;  // X is [m, k], W [n, k], Y [m, n]
  SparseType type = SparseType::Half;
  bool bias = false;      // + bias[n] (fp16), before the activation; Half only
  bool residual = false;  // + a residual R[m, n] (Y's layout and type), before the activation; Half only
  bool relu = false;      // Half only
};

// Bytes per element of X and W (Y is 2 bytes for Half, 4 for Int8).
inline size_t operandBytes(SparseType t) { return t == SparseType::Int8 ? 1 : 2; }
inline size_t outputBytes(SparseType t) { return t == SparseType::Int8 ? 4 : 2; }

// "sp16 m=24576 n=4096 k=1024 bias" / "sp8i32 m=64 n=256 k=256": what a sparse tactic was chosen for (plans
// record it).
std::string sparseGemmKey(const SparseGemmShape& s);

// A cuSPARSELt kernel configuration: the build times each configuration id and plans record the fastest.
struct SparseAlgo {
  int32_t configId = 0, splitK = 1, splitKMode = 0, splitKBuffers = 1;
};

bool available();            // built with cuSPARSELt
uint64_t loadedVersion();    // major * 1000 + minor * 100 + patch of the loaded library; 0 when not available
// "" when the sparse kernel takes this GEMM, else why not (dims the library cannot tile, sizes out of range).
std::string unsupportedReason(const SparseGemmShape& s);

// A cuSPARSELt library handle on one device (cusparseLtInit / cusparseLtDestroy): each context keeps its own,
// as it does its cuBLASLt handle. CUDA_ERROR naming the call when the library cannot start.
class Handle {
 public:
  explicit Handle(int device);
  ~Handle();
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  void* get() const { return handle_; }
  int device() const { return device_; }

 private:
  void* handle_ = nullptr;  // cusparseLtHandle_t (a 512-byte struct cuSPARSELt writes into)
  int device_ = 0;
};

class SparseGemmPlan;

// Descriptors and plan for `shape` with `algo` (null: the library's default configuration) and a fixed bias
// pointer (the layer's constant bias; null when shape.bias is false). Null when cuSPARSELt refuses this shape
// or algorithm, so the caller can run the dense GEMM. The plan belongs to the caller and to `handle`; one thread
// at a time.
std::shared_ptr<SparseGemmPlan> planSparseGemm(const Handle& handle, const SparseGemmShape& shape,
                                               const SparseAlgo* algo, const void* bias);
// How many kernel configurations cuSPARSELt offers for the plan's GEMM (ids 0 .. count - 1).
int32_t configCount(const SparseGemmPlan& plan);

size_t sparseWorkspaceSize(const SparseGemmPlan& plan);
// Bytes of the compressed form of W for this plan's weight descriptor.
size_t compressedSize(const SparseGemmPlan& plan);

// cuSPARSELt's kernels may read past the end of their operands: compute-sanitizer saw the sm90 64x256x128 fp16
// kernel read up to 512 bytes past the compressed weight of an n = 64, k = 128 GEMM. So every device buffer that
// holds a compressed weight (and the build's own timing operands) is followed by this many zeroed bytes: 64 KiB
// holds a whole 256 x 128 tile of fp16 values uncompressed (twice what it compresses to), that kernel's largest
// operand tile, so a kernel that loads a full tile past the end of a small operand stays inside the allocation and
// reads zeros. Device only: plans keep the compressedSize bytes.
constexpr size_t kCompressedWeightSlackBytes = size_t{64} * 1024;
inline size_t paddedCompressedBytes(size_t bytes) { return bytes + kCompressedWeightSlackBytes; }

// Compresses the dense [n, k] weight `w` (device, the shape's operand type) into `compressed` (device,
// compressedSize bytes); allocates and frees the library's temporary buffer itself (synchronizes: load and build
// time only).
void compressWeights(const SparseGemmPlan& plan, const void* w, void* compressed, cudaStream_t stream);
// Whether the device weight `w` is 2:4 the way cuSPARSELt reads it (its own prune check; synchronizes).
bool weightsAreTwoFour(const SparseGemmPlan& plan, const void* w, cudaStream_t stream);

// Enqueues the GEMM on `stream` (no synchronization, no allocation: safe inside CUDA graph capture). `residual`
// is required when the shape has one (cuSPARSELt's C operand with beta = 1), else ignored.
void runSparseGemm(const SparseGemmPlan& plan, const void* compressedW, const void* x, void* y, void* workspace,
                   float alpha, cudaStream_t stream, const void* residual = nullptr);

}  // namespace inferrt::sparselt
