#include "runtime/execution_context.h"

#include "ir/error.h"
#include "runtime/shape_resolution.h"

namespace inferrt {

namespace {

// CPU engines: the engine's own executor, which is thread-safe and needs no per-context state.
class CpuRunner : public ContextRunner {
 public:
  explicit CpuRunner(std::shared_ptr<const Engine> engine) : engine_(std::move(engine)) {}
  std::vector<TensorPtr> run(const std::vector<TensorPtr>& inputs) override { return engine_->execute(inputs); }

 private:
  std::shared_ptr<const Engine> engine_;
};

std::string inputList(const Network& net) {
  std::string s;
  for (int t : net.inputs()) s += (s.empty() ? "" : ", ") + net.tensor(t).name;
  return s;
}

}  // namespace

ExecutionContext::ExecutionContext(std::shared_ptr<const Engine> engine) : engine_(std::move(engine)) {
  for (int t : engine_->network().inputs()) inputShapes_.push_back(engine_->network().tensor(t).dims);
}

void ExecutionContext::setOptimizationProfile(int index) {
  const int count = static_cast<int>(engine_->profiles().size());
  if (index < 0 || index >= count)
    fail(ErrorCode::InvalidArgument, "setOptimizationProfile: index must be in [0, ", count, "), got ", index);
  profile_ = index;
  const Network& net = engine_->network();
  for (size_t i = 0; i < inputShapes_.size(); ++i) {
    try {
      if (isStatic(inputShapes_[i])) checkShape(static_cast<int>(i), inputShapes_[i], "setOptimizationProfile");
    } catch (const Error&) {
      inputShapes_[i] = net.tensor(net.inputs()[i]).dims;  // outside the new profile: unset again
    }
  }
  resolved_.clear();
}

int ExecutionContext::inputPosition(const std::string& name, const char* what) const {
  const Network& net = engine_->network();
  for (size_t i = 0; i < net.inputs().size(); ++i)
    if (net.tensor(net.inputs()[i]).name == name) return static_cast<int>(i);
  const int t = net.findTensor(name);
  fail(ErrorCode::InvalidArgument, what, ": '", name, "' is not an input of the engine",
       t >= 0 && net.tensor(t).isOutput ? " (it is an output)" : "", "; inputs: ", inputList(net));
}

void ExecutionContext::checkShape(int position, const Dims& dims, const char* what) const {
  const TensorInfo& input = engine_->network().tensor(engine_->network().inputs()[position]);
  if (dims.size() != input.dims.size())
    fail(ErrorCode::ShapeMismatch, what, ": input '", input.name, "' must have rank ", input.dims.size(), " ",
         dimsToString(input.dims), ", got shape ", dimsToString(dims));
  const ShapeRange& range = engine_->profiles()[profile_].at(input.name);
  for (size_t i = 0; i < dims.size(); ++i) {
    if (input.dims[i] >= 0 && dims[i] != input.dims[i])
      fail(ErrorCode::ShapeMismatch, what, ": input '", input.name, "' dim ", i, " must be ", input.dims[i], ", got ",
           dims[i], " (shape ", dimsToString(dims), ", expected ", dimsToString(input.dims), ")");
    if (dims[i] < range.min[i] || dims[i] > range.max[i])
      fail(ErrorCode::ShapeMismatch, what, ": input '", input.name, "' shape ", dimsToString(dims),
           " is outside optimization profile ", profile_, ": dim ", i, " must be in [", range.min[i], ", ",
           range.max[i], "], got ", dims[i], " (min ", dimsToString(range.min), ", max ", dimsToString(range.max), ")");
  }
}

void ExecutionContext::setInputShape(const std::string& name, const Dims& dims) {
  const int position = inputPosition(name, "setInputShape");
  checkShape(position, dims, "setInputShape");
  if (inputShapes_[position] != dims) resolved_.clear();
  inputShapes_[position] = dims;
}

Dims ExecutionContext::tensorShape(const std::string& name) {
  const Network& net = engine_->network();
  const int t = net.findTensor(name);
  if (t < 0 || (!net.tensor(t).isInput && !net.tensor(t).isOutput)) {
    std::string outputs;
    for (int o : net.outputs()) outputs += (outputs.empty() ? "" : ", ") + net.tensor(o).name;
    fail(ErrorCode::InvalidArgument, "getTensorShape: '", name, "' is not an input or output of the engine; inputs: ",
         inputList(net), "; outputs: ", outputs);
  }
  if (net.tensor(t).isInput) return inputShapes_[inputPosition(name, "getTensorShape")];
  if (resolved_.empty()) resolved_ = resolveShapes(net, inputShapes_);
  return resolved_[t].dims;
}

std::vector<TensorPtr> ExecutionContext::prepareInputs(const std::map<std::string, HostInput>& inputs) {
  const Network& net = engine_->network();
  for (const auto& entry : inputs) inputPosition(entry.first, "infer");
  std::string missing;
  for (int t : net.inputs())
    if (!inputs.count(net.tensor(t).name)) missing += (missing.empty() ? "'" : ", '") + net.tensor(t).name + "'";
  if (!missing.empty())
    fail(ErrorCode::InvalidArgument, "infer: missing input ", missing, "; expected inputs: ", inputList(net));
  std::vector<TensorPtr> out;
  for (size_t i = 0; i < net.inputs().size(); ++i) {
    const TensorInfo& info = net.tensor(net.inputs()[i]);
    const HostInput& in = inputs.at(info.name);
    if (in.dtype != info.dtype)
      fail(ErrorCode::DTypeMismatch, "infer: input '", info.name, "' must be ", dtypeName(info.dtype), ", got ",
           dtypeName(in.dtype));
    checkShape(static_cast<int>(i), in.dims, "infer");
    const uint64_t bytes = static_cast<uint64_t>(volume(in.dims)) * dtypeSize(in.dtype);
    if (bytes != in.size)
      fail(ErrorCode::ShapeMismatch, "infer: input '", info.name, "' has shape ", dimsToString(in.dims), " (", bytes,
           " bytes of ", dtypeName(in.dtype), ") but ", in.size, " bytes of data");
    out.push_back(std::make_shared<const Tensor>(Tensor::fromBytes(in.dtype, in.dims, in.data, in.size)));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (inputShapes_[i] != out[i]->dims()) resolved_.clear();
    inputShapes_[i] = out[i]->dims();
  }
  return out;
}

void ExecutionContext::setTensorAddress(const std::string& name, TensorBinding binding) {
  const Network& net = engine_->network();
  const int t = net.findTensor(name);
  if (t < 0 || (!net.tensor(t).isInput && !net.tensor(t).isOutput)) {
    std::string outputs;
    for (int o : net.outputs()) outputs += (outputs.empty() ? "" : ", ") + net.tensor(o).name;
    fail(ErrorCode::InvalidArgument, "setTensorAddress: '", name, "' is not an input or output of the engine; inputs: ",
         inputList(net), "; outputs: ", outputs);
  }
  if (!binding.address) bindings_.erase(name);
  else bindings_[name] = std::move(binding);
}

EnqueueRequest ExecutionContext::prepareEnqueue() {
  const Network& net = engine_->network();
  EnqueueRequest request;
  auto bound = [&](int t, const Dims& dims, const char* role) {
    const TensorInfo& info = net.tensor(t);
    auto it = bindings_.find(info.name);
    if (it == bindings_.end())
      fail(ErrorCode::InvalidArgument, "enqueue: ", role, " '", info.name, "' has no device buffer; call setTensorAddress('",
           info.name, "', buffer) first");
    const uint64_t needed = static_cast<uint64_t>(volume(dims)) * dtypeSize(info.dtype);
    if (it->second.bytes < needed)
      fail(ErrorCode::ShapeMismatch, "enqueue: ", role, " '", info.name, "' needs ", needed, " bytes (", dtypeName(info.dtype),
           " ", dimsToString(dims), ") but its buffer holds ", it->second.bytes);
    return it->second;
  };
  for (size_t i = 0; i < net.inputs().size(); ++i) {
    const TensorInfo& info = net.tensor(net.inputs()[i]);
    if (!isStatic(inputShapes_[i]))
      fail(ErrorCode::ShapeMismatch, "enqueue: input '", info.name, "' has dynamic dims ", dimsToString(inputShapes_[i]),
           "; call setInputShape first");
    request.inputDims.push_back(inputShapes_[i]);
    request.inputs.push_back(bound(net.inputs()[i], inputShapes_[i], "input"));
  }
  for (int t : net.outputs()) {
    const Dims dims = tensorShape(net.tensor(t).name);
    if (!isStatic(dims))
      fail(ErrorCode::ShapeMismatch, "enqueue: output '", net.tensor(t).name, "' has shape ", dimsToString(dims),
           ", which depends on input values; use infer()");
    request.outputs.push_back(bound(t, dims, "output"));
  }
  return request;
}

std::shared_ptr<ContextRunner> ExecutionContext::runner() {
  if (runner_) return runner_;
#ifdef INFERRT_WITH_CUDA
  if (engine_->cudaResources()) {
    runner_ = makeCudaRunner(engine_, profile_);
    runner_->setCudaGraphs(cudaGraphs_);
    runner_->setProfiling(profiling_);
    return runner_;
  }
#endif
  return runner_ = std::make_shared<CpuRunner>(engine_);
}

uint64_t ExecutionContext::deviceMemorySize() { return runner()->deviceMemorySize(); }

void ExecutionContext::setProfiling(bool enabled) {
  profiling_ = enabled;
  if (runner_) runner_->setProfiling(enabled);
}

void ExecutionContext::setCudaGraphs(bool enabled) {
  cudaGraphs_ = enabled;
  if (runner_) runner_->setCudaGraphs(enabled);
}

std::map<std::string, TensorPtr> ExecutionContext::nameOutputs(const std::vector<TensorPtr>& outputs) const {
  const Network& net = engine_->network();
  std::map<std::string, TensorPtr> named;
  for (size_t i = 0; i < outputs.size() && i < net.outputs().size(); ++i) named[net.tensor(net.outputs()[i]).name] = outputs[i];
  return named;
}

}  // namespace inferrt
