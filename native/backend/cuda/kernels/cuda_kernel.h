// The CUDA backend's kernel table: one entry per layer kind it runs on the GPU, each with its support query
// (asked when an engine is loaded: a layer the GPU kernel declines runs on the CPU reference kernel, with copies,
// and the build log says which and why). One table for dispatch and support, never two switches to keep in sync.
//
// Contract with the executor (native/backend/cuda/executor/):
// - Layers run one after another on one stream (env.stream). A kernel only enqueues work: it never synchronizes.
// - Outputs arrive allocated (device memory sized by the shape rule for these concrete inputs); a kernel writes
//   every element of them. Zero-element tensors have data == nullptr: launch nothing for them.
// - Inputs flagged in hostInputMask (shape, axes, pads, repeats... vectors) arrive in hostInputs as host tensors;
//   other inputs are on the device only (hostInputs[i] may still hold a build-time value, e.g. a constant).
// - The executor handles view layers (Reshape, Squeeze, Unsqueeze, Flatten, Identity) and Shape itself, and
//   skips layers whose outputs are known on the host for the current input shapes.
// - Float16 tensors hold IEEE half bits (__half on the device). Math on fp16 data accumulates in fp32.
// - Semantics are exactly the CPU reference kernel's (native/backend/cpu/): it is the oracle in the GPU suite.
// - Bad data found on the device (an index out of range, invalid cu_seqlens) is reported with reportDeviceError
//   (kernel_support.cuh) and a DeviceErrorCode; the executor turns the first one into InvalidArgument naming the
//   layer and what the code means, after the run. Never read or write out of bounds.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ir/network.h"
#include "ir/op_registry.h"
#include "plan/tactics.h"

namespace inferrt {

struct DeviceTensor {
  DType dtype = DType::Float32;
  Dims dims;             // concrete
  void* data = nullptr;  // device memory; null when numel() == 0
  int64_t numel() const { return volume(dims); }
  size_t bytes() const { return static_cast<size_t>(numel()) * dtypeSize(dtype); }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data);
  }
};

// Error codes a kernel may write to CudaLaunchEnv::deviceError (first one wins). The executor's message says what
// each means (run_steps.cc); values are never reused.
enum class DeviceErrorCode : int32_t {
  None = 0,
  IndexOutOfRange = 1,
  InvalidSequenceOffsets = 2,  // packed sequences: cu_seqlens breaks its rules (packed_sequences.cuh)
};

// What a kernel may use while it enqueues its work.
struct CudaLaunchEnv {
  cudaStream_t stream = nullptr;
  int device = 0;
  int multiProcessors = 0;
  bool allowTf32 = true;  // TF32 tensor cores allowed for fp32 GEMM/convolution (TensorRT's default; off = strict fp32)
  // Scratch device memory for this layer: valid for work enqueued on env.stream until the layer's run returns
  // and the next layer starts (the executor never frees it mid-stream). Each call returns the same block (grown
  // if needed): take one block per layer and carve it up. Throws OUT_OF_MEMORY.
  std::function<void*(size_t bytes)> scratch;
  int32_t* deviceError = nullptr;  // device int32: 0, or a DeviceErrorCode set by a kernel (atomicCAS from 0)
  void* blasLt = nullptr;          // cublasLtHandle_t
  void* cudnn = nullptr;           // cudnnHandle_t bound to `stream`; null when built without cuDNN
  const void* sparseLt = nullptr;  // sparselt::Handle; null unless the engine has sparse-weight layers
  // A slot owned by this layer's step of the current run plan (one shape signature of one context, run by one
  // thread at a time): a kernel may keep what it chose on the first run (the convolution keeps its cuDNN plan)
  // and find it on later eager runs without a global lookup. Null where there is none.
  std::shared_ptr<const void>* kernelState = nullptr;
};

// What a kernel worked out for one layer under one input-shape signature of one context (library plans,
// descriptors), kept by the executor with that signature's run plan so later runs skip the work. The kernel
// makes it on its first run and checks on later ones that it still applies (buffer addresses may change).
// Only the context's own thread touches it, one run at a time: no locking.
struct CudaKernelCache {
  virtual ~CudaKernelCache() = default;
};

// A sparse-weight layer's compressed weight on the device (shared by the engine's contexts), the GEMM its build
// timed it for (`gemmKey`, sparselt::sparseGemmKey) and the cuSPARSELt configuration it chose there (when
// `hasAlgo`: the loaded library is the one that chose it). Other GEMMs run dense unless `anyShape`.
struct SparseLayerWeights {
  const void* compressed = nullptr;
  std::string gemmKey;
  bool anyShape = false;
  bool hasAlgo = false;
  int32_t algConfigId = 0, splitK = 1, splitKMode = 0, splitKBuffers = 1;
};

struct CudaKernelArgs {
  const Layer& layer;
  std::vector<const DeviceTensor*> inputs;  // null for an absent optional input
  std::vector<TensorPtr> hostInputs;        // per input: host value where known (always for hostInputMask inputs)
  std::vector<DeviceTensor> outputs;        // allocated; dtype/dims from the shape rule
  const CudaLaunchEnv& env;
  std::unique_ptr<CudaKernelCache>* cache = nullptr;  // this layer's slot in the run plan (null: none kept)
  const LayerTactic* tactic = nullptr;                // the plan's tactic for this layer, if any
  const SparseLayerWeights* sparse = nullptr;         // its compressed 2:4 weight, for sparse layers
};

struct CudaKernelDef {
  const char* kind;
  // Whether the GPU kernel runs `layer` for inputs like these (dtypes; dims may hold kDynamic; values where known
  // at build time). Return "" when supported, else a short reason ("int8 inputs", "3-D pooling with dilations").
  std::string (*supports)(const Layer& layer, const std::vector<TensorDesc>& inputs);
  void (*run)(CudaKernelArgs& args);  // throws inferrt::Error (fail(...)) on bad arguments or CUDA errors
  uint32_t hostInputMask = 0;         // bit i: input i is read on the host
  // bit i: a float input i is read in the storage its producer wrote (fp32 or fp16), never converted first: the
  // kernel takes either (QuantizeLinear reads fp16 activations directly in fp16 builds).
  uint32_t storedFloatInputMask = 0;
};

void registerCudaKernel(const CudaKernelDef& def);
// null: no GPU kernel for the kind. Registers the families below on first use.
const CudaKernelDef* findCudaKernel(const std::string& kind);
std::vector<std::string> cudaKernelKinds();

// Family registration, one per file group under native/backend/cuda/kernels/.
void registerCudaElementwiseKernels();  // ElementWise, Unary, Activation, Where, Cast
void registerCudaPointwiseKernels();    // Pointwise (fused elementwise chains)
void registerCudaReductionKernels();    // Reduce, ArgMinMax, Softmax, CumSum, Normalization
void registerCudaMovementKernels();     // Transpose, Slice, Concat, Split, Expand, Tile, Pad, Gather, GatherElements, Trilu, ConstantOfShape, Range
void registerCudaMatMulKernels();       // MatMul (cuBLASLt)
void registerCudaConvolutionKernels();  // Convolution (cuDNN), Pooling
void registerCudaAttentionKernels();    // Attention (fused, flash-attention style)
void registerCudaQuantizedKernels();    // QuantizedMatMul, QuantizedConvolution (int8 cuBLASLt GEMMs), QuantizeLinear
void registerCudaPluginKernels();       // Plugin (dispatches to the CUDA plugin table, cuda_plugin.h)

}  // namespace inferrt
