// Int8ConvProblem as a cuDNN operation graph: ConvolutionForward (int8 in, int32 compute, a virtual fp32 result),
// then pointwise MUL by scale, ADD bias, ADD residual, MUL by the residual scale, the activation, DIV by the output
// scale (those the problem has), the last writing y (or the int8 output beside y). Engine configurations come from
// heuristic mode A; the plan cache keeps the fastest of the first kTimedConfigs that build, timed on scratch buffers,
// and later handles replay that choice. Failures become CUDA_ERROR (OUT_OF_MEMORY for allocation failures) naming the
// call and cuDNN's reason.
#include "backend/cuda/kernels/cudnn_int8_convolution.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_memory.h"
#include "backend/cuda/kernels/cudnn_status.h"
#include "ir/error.h"

namespace inferrt::cudnnint8 {

#ifdef INFERRT_WITH_CUDNN

namespace {

constexpr int kTimedConfigs = 6;                         // of the heuristic's list, fastest first
constexpr int kTimedRuns = 5;                            // per configuration, after one untimed: the median counts
// The first word of every key: plans store keys (and cuDNN's JSON of the graph), so bump it whenever keyOf's words
// or the graph buildGraph makes for them change.
constexpr int64_t kProblemKeyLayout = 1;
constexpr int64_t kMaxWorkspace = int64_t(256) << 20;    // configurations needing more are skipped
enum Uid : int64_t { kX = 1, kW, kScale, kBias, kResidual, kResidualScale, kOutputScale, kY, kYInt8, kFirstVirtual };

std::string describe(const Int8ConvProblem& p) {
  return "int8 NHWC convolution x [N " + std::to_string(p.batch) + ", C " + std::to_string(p.channels) + ", " +
         std::to_string(p.in[0]) + ", " + std::to_string(p.in[1]) + "], w [K " + std::to_string(p.outChannels) +
         ", " + std::to_string(p.kernel[0]) + ", " + std::to_string(p.kernel[1]) + "]";
}

// Backend descriptors of one graph, destroyed together (the plan keeps them alive while it lives).
class Descriptors {
 public:
  Descriptors() = default;
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;
  ~Descriptors() {
    for (cudnnBackendDescriptor_t d : all_) cudnnBackendDestroyDescriptor(d);  // failures ignored in a destructor
  }
  cudnnBackendDescriptor_t make(cudnnBackendDescriptorType_t type) {
    cudnnBackendDescriptor_t d = nullptr;
    INFERRT_CUDNN_CHECK(cudnnBackendCreateDescriptor(type, &d));
    all_.push_back(d);
    return d;
  }

