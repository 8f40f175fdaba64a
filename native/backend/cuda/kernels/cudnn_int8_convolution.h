// The channels-last QuantizedConvolution on cuDNN's graph API: one fused kernel computing
// y = act(float(conv(x, w)) * scale[k] + bias[k] + residual) with x int8 NHWC, w int8 KRSC, scale and bias fp32 [K],
// residual fp32 or fp16 NHWC (or int8, see residualScale) and y fp32 or fp16 NHWC, or int8 y / outputScale (rounded
// half to even, saturated), or both. The legacy API takes only a scalar scale (per-tensor weights) and its
// int8 -> float kernels are several times slower than fp16; the graph runs int8 tensor-core kernels with the whole
// epilogue fused (bench/probes/cudnn-int8-conv.cu and cudnn-int8-fused.cu measured both on an H100). No cuDNN
// types here; without INFERRT_WITH_CUDNN the functions exist and fail with UNSUPPORTED_OP.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <vector>

#include "plan/cudnn_choices.h"

namespace inferrt::cudnnint8 {

// The activation fused after the epilogue's adds. GELU (erf form or tanh approximation) serves QuantizedMatMul run as
// a 1x1 convolution (quantized_matmul_cudnn.h).
enum class Int8Activation : int64_t { None, Relu, Gelu, GeluTanh };

// A 2-D convolution, group 1, symmetric pads; dims in logical N, C, H, W order.
struct Int8ConvProblem {
  int64_t batch = 0, channels = 0, outChannels = 0;
  int64_t in[2] = {1, 1}, kernel[2] = {1, 1}, out[2] = {1, 1};
  int64_t pad[2] = {0, 0}, stride[2] = {1, 1}, dilation[2] = {1, 1};
  bool bias = false, residual = false, residualHalf = false, halfOutput = false;
  Int8Activation activation = Int8Activation::None;
  float residualScale = 0;  // > 0: an int8 residual, y = act((conv * scale + bias + residual) * residualScale)
  float outputScale = 0;  // > 0: an int8 output, divided by it
  bool keepFloat = false;  // with outputScale: y (fp32 / fp16) as well, the int8 values a second output
};

class Int8ConvPlan;

// The execution plan for `p` on this device and handle: cuDNN's heuristic engine configurations, the fastest of the
// first few that build and run (timed on scratch buffers), cached per problem, device and handle; another handle
// (another context) replays that choice without the search. CUDA_ERROR naming the problem when no configuration
// builds and runs.
std::shared_ptr<const Int8ConvPlan> planInt8Convolution(const Int8ConvProblem& p, void* cudnnHandle, int device);
// The same, null where no configuration builds and runs (remembered: later calls for the problem return at once).
std::shared_ptr<const Int8ConvPlan> findInt8ConvolutionPlan(const Int8ConvProblem& p, void* cudnnHandle, int device);
// The search alone, for a handle about to go (the build's tactic timing): nothing kept for the handle, but the
// choice is remembered for the handles that come later. Null where no configuration builds and runs.
std::shared_ptr<const Int8ConvPlan> searchInt8ConvolutionPlan(const Int8ConvProblem& p, void* cudnnHandle,
                                                              int device);
// Drops the plans kept for a handle about to be destroyed (LibraryHandles' destructor): a later handle may get
// its address.
void forgetHandle(void* cudnnHandle);

// Whether `plan` was made for exactly this problem and device (a lock-free check of a plan kept from an earlier run).
bool planMatches(const Int8ConvPlan& plan, const Int8ConvProblem& p, int device);

// Build time: notes the problems whose plans this thread looks up while it lives (a build's opt-shape run launches
// its kernels on the building thread; other threads' engines stay out), so that what the cache chose for them can
// go into the plan.
class ChoiceRecording {
 public:
  ChoiceRecording();
  ~ChoiceRecording();
  ChoiceRecording(const ChoiceRecording&) = delete;
  ChoiceRecording& operator=(const ChoiceRecording&) = delete;
  // The cache's choices for the noted problems on `device` where a configuration ran, problems ascending.
  std::vector<CudnnChoice> choices(int device) const;
  std::set<std::vector<int64_t>> keys;

 private:
  ChoiceRecording* outer_;  // the recording this one hides while it lives
};

// Load time: makes `choices` (a plan's, made with this cuDNN on this GPU model) the cache's choices on `device`, so
// the first run replays them instead of searching; problems the cache already has a choice for keep it.
void adoptChoices(const std::vector<CudnnChoice>& choices, int device);

// cudnnGetVersion(), or 0 when built without cuDNN.
uint64_t cudnnVersion();

// Plans searched (timing the configurations) and plans replayed from a remembered or adopted choice, in this
// process: lets the GPU suite tell a replay from a search that happened to pick the same configuration.
struct PlanCounts {
  uint64_t searches = 0;
  uint64_t replays = 0;
};
PlanCounts planCounts();

size_t workspaceSize(const Int8ConvPlan& plan);

// Enqueues the convolution on the stream the handle is bound to. bias / residual are read when the problem has them;
// yInt8 is written when it has keepFloat (else y is the int8 output with outputScale).
void runInt8Convolution(const Int8ConvPlan& plan, void* cudnnHandle, const void* x, const void* w, const float* scale,
                        const float* bias, const void* residual, void* y, void* yInt8, void* workspace);

}  // namespace inferrt::cudnnint8
