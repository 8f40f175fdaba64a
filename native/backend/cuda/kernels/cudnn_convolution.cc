// cuDNN behind ConvProblem: tensor / filter / convolution descriptors, algorithm choice with
// cudnnFindConvolutionForwardAlgorithm (times each algorithm once per shape), a plan cache and the enqueue, plain or
// fused with bias, residual and activation (cudnnConvolutionBiasActivationForward, same algorithm). Failures
// become CUDA_ERROR (OUT_OF_MEMORY for allocation failures) naming the call and cuDNN's reason; never aborts.
#include "backend/cuda/kernels/cudnn_convolution.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "backend/cuda/kernels/cudnn_status.h"
#include "ir/error.h"

namespace inferrt::cudnnconv {

#ifdef INFERRT_WITH_CUDNN

namespace {

std::string describe(const ConvProblem& p) {
  std::string s = std::string(p.half ? "fp16" : (p.allowTf32 ? "fp32 (tf32)" : "fp32")) +
                  (p.channelsLast ? " NHWC" : "") + " convolution x [N " + std::to_string(p.batch) + ", C " +
                  std::to_string(p.channels);
  for (int i = 0; i < p.spatialDims; ++i) s += ", " + std::to_string(p.in[i]);
  s += "], w [K " + std::to_string(p.outChannels) + ", C/group " + std::to_string(p.channels / p.group);
  for (int i = 0; i < p.spatialDims; ++i) s += ", " + std::to_string(p.kernel[i]);
  return s + "], group " + std::to_string(p.group);
}

// cuDNN's legacy API takes int dims, and tensors below 2^31 elements.
int toInt(int64_t v, const ConvProblem& p) {
  if (v < 0 || v > INT32_MAX) fail(ErrorCode::UnsupportedOp, "cuDNN cannot take ", describe(p), ": dim ", v);
  return static_cast<int>(v);
}

// A packed tensor of logical dims [N, C, spatial...]: NCHW strides, or with p.channelsLast NHWC ones (C innermost,
// then the spatial dims, N outermost), which is how cuDNN's Nd API tells the layout.
void setTensor(cudnnTensorDescriptor_t desc, cudnnDataType_t type, const std::vector<int>& dims,
               const ConvProblem& p) {
  std::vector<size_t> innerFirst;
  if (p.channelsLast) innerFirst.push_back(1);
  for (size_t i = dims.size(); i-- > 0;)
    if (!p.channelsLast || i != 1) innerFirst.push_back(i);
  std::vector<int> strides(dims.size());
  int64_t step = 1;
  for (size_t i : innerFirst) {
    strides[i] = toInt(step, p);
    step *= dims[i];
  }
  toInt(step, p);  // element count
  INFERRT_CUDNN_CHECK(
      cudnnSetTensorNdDescriptor(desc, type, static_cast<int>(dims.size()), dims.data(), strides.data()));
}

std::vector<int64_t> keyOf(const ConvProblem& p, int device) {
  std::vector<int64_t> key = {device,  p.half,     !p.half && p.allowTf32, p.channelsLast, p.identityEpilogue,
                              p.spatialDims, p.batch, p.channels, p.outChannels, p.group};
  for (int i = 0; i < p.spatialDims; ++i)
    key.insert(key.end(), {p.in[i], p.kernel[i], p.pad[i], p.stride[i], p.dilation[i]});
  return key;
}

}  // namespace

class ConvPlan {
 public:
  ConvPlan() = default;
  ConvPlan(const ConvPlan&) = delete;
  ConvPlan& operator=(const ConvPlan&) = delete;
  ~ConvPlan() {  // destroy failures are ignored: nothing useful can be done in a destructor
    if (x) cudnnDestroyTensorDescriptor(x);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
    if (bias) cudnnDestroyTensorDescriptor(bias);
    if (relu) cudnnDestroyActivationDescriptor(relu);
    if (identity) cudnnDestroyActivationDescriptor(identity);
  }

  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;  // read-only once planned, so plans are shared between threads
  cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  size_t workspace = 0;
  // For cudnnConvolutionBiasActivationForward: bias [1, C, 1, 1(, 1)] of the data type, relu and identity.
  cudnnTensorDescriptor_t bias = nullptr;
  cudnnActivationDescriptor_t relu = nullptr, identity = nullptr;
  mutable std::atomic<bool> fusedRefused{false};  // cuDNN declined the fused call for this plan once
  ConvProblem problem;                             // what it was planned for (planMatches)
  int device = -1;
};

std::shared_ptr<const ConvPlan> planConvolution(const ConvProblem& p, void* cudnnHandle, int device) {
  if (!cudnnHandle) fail(ErrorCode::Internal, "Convolution: no cuDNN handle");
  if (p.spatialDims != 2 && p.spatialDims != 3) fail(ErrorCode::Internal, "Convolution: bad spatial rank");
  static std::mutex cacheMutex;
  static std::map<std::vector<int64_t>, std::shared_ptr<const ConvPlan>> cache;
  const std::vector<int64_t> key = keyOf(p, device);
  std::lock_guard<std::mutex> lock(cacheMutex);
  auto found = cache.find(key);
  if (found != cache.end()) return found->second;

  if (p.channelsLast && p.spatialDims != 2) fail(ErrorCode::Internal, "Convolution: NHWC needs 2 spatial dims");
  auto handle = static_cast<cudnnHandle_t>(cudnnHandle);
  auto plan = std::make_shared<ConvPlan>();
  plan->problem = p;
  plan->device = device;
  const cudnnDataType_t type = p.half ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
  const int nd = p.spatialDims;
  std::vector<int> xDims = {toInt(p.batch, p), toInt(p.channels, p)};
  std::vector<int> wDims = {toInt(p.outChannels, p), toInt(p.channels / p.group, p)};
  std::vector<int> yDims = {toInt(p.batch, p), toInt(p.outChannels, p)};
  std::vector<int> pad, stride, dilation;
  for (int i = 0; i < nd; ++i) {
    xDims.push_back(toInt(p.in[i], p));
    wDims.push_back(toInt(p.kernel[i], p));
    yDims.push_back(toInt(p.out[i], p));
    pad.push_back(toInt(p.pad[i], p));
    stride.push_back(toInt(p.stride[i], p));
    dilation.push_back(toInt(p.dilation[i], p));
  }
  INFERRT_CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan->x));
  INFERRT_CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan->y));
  INFERRT_CUDNN_CHECK(cudnnCreateFilterDescriptor(&plan->w));
  INFERRT_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&plan->conv));
  setTensor(plan->x, type, xDims, p);
  setTensor(plan->y, type, yDims, p);
  // The fused call's bias has the data type (half for fp16 data, as PyTorch's cudnn_convolution_relu passes it);
  // scaling factors and the accumulation stay fp32.
  INFERRT_CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan->bias));
  std::vector<int> biasDims(static_cast<size_t>(nd + 2), 1);
  biasDims[1] = yDims[1];
  setTensor(plan->bias, type, biasDims, p);
  // relu lets NaN through, as the CPU kernel; its coef (a clipping ceiling for CLIPPED_RELU) is unused: max.
  INFERRT_CUDNN_CHECK(cudnnCreateActivationDescriptor(&plan->relu));
  INFERRT_CUDNN_CHECK(cudnnSetActivationDescriptor(plan->relu, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN,
                                                   std::numeric_limits<double>::max()));
  INFERRT_CUDNN_CHECK(cudnnCreateActivationDescriptor(&plan->identity));
  INFERRT_CUDNN_CHECK(cudnnSetActivationDescriptor(plan->identity, CUDNN_ACTIVATION_IDENTITY, CUDNN_PROPAGATE_NAN,
                                                   std::numeric_limits<double>::max()));
  int64_t wCount = 1;
  for (int d : wDims) wCount *= d;
  toInt(wCount, p);
  // Filter dims are K, C/group, spatial in either format; NHWC means they lie in memory as K, spatial, C/group.
  const cudnnTensorFormat_t filterFormat = p.channelsLast ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
  INFERRT_CUDNN_CHECK(cudnnSetFilterNdDescriptor(plan->w, type, filterFormat, nd + 2, wDims.data()));
  // fp16 data accumulates in fp32 (the interface contract): CUDNN_DATA_FLOAT compute for both dtypes.
  INFERRT_CUDNN_CHECK(cudnnSetConvolutionNdDescriptor(plan->conv, nd, pad.data(), stride.data(), dilation.data(),
                                                      CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  INFERRT_CUDNN_CHECK(cudnnSetConvolutionGroupCount(plan->conv, toInt(p.group, p)));
  // DEFAULT math lets fp32 use TF32 tensor cores on Ampere+; FMA math is strict fp32. fp16 uses tensor cores.
  const bool strict = !p.half && !p.allowTf32;
  const cudnnMathType_t math = p.half ? CUDNN_TENSOR_OP_MATH : (strict ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH);
  INFERRT_CUDNN_CHECK(cudnnSetConvolutionMathType(plan->conv, math));

  std::vector<int> outDims(static_cast<size_t>(nd + 2));
  INFERRT_CUDNN_CHECK(cudnnGetConvolutionNdForwardOutputDim(plan->conv, plan->x, plan->w, nd + 2, outDims.data()));
  if (outDims != yDims)
    fail(ErrorCode::Internal, "cuDNN's output shape differs from the shape rule's for ", describe(p));

  int maxAlgos = 0;
  INFERRT_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(handle, &maxAlgos));
  std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(static_cast<size_t>(maxAlgos > 0 ? maxAlgos : 1));
  int returned = 0;
  // Tactic selection: cuDNN times every algorithm on this problem (once per shape; the plan cache keeps the
  // winner). The heuristic (_v7) alone picked algorithms several times slower for fp16 NCHW convolutions.
  INFERRT_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithm(handle, plan->x, plan->w, plan->conv, plan->y,
                                                           static_cast<int>(perf.size()), &returned, perf.data()));
  // Results come fastest first, each with the math type it was timed with: set that one before running, and
  // never let a strict-fp32 problem take a tensor-op variant. An identity epilogue ranks the algorithms by time
  // plus, for all but IMPLICIT_PRECOMP_GEMM, the unfused path's two extra passes over y (at 2 TB/s).
  if (p.identityEpilogue) {
    double outBytes = static_cast<double>(p.batch * p.outChannels) * (p.half ? 2 : 4);
    for (int i = 0; i < p.spatialDims; ++i) outBytes *= static_cast<double>(p.out[i]);
    const float extraMs = static_cast<float>(2 * outBytes / 2e12 * 1e3);
    auto cost = [&](const cudnnConvolutionFwdAlgoPerf_t& r) {
      return r.time + (r.algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM ? 0.0f : extraMs);
    };
    std::stable_sort(perf.begin(), perf.begin() + returned,
                     [&](const auto& a, const auto& b) { return cost(a) < cost(b); });
  }
  bool chosen = false;
  for (int i = 0; i < returned && !chosen; ++i) {
    const cudnnConvolutionFwdAlgoPerf_t& r = perf[static_cast<size_t>(i)];
    if (r.status != CUDNN_STATUS_SUCCESS || r.memory > kConvMaxWorkspace) continue;
    if (strict && r.mathType != CUDNN_FMA_MATH) continue;
    INFERRT_CUDNN_CHECK(cudnnSetConvolutionMathType(plan->conv, r.mathType));
    size_t bytes = 0;
    if (cudnnGetConvolutionForwardWorkspaceSize(handle, plan->x, plan->w, plan->conv, plan->y, r.algo, &bytes) !=
            CUDNN_STATUS_SUCCESS ||
        bytes > kConvMaxWorkspace)
      continue;
    plan->algo = r.algo;
    plan->workspace = bytes;
    chosen = true;
  }
  if (!chosen)
    fail(ErrorCode::CudaError, "cuDNN has no forward algorithm for ", describe(p), " within ",
         kConvMaxWorkspace >> 20, " MiB of workspace");

  if (cache.size() >= 4096) cache.clear();  // dynamic shapes must not grow it forever; users keep their plans
  cache.emplace(key, plan);
  return plan;
}