 private:
  std::vector<cudnnBackendDescriptor_t> all_;
};

void set(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, int64_t count,
         const void* values) {
  INFERRT_CUDNN_CHECK(cudnnBackendSetAttribute(d, name, type, count, values));
}

// [n, c, h, w] logical dims, NHWC strides (a KRSC filter is the same with n = K); byValue: a host scalar.
cudnnBackendDescriptor_t tensor(Descriptors& all, int64_t uid, cudnnDataType_t type, int64_t n, int64_t c, int64_t h,
                                int64_t w, bool isVirtual, bool byValue = false) {
  cudnnBackendDescriptor_t d = all.make(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  const int64_t dims[4] = {n, c, h, w}, strides[4] = {h * w * c, 1, w * c, c}, alignment = 16;
  set(d, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &type);
  set(d, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims);
  set(d, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides);
  set(d, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
  set(d, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &alignment);
  set(d, CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &isVirtual);
  if (byValue) set(d, CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, 1, &byValue);
  INFERRT_CUDNN_CHECK(cudnnBackendFinalize(d));
  return d;
}

cudnnBackendDescriptor_t pointwise(Descriptors& all, cudnnPointwiseMode_t mode, cudnnBackendDescriptor_t x,
                                   cudnnBackendDescriptor_t b, cudnnBackendDescriptor_t y) {
  cudnnBackendDescriptor_t pw = all.make(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
  const cudnnDataType_t precision = CUDNN_DATA_FLOAT;
  set(pw, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode);
  set(pw, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &precision);
  INFERRT_CUDNN_CHECK(cudnnBackendFinalize(pw));
  cudnnBackendDescriptor_t op = all.make(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
  set(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &pw);
  set(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x);
  if (b) set(op, CUDNN_ATTR_OPERATION_POINTWISE_BDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &b);
  set(op, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y);
  INFERRT_CUDNN_CHECK(cudnnBackendFinalize(op));
  return op;
}

// The cache's key: the device, then the problem's words (what plans store, CudnnChoice::problem).
std::vector<int64_t> keyOf(const Int8ConvProblem& p, int device) {
  uint32_t scaleBits = 0, residualScaleBits = 0;
  std::memcpy(&scaleBits, &p.outputScale, sizeof(scaleBits));
  std::memcpy(&residualScaleBits, &p.residualScale, sizeof(residualScaleBits));
  std::vector<int64_t> key = {device,       kProblemKeyLayout, p.batch,     p.channels, p.outChannels,
                              p.bias,       p.residual,        p.residualHalf, static_cast<int64_t>(p.activation),
                              p.halfOutput, scaleBits,         p.keepFloat, residualScaleBits};
  for (int i = 0; i < 2; ++i)
    key.insert(key.end(), {p.in[i], p.kernel[i], p.out[i], p.pad[i], p.stride[i], p.dilation[i]});
  return key;
}

}  // namespace

class Int8ConvPlan {
 public:
  std::shared_ptr<Descriptors> graph;  // the graph and engine configurations it was made from (null: from JSON)
  Descriptors descriptors;             // the execution plan's own
  cudnnBackendDescriptor_t plan = nullptr;
  int64_t workspace = 0;
  Int8ConvProblem problem;
  int device = -1;
};

namespace {

// The operation graph of `p`, finalized.
cudnnBackendDescriptor_t buildGraph(Descriptors& all, const Int8ConvProblem& p, cudnnHandle_t handle) {
  const int64_t n = p.batch, k = p.outChannels, oh = p.out[0], ow = p.out[1];
  const cudnnBackendDescriptor_t x = tensor(all, kX, CUDNN_DATA_INT8, n, p.channels, p.in[0], p.in[1], false);
  const cudnnBackendDescriptor_t w =
      tensor(all, kW, CUDNN_DATA_INT8, k, p.channels, p.kernel[0], p.kernel[1], false);
  cudnnBackendDescriptor_t conv = all.make(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
  const cudnnDataType_t compute = CUDNN_DATA_INT32;
  const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  const int64_t spatialDims = 2;
  set(conv, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &compute);
  set(conv, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode);
  set(conv, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &spatialDims);
  set(conv, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, p.dilation);
  set(conv, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, p.stride);
  set(conv, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, p.pad);
  set(conv, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, p.pad);
  INFERRT_CUDNN_CHECK(cudnnBackendFinalize(conv));

  // The chain after the convolution, each step's output virtual except the last one's (y).
  std::vector<cudnnPointwiseMode_t> steps = {CUDNN_POINTWISE_MUL};
  std::vector<cudnnBackendDescriptor_t> operands = {tensor(all, kScale, CUDNN_DATA_FLOAT, 1, k, 1, 1, false)};
  if (p.bias) {
    steps.push_back(CUDNN_POINTWISE_ADD);
    operands.push_back(tensor(all, kBias, CUDNN_DATA_FLOAT, 1, k, 1, 1, false));
  }
  if (p.residual) {
    const cudnnDataType_t type = p.residualScale > 0 ? CUDNN_DATA_INT8 : p.residualHalf ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
    steps.push_back(CUDNN_POINTWISE_ADD);
    operands.push_back(tensor(all, kResidual, type, n, k, oh, ow, false));
  }
  if (p.residual && p.residualScale > 0) {  // by value, as the output scale
    steps.push_back(CUDNN_POINTWISE_MUL);
    operands.push_back(tensor(all, kResidualScale, CUDNN_DATA_FLOAT, 1, 1, 1, 1, false, true));
  }
  if (p.activation != Int8Activation::None) {
    steps.push_back(p.activation == Int8Activation::Relu   ? CUDNN_POINTWISE_RELU_FWD
                    : p.activation == Int8Activation::Gelu ? CUDNN_POINTWISE_GELU_FWD
                                                           : CUDNN_POINTWISE_GELU_APPROX_TANH_FWD);
    operands.push_back(nullptr);
  }
  if (p.outputScale > 0) {  // a scalar passed by value at execution (execute's outputScale)
    steps.push_back(CUDNN_POINTWISE_DIV);
    operands.push_back(tensor(all, kOutputScale, CUDNN_DATA_FLOAT, 1, 1, 1, 1, false, true));
  }
  int64_t nextUid = kFirstVirtual;
  cudnnBackendDescriptor_t value = tensor(all, nextUid++, CUDNN_DATA_FLOAT, n, k, oh, ow, true);
  std::vector<cudnnBackendDescriptor_t> ops;
  cudnnBackendDescriptor_t convOp = all.make(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR);
  const float alpha = 1.0f, beta = 0.0f;
  set(convOp, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x);
  set(convOp, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &w);
  set(convOp, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &value);
  set(convOp, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &conv);
  set(convOp, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha);
  set(convOp, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 1, &beta);
  INFERRT_CUDNN_CHECK(cudnnBackendFinalize(convOp));
  ops.push_back(convOp);
  // y is the last step's output, or with keepFloat the division's input (the int8 values then a second output, from
  // y as stored: fp16-rounded for an fp16 y, what a QuantizeLinear reading y would see).
  const cudnnDataType_t floatType = p.halfOutput ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
  for (size_t i = 0; i < steps.size(); ++i) {
    const bool last = i + 1 == steps.size(), floatY = p.keepFloat && i + 2 == steps.size();
    cudnnBackendDescriptor_t out;
    if (last && p.keepFloat) out = tensor(all, kYInt8, CUDNN_DATA_INT8, n, k, oh, ow, false);
    else if (last) out = tensor(all, kY, p.outputScale > 0 ? CUDNN_DATA_INT8 : floatType, n, k, oh, ow, false);
    else if (floatY) out = tensor(all, kY, floatType, n, k, oh, ow, false);
    else out = tensor(all, nextUid++, CUDNN_DATA_FLOAT, n, k, oh, ow, true);
    ops.push_back(pointwise(all, steps[i], value, operands[i], out));
    value = out;
  }
  cudnnBackendDescriptor_t graph = all.make(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  set(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, static_cast<int64_t>(ops.size()),
      ops.data());
  set(graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle);
  INFERRT_CUDNN_CHECK(cudnnBackendFinalize(graph));
  return graph;
}

// Device buffers of the problem's size for timing the candidate plans: random int8 operands (all-zero ones drew
// less power and ranked near-equal configurations differently from one run to the next), scales and biases of
// the size real ones have, zeros elsewhere.
struct TimingBuffers {
  TimingBuffers(const Int8ConvProblem& p, int device, cudaStream_t stream) {
    const size_t outputs = static_cast<size_t>(p.batch * p.outChannels * p.out[0] * p.out[1]);
    for (size_t bytes : {static_cast<size_t>(p.batch * p.channels * p.in[0] * p.in[1]),
                         static_cast<size_t>(p.outChannels * p.channels * p.kernel[0] * p.kernel[1]),
                         static_cast<size_t>(p.outChannels) * 4, static_cast<size_t>(p.outChannels) * 4,
                         p.residual ? outputs * (p.residualHalf ? 2 : 4) : 16, outputs * 4, outputs,
                         static_cast<size_t>(kMaxWorkspace)})
      memory.push_back(std::make_unique<DeviceMemory>(bytes, device));
    // All on the handle's stream (non-blocking: unordered with the legacy stream's copies), waited for before the
    // host blocks go. One block of random bytes is tiled over x and w.
    uint32_t state = 12345;
    auto next = [&state] { return state = state * 1664525u + 1013904223u; };
    std::vector<uint8_t> block(size_t(1) << 20);
    for (uint8_t& b : block) b = static_cast<uint8_t>(next() >> 24);
    for (size_t i : {0, 1}) {
      auto* base = static_cast<uint8_t*>(memory[i]->data());
      for (size_t at = 0; at < memory[i]->size(); at += block.size())
        INFERRT_CUDA_CHECK(cudaMemcpyAsync(base + at, block.data(), std::min(block.size(), memory[i]->size() - at),
                                           cudaMemcpyHostToDevice, stream));
    }
    std::vector<float> scales(static_cast<size_t>(p.outChannels));
    for (float& v : scales) v = 1e-3f * static_cast<float>(1 + (next() >> 28));
    for (size_t i : {2, 3})
      INFERRT_CUDA_CHECK(
          cudaMemcpyAsync(memory[i]->data(), scales.data(), scales.size() * 4, cudaMemcpyHostToDevice, stream));
    for (size_t i = 4; i < memory.size(); ++i)
      INFERRT_CUDA_CHECK(cudaMemsetAsync(memory[i]->data(), 0, memory[i]->size(), stream));
    INFERRT_CUDA_CHECK(cudaStreamSynchronize(stream));
  }
  std::vector<std::unique_ptr<DeviceMemory>> memory;  // x, w, scale, bias, residual, y, yInt8, workspace
};

void execute(const Int8ConvPlan& plan, cudnnHandle_t handle, const Int8ConvProblem& p, const void* x, const void* w,
             const float* scale, const float* bias, const void* residual, void* y, void* yInt8, void* workspace) {
  std::vector<int64_t> uids = {kX, kW, kScale};
  std::vector<void*> pointers = {const_cast<void*>(x), const_cast<void*>(w), const_cast<float*>(scale)};
  if (p.bias) uids.push_back(kBias), pointers.push_back(const_cast<float*>(bias));
  if (p.residual) uids.push_back(kResidual), pointers.push_back(const_cast<void*>(residual));
  float residualScale = p.residualScale, outputScale = p.outputScale;  // by value: cuDNN reads them while enqueueing
  if (p.residual && p.residualScale > 0) uids.push_back(kResidualScale), pointers.push_back(&residualScale);
  if (p.outputScale > 0) uids.push_back(kOutputScale), pointers.push_back(&outputScale);
  uids.push_back(kY);
  pointers.push_back(y);
  if (p.keepFloat) uids.push_back(kYInt8), pointers.push_back(yInt8);
  Descriptors all;
  cudnnBackendDescriptor_t pack = all.make(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
  set(pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, static_cast<int64_t>(uids.size()), uids.data());
  set(pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, static_cast<int64_t>(pointers.size()),
      pointers.data());
  set(pack, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace);
  INFERRT_CUDNN_CHECK(cudnnBackendFinalize(pack));
  INFERRT_CUDNN_CHECK(cudnnBackendExecute(handle, plan.plan, pack));
}

// The median milliseconds of kTimedRuns runs of `plan` on the handle's stream (after one untimed run).
float timeRuns(const Int8ConvPlan& plan, cudnnHandle_t handle, const Int8ConvProblem& p, TimingBuffers& b) {
  auto run = [&] {
    auto& m = b.memory;
    execute(plan, handle, p, m[0]->data(), m[1]->data(), static_cast<float*>(m[2]->data()),
            static_cast<float*>(m[3]->data()), m[4]->data(), m[5]->data(), m[6]->data(), m[7]->data());
  };
  cudaStream_t stream = nullptr;
  INFERRT_CUDNN_CHECK(cudnnGetStream(handle, &stream));
  run();
  cudaEvent_t start, stop;
  INFERRT_CUDA_CHECK(cudaEventCreate(&start));
  INFERRT_CUDA_CHECK(cudaEventCreate(&stop));
  std::vector<float> times;
  cudaError_t status = cudaSuccess;
  for (int r = 0; r < kTimedRuns && status == cudaSuccess; ++r) {
    float ms = 0;
    status = cudaEventRecord(start, stream);
    if (status == cudaSuccess) {
      run();
      status = cudaEventRecord(stop, stream);
    }
    if (status == cudaSuccess) status = cudaEventSynchronize(stop);
    if (status == cudaSuccess) status = cudaEventElapsedTime(&ms, start, stop);
    times.push_back(ms);
  }
  ignoreCudaError(cudaEventDestroy(start));
  ignoreCudaError(cudaEventDestroy(stop));
  INFERRT_CUDA_CHECK(status);
  std::nth_element(times.begin(), times.begin() + kTimedRuns / 2, times.end());
  return times[kTimedRuns / 2];
}

}  // namespace

namespace {

// The heuristic's engine configurations for the graph of `p` (descriptors owned by `graph`), best first.
std::vector<cudnnBackendDescriptor_t> engineConfigs(Descriptors& graph, const Int8ConvProblem& p,
                                                    cudnnHandle_t handle) {
  const cudnnBackendDescriptor_t operations = buildGraph(graph, p, handle);
  cudnnBackendDescriptor_t heuristics = graph.make(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
  const cudnnBackendHeurMode_t mode = CUDNN_HEUR_MODE_A;
  set(heuristics, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &operations);
  set(heuristics, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
  INFERRT_CUDNN_CHECK(cudnnBackendFinalize(heuristics));
  int64_t count = 0;
  INFERRT_CUDNN_CHECK(cudnnBackendGetAttribute(heuristics, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                               CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count, nullptr));
  std::vector<cudnnBackendDescriptor_t> configs(static_cast<size_t>(count));
  for (cudnnBackendDescriptor_t& c : configs) c = graph.make(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
  INFERRT_CUDNN_CHECK(cudnnBackendGetAttribute(heuristics, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                               CUDNN_TYPE_BACKEND_DESCRIPTOR, count, &count, configs.data()));
  configs.resize(static_cast<size_t>(count));
  return configs;
}

// `candidate` with its finalized execution plan `plan`, or null when the plan needs more than kMaxWorkspace.
std::shared_ptr<Int8ConvPlan> completed(std::shared_ptr<Int8ConvPlan> candidate, cudnnBackendDescriptor_t plan,
                                        std::shared_ptr<Descriptors> graph, const Int8ConvProblem& p, int device) {
  int64_t got = 0;
  INFERRT_CUDNN_CHECK(cudnnBackendGetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1,
                                               &got, &candidate->workspace));
  if (candidate->workspace > kMaxWorkspace) return nullptr;
  candidate->plan = plan;
  candidate->graph = std::move(graph);
  candidate->problem = p;
  candidate->device = device;
  return candidate;
}

// The plan of engine configuration `config` of `graph`, or null when that engine does not take the graph.
std::shared_ptr<Int8ConvPlan> finalizedPlan(cudnnBackendDescriptor_t config, const std::shared_ptr<Descriptors>& graph,
                                            const Int8ConvProblem& p, cudnnHandle_t handle, int device) {
  auto candidate = std::make_shared<Int8ConvPlan>();
  cudnnBackendDescriptor_t plan = candidate->descriptors.make(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
  set(plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle);
  set(plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &config);
  if (cudnnBackendFinalize(plan) != CUDNN_STATUS_SUCCESS) return nullptr;
  return completed(std::move(candidate), plan, graph, p, device);
}

// What the first search for a problem on a device chose, so that other handles (other contexts) skip the search:
// its place in the heuristic's list, and the plan as cuDNN serializes it (runtime-compiled engines, whose
// finalization compiles kernels: seconds each for BERT-large's GEMMs with GELU; deserializing skips that).
struct Choice {
  bool none = false;       // no configuration built and ran: the problem has no cuDNN plan
  size_t configCount = 0;  // the heuristic's list's length, for the error
  size_t configIndex = 0;
  std::vector<char> json;  // empty where cuDNN does not serialize the plan
};

std::vector<char> serialized(cudnnBackendDescriptor_t plan) {
  int64_t count = 0;
  if (cudnnBackendGetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_JSON_REPRESENTATION, CUDNN_TYPE_CHAR, 0, &count,
                               nullptr) != CUDNN_STATUS_SUCCESS ||
      count <= 0)
    return {};
  std::vector<char> json(static_cast<size_t>(count));
  if (cudnnBackendGetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_JSON_REPRESENTATION, CUDNN_TYPE_CHAR, count, &count,
                               json.data()) != CUDNN_STATUS_SUCCESS)
    return {};
  json.resize(static_cast<size_t>(count));
  return json;
}

// How many plans were searched and how many replayed from a choice, since the process started (tests read them).
std::atomic<uint64_t> searchCount{0}, replayCount{0};

// The choice made again on this handle: from its JSON, else from its engine configuration; null when neither takes
// (the caller then searches).
std::shared_ptr<Int8ConvPlan> replayedPlan(const Choice& choice, const Int8ConvProblem& p, cudnnHandle_t handle,
                                           int device) {
  if (!choice.json.empty()) {
    auto candidate = std::make_shared<Int8ConvPlan>();
    cudnnBackendDescriptor_t plan = candidate->descriptors.make(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    set(plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle);
    const cudnnStatus_t status =
        cudnnBackendSetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_JSON_REPRESENTATION, CUDNN_TYPE_CHAR,
                                 static_cast<int64_t>(choice.json.size()), choice.json.data());
    if (status == CUDNN_STATUS_SUCCESS && cudnnBackendFinalize(plan) == CUDNN_STATUS_SUCCESS)
      if (auto done = completed(std::move(candidate), plan, nullptr, p, device)) return done;
  }
  auto graph = std::make_shared<Descriptors>();
  const std::vector<cudnnBackendDescriptor_t> configs = engineConfigs(*graph, p, handle);
  if (choice.configIndex >= configs.size()) return nullptr;
  return finalizedPlan(configs[choice.configIndex], graph, p, handle, device);
}

// replayedPlan, counted.
std::shared_ptr<Int8ConvPlan> replayed(const Choice& choice, const Int8ConvProblem& p, cudnnHandle_t handle,
                                       int device) {
  std::shared_ptr<Int8ConvPlan> plan = replayedPlan(choice, p, handle, device);
  if (plan) ++replayCount;
  return plan;
}

// The search: the fastest of the first kTimedConfigs configurations that finalize and run, timed on scratch
// buffers, or null when none does; `choice` records it.
std::shared_ptr<Int8ConvPlan> searched(const Int8ConvProblem& p, cudnnHandle_t handle, int device, Choice& choice) {
  ++searchCount;
  auto graph = std::make_shared<Descriptors>();
  const std::vector<cudnnBackendDescriptor_t> configs = engineConfigs(*graph, p, handle);
  std::shared_ptr<Int8ConvPlan> best;
  float bestMs = 0;
  std::unique_ptr<TimingBuffers> buffers;
  int timed = 0;
  for (size_t i = 0; i < configs.size() && timed < kTimedConfigs; ++i) {
    std::shared_ptr<Int8ConvPlan> candidate = finalizedPlan(configs[i], graph, p, handle, device);
    if (!candidate) continue;
    if (!buffers) {
      cudaStream_t stream = nullptr;
      INFERRT_CUDNN_CHECK(cudnnGetStream(handle, &stream));
      buffers = std::make_unique<TimingBuffers>(p, device, stream);
    }
    float ms = 0;
    try {
      ms = timeRuns(*candidate, handle, p, *buffers);
    } catch (const Error&) {  // this configuration finalized but does not run: the next one may
      ignoreCudaError(cudaGetLastError());
      continue;
    }
    ++timed;
    if (!best || ms < bestMs) best = candidate, bestMs = ms, choice.configIndex = i;
  }
  choice.configCount = configs.size();
  choice.none = !best;
  if (best) choice.json = serialized(best->plan);
  return best;
}

// The plans kept per problem, device and handle, and each problem's first choice. Never destroyed: cuDNN plans torn
// down at process exit have crashed other programs.
struct PlanCaches {
  std::mutex mutex;
  std::map<std::vector<int64_t>, std::shared_ptr<const Int8ConvPlan>> plans;  // key: the problem's, then the handle
  std::map<std::vector<int64_t>, Choice> choices;                             // key: the problem's
};
thread_local ChoiceRecording* threadRecording = nullptr;  // the innermost recording on this thread
PlanCaches& planCaches() {
  static auto* caches = new PlanCaches();
  return *caches;
}

void remember(PlanCaches& caches, const std::vector<int64_t>& problemKey, Choice choice) {
  if (caches.choices.size() >= 4096) caches.choices.clear();  // dynamic shapes must not grow it forever
  caches.choices[problemKey] = std::move(choice);
}

}  // namespace

std::shared_ptr<const Int8ConvPlan> findInt8ConvolutionPlan(const Int8ConvProblem& p, void* cudnnHandle, int device) {
  if (!cudnnHandle) fail(ErrorCode::Internal, "INT8 cuDNN graph: no cuDNN handle");
  // Plans are finalized against a handle, and one context's handle runs one thread at a time: the cache is per
  // handle (a plan is never run by two threads at once); other handles replay the first search's choice.
  PlanCaches& caches = planCaches();
  const std::vector<int64_t> problemKey = keyOf(p, device);
  std::vector<int64_t> key = problemKey;
  key.push_back(static_cast<int64_t>(reinterpret_cast<intptr_t>(cudnnHandle)));
  if (threadRecording) threadRecording->keys.insert(problemKey);
  std::lock_guard<std::mutex> lock(caches.mutex);
  auto found = caches.plans.find(key);
  if (found != caches.plans.end()) return found->second;
  auto chosen = caches.choices.find(problemKey);
  if (chosen != caches.choices.end() && chosen->second.none) return nullptr;

  auto handle = static_cast<cudnnHandle_t>(cudnnHandle);
  std::shared_ptr<Int8ConvPlan> plan;
  if (chosen != caches.choices.end()) plan = replayed(chosen->second, p, handle, device);
  if (!plan) {
    Choice choice;
    plan = searched(p, handle, device, choice);
    remember(caches, problemKey, std::move(choice));
    if (!plan) return nullptr;
  }
  if (caches.plans.size() >= 4096) caches.plans.clear();  // dynamic shapes must not grow it forever
  caches.plans.emplace(key, plan);
  return plan;
}

std::shared_ptr<const Int8ConvPlan> planInt8Convolution(const Int8ConvProblem& p, void* cudnnHandle, int device) {
  std::shared_ptr<const Int8ConvPlan> plan = findInt8ConvolutionPlan(p, cudnnHandle, device);
  if (plan) return plan;
  size_t tried = 0;
  {
    PlanCaches& caches = planCaches();
    std::lock_guard<std::mutex> lock(caches.mutex);
    auto chosen = caches.choices.find(keyOf(p, device));
    if (chosen != caches.choices.end()) tried = chosen->second.configCount;
  }
  fail(ErrorCode::CudaError, "cuDNN has no engine for the ", describe(p), " with its fused epilogue (", tried,
       " heuristic configurations tried)");
}

std::shared_ptr<const Int8ConvPlan> searchInt8ConvolutionPlan(const Int8ConvProblem& p, void* cudnnHandle,
                                                              int device) {
  if (!cudnnHandle) fail(ErrorCode::Internal, "INT8 cuDNN graph: no cuDNN handle");
  Choice choice;
  std::shared_ptr<const Int8ConvPlan> plan = searched(p, static_cast<cudnnHandle_t>(cudnnHandle), device, choice);
  PlanCaches& caches = planCaches();
  std::lock_guard<std::mutex> lock(caches.mutex);
  remember(caches, keyOf(p, device), std::move(choice));
  return plan;
}

void forgetHandle(void* cudnnHandle) {
  PlanCaches& caches = planCaches();
  std::lock_guard<std::mutex> lock(caches.mutex);
  const auto handleKey = static_cast<int64_t>(reinterpret_cast<intptr_t>(cudnnHandle));
  for (auto it = caches.plans.begin(); it != caches.plans.end();)
    it = it->first.back() == handleKey ? caches.plans.erase(it) : std::next(it);
}

bool planMatches(const Int8ConvPlan& plan, const Int8ConvProblem& p, int device) {
  return keyOf(plan.problem, plan.device) == keyOf(p, device);
}

ChoiceRecording::ChoiceRecording() : outer_(threadRecording) { threadRecording = this; }

ChoiceRecording::~ChoiceRecording() { threadRecording = outer_; }

std::vector<CudnnChoice> ChoiceRecording::choices(int device) const {
  PlanCaches& caches = planCaches();
  std::lock_guard<std::mutex> lock(caches.mutex);
  std::vector<CudnnChoice> out;
  for (const std::vector<int64_t>& key : keys) {
    auto chosen = caches.choices.find(key);
    if (key.front() != device || chosen == caches.choices.end() || chosen->second.none) continue;
    CudnnChoice c;
    c.problem.assign(key.begin() + 1, key.end());
    c.configIndex = chosen->second.configIndex;
    c.configCount = chosen->second.configCount;
    c.json.assign(chosen->second.json.begin(), chosen->second.json.end());
    out.push_back(std::move(c));
  }
  return out;
}

void adoptChoices(const std::vector<CudnnChoice>& choices, int device) {
  PlanCaches& caches = planCaches();
  std::lock_guard<std::mutex> lock(caches.mutex);
  for (const CudnnChoice& c : choices) {
    std::vector<int64_t> key = {device};
    key.insert(key.end(), c.problem.begin(), c.problem.end());
    if (c.problem.front() != kProblemKeyLayout || caches.choices.count(key)) continue;
    Choice choice;
    choice.configIndex = c.configIndex;
    choice.configCount = c.configCount;
    choice.json.assign(c.json.begin(), c.json.end());
    remember(caches, key, std::move(choice));
  }
}

uint64_t cudnnVersion() { return cudnnGetVersion(); }

PlanCounts planCounts() { return {searchCount.load(), replayCount.load()}; }

size_t workspaceSize(const Int8ConvPlan& plan) { return static_cast<size_t>(plan.workspace); }

void runInt8Convolution(const Int8ConvPlan& plan, void* cudnnHandle, const void* x, const void* w, const float* scale,
                        const float* bias, const void* residual, void* y, void* yInt8, void* workspace) {
  execute(plan, static_cast<cudnnHandle_t>(cudnnHandle), plan.problem, x, w, scale, bias, residual, y, yInt8,
          workspace);
}

#else  // built without cuDNN: the kernel's supports() declines channels-last layers, so these are never reached

class Int8ConvPlan {};

std::shared_ptr<const Int8ConvPlan> planInt8Convolution(const Int8ConvProblem&, void*, int) {
  fail(ErrorCode::UnsupportedOp, "INT8 cuDNN graphs need cuDNN (built without cuDNN)");
}

std::shared_ptr<const Int8ConvPlan> findInt8ConvolutionPlan(const Int8ConvProblem&, void*, int) { return nullptr; }

std::shared_ptr<const Int8ConvPlan> searchInt8ConvolutionPlan(const Int8ConvProblem&, void*, int) { return nullptr; }

void forgetHandle(void*) {}

bool planMatches(const Int8ConvPlan&, const Int8ConvProblem&, int) { return false; }

ChoiceRecording::ChoiceRecording() : outer_(nullptr) {}
ChoiceRecording::~ChoiceRecording() = default;
std::vector<CudnnChoice> ChoiceRecording::choices(int) const { return {}; }
void adoptChoices(const std::vector<CudnnChoice>&, int) {}
uint64_t cudnnVersion() { return 0; }
PlanCounts planCounts() { return {}; }

size_t workspaceSize(const Int8ConvPlan&) { return 0; }

void runInt8Convolution(const Int8ConvPlan&, void*, const void*, const void*, const float*, const float*, const void*,
                        void*, void*, void*) {
  fail(ErrorCode::UnsupportedOp, "QuantizedConvolution channels-last needs cuDNN (built without cuDNN)");
}

#endif

}  // namespace inferrt::cudnnint8
