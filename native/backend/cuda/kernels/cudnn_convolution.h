// The one place that talks to cuDNN: a forward convolution described in plain numbers, a cached plan
// (descriptors + algorithm), then enqueue. Uses cuDNN's legacy descriptor API (deprecated since cuDNN 9 in
// favour of the graph API, still shipped and supported in 9.x). No cuDNN types here, so convolution.cc compiles
// without its headers; without INFERRT_WITH_CUDNN the functions exist and fail with UNSUPPORTED_OP.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace inferrt::cudnnconv {

// NCHW / NCDHW forward cross-correlation with symmetric pads. 1-D problems come as 2-D with a leading unit dim.
// channelsLast (2-D only): x, y and the residual are NHWC and the filter [K, R, S, C/group] (cuDNN's KRSC, format
// CUDNN_TENSOR_NHWC); the dims below stay in logical N, C, spatial order either way.
struct ConvProblem {
  bool half = false;       // fp16 data (fp32 accumulation), else fp32
  bool allowTf32 = true;   // fp32 only: off = FMA math (strict fp32)
  bool channelsLast = false;
  // A bias / residual without relu: cuDNN fuses it only with IMPLICIT_PRECOMP_GEMM, other algorithms pay for two more
  // passes over the output, which the algorithm choice counts.
  bool identityEpilogue = false;
  int spatialDims = 2;     // 2 or 3
  int64_t batch = 0, channels = 0, outChannels = 0, group = 1;
  int64_t in[3] = {1, 1, 1}, kernel[3] = {1, 1, 1}, out[3] = {1, 1, 1};
  int64_t pad[3] = {0, 0, 0}, stride[3] = {1, 1, 1}, dilation[3] = {1, 1, 1};
};

class ConvPlan;

constexpr bool kBuiltWithCudnn =
#ifdef INFERRT_WITH_CUDNN
    true;
#else
    false;
#endif

constexpr size_t kConvMaxWorkspace = size_t(256) << 20;  // algorithms needing more are skipped

// Descriptors and the fastest algorithm (timed by cudnnFindConvolutionForwardAlgorithm) that fits kConvMaxWorkspace, cached per problem and
// device (the cache lookup takes a global lock: callers keep the plan per run-plan step, see planMatches). CUDA_ERROR
// naming the call when cuDNN rejects the problem or has no algorithm for it.
std::shared_ptr<const ConvPlan> planConvolution(const ConvProblem& problem, void* cudnnHandle, int device);

// Whether `plan` was made for exactly this problem and device: a lock-free check of a plan kept from an earlier run.
bool planMatches(const ConvPlan& plan, const ConvProblem& problem, int device);

size_t convolutionWorkspaceSize(const ConvPlan& plan);

// y = conv(x, w) (+ y when accumulate: the caller put the bias there), on the stream the handle is bound to.
void runConvolution(const ConvPlan& plan, void* cudnnHandle, const void* x, const void* w, void* y, bool accumulate,
                    void* workspace);

// y = act(conv(x, w) + z + bias) in one cudnnConvolutionBiasActivationForward call with the plan's algorithm and
// workspace: act relu, or identity (cuDNN takes identity only with IMPLICIT_PRECOMP_GEMM). bias: [outChannels] of
// the data type, never null (pass zeros); z: the residual (y's shape and type) or null. Returns false, having
// enqueued nothing, when this plan cannot take the fused call (identity with another algorithm, or cuDNN refused
// it once: remembered per plan); the caller then runs runConvolution and its own epilogue. Other failures throw.
bool runConvolutionBiasActivation(const ConvPlan& plan, void* cudnnHandle, const void* x, const void* w,
                                  const void* z, const void* bias, bool relu, void* y, void* workspace);

}  // namespace inferrt::cudnnconv