bool planMatches(const ConvPlan& plan, const ConvProblem& problem, int device) {
  const ConvProblem& a = plan.problem;
  const ConvProblem& b = problem;
  // The fields keyOf reads (allowTf32 only matters for fp32), compared without building a key.
  if (plan.device != device || a.half != b.half || (!a.half && a.allowTf32 != b.allowTf32) ||
      a.channelsLast != b.channelsLast || a.identityEpilogue != b.identityEpilogue || a.spatialDims != b.spatialDims ||
      a.batch != b.batch ||
      a.channels != b.channels || a.outChannels != b.outChannels || a.group != b.group)
    return false;
  for (int i = 0; i < a.spatialDims; ++i)
    if (a.in[i] != b.in[i] || a.kernel[i] != b.kernel[i] || a.pad[i] != b.pad[i] || a.stride[i] != b.stride[i] ||
        a.dilation[i] != b.dilation[i])
      return false;
  return true;
}

size_t convolutionWorkspaceSize(const ConvPlan& plan) { return plan.workspace; }

void runConvolution(const ConvPlan& plan, void* cudnnHandle, const void* x, const void* w, void* y, bool accumulate,
                    void* workspace) {
  // Scaling factors are float for fp16 and fp32 data alike; beta = 1 adds onto the bias already in y.
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  INFERRT_CUDNN_CHECK(cudnnConvolutionForward(static_cast<cudnnHandle_t>(cudnnHandle), &alpha, plan.x, x, plan.w, w,
                                              plan.conv, plan.algo, workspace, plan.workspace, &beta, plan.y, y));
}

bool runConvolutionBiasActivation(const ConvPlan& plan, void* cudnnHandle, const void* x, const void* w,
                                  const void* z, const void* bias, bool relu, void* y, void* workspace) {
  if (plan.fusedRefused.load(std::memory_order_relaxed)) return false;
  if (!relu && plan.algo != CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM) return false;  // cuDNN's rule
  // Without a residual z = y with alpha2 = 0: the API takes no null z, and y's old contents are not read (what
  // PyTorch's cudnn_convolution_relu does with an uninitialized output). Scaling factors are float for fp16 too.
  const float alpha1 = 1.0f, alpha2 = z ? 1.0f : 0.0f;
  const cudnnStatus_t status = cudnnConvolutionBiasActivationForward(
      static_cast<cudnnHandle_t>(cudnnHandle), &alpha1, plan.x, x, plan.w, w, plan.conv, plan.algo, workspace,
      plan.workspace, &alpha2, plan.y, z ? z : y, plan.bias, bias, relu ? plan.relu : plan.identity, plan.y, y);
  if (status == CUDNN_STATUS_SUCCESS) return true;
  // "Not supported" (this algorithm, data type or NaN mode has no fused kernel) or "bad parameter" (a combination
  // the legacy API rejects): the caller's unfused path computes the same thing. Anything else is an error.
#if CUDNN_MAJOR >= 9
  const int category = CUDNN_STATUS_CATEGORY(status);
  const bool refused = category == CUDNN_STATUS_NOT_SUPPORTED || category == CUDNN_STATUS_BAD_PARAM;
#else
  const bool refused = status == CUDNN_STATUS_NOT_SUPPORTED || status == CUDNN_STATUS_BAD_PARAM;
#endif
  if (!refused) checkCudnn(status, "cudnnConvolutionBiasActivationForward");
  plan.fusedRefused.store(true, std::memory_order_relaxed);
  return false;
}

#else  // built without cuDNN: convolution.cc's supports() declines, so these are never reached

class ConvPlan {};

std::shared_ptr<const ConvPlan> planConvolution(const ConvProblem&, void*, int) {
  fail(ErrorCode::UnsupportedOp, "Convolution on the GPU needs cuDNN (built without cuDNN)");
}

bool planMatches(const ConvPlan&, const ConvProblem&, int) { return false; }

size_t convolutionWorkspaceSize(const ConvPlan&) { return 0; }

void runConvolution(const ConvPlan&, void*, const void*, const void*, void*, bool, void*) {
  fail(ErrorCode::UnsupportedOp, "Convolution on the GPU needs cuDNN (built without cuDNN)");
}

bool runConvolutionBiasActivation(const ConvPlan&, void*, const void*, const void*, const void*, const void*, bool,
                                  void*, void*) {
  fail(ErrorCode::UnsupportedOp, "Convolution on the GPU needs cuDNN (built without cuDNN)");
}

#endif

}  // namespace inferrt::cudnnconv
