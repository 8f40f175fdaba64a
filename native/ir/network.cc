#include "ir/network.h"

#include <set>

#include "backend/cpu/executor.h"
#include "ir/error.h"
#include "ir/op_registry.h"

namespace inferrt {

namespace {

void requireName(const std::string& name, const char* what) {
  if (name.empty()) fail(ErrorCode::InvalidArgument, what, ": the name must not be empty");
}

}  // namespace

int Network::newTensor(TensorInfo info) {
  const int index = static_cast<int>(tensors_.size());
  tensorByName_[info.name] = index;
  tensors_.push_back(std::move(info));
  return index;
}

const TensorInfo& Network::tensor(int index) const {
  if (index < 0 || index >= static_cast<int>(tensors_.size()))
    fail(ErrorCode::InvalidArgument, "tensor index ", index, " is out of range (the network has ", tensors_.size(),
         " tensors)");
  return tensors_[index];
}

const Layer& Network::layer(int index) const {
  if (index < 0 || index >= static_cast<int>(layers_.size()))
    fail(ErrorCode::InvalidArgument, "layer index ", index, " is out of range (the network has ", layers_.size(),
         " layers)");
  return layers_[index];
}

int Network::findTensor(const std::string& name) const {
  auto it = tensorByName_.find(name);
  return it == tensorByName_.end() ? -1 : it->second;
}

std::string Network::uniqueLayerName(const std::string& base) const {
  auto taken = [&](const std::string& n) { return layerByName_.count(n) || tensorByName_.count(n); };
  const std::string stem = base.empty() ? "layer" : base;
  if (!taken(stem)) return stem;
  for (size_t i = 1;; ++i) {
    std::string candidate = stem + "_" + std::to_string(i);
    if (!taken(candidate)) return candidate;
  }
}

int Network::addInput(const std::string& name, DType dtype, const Dims& dims) {
  requireName(name, "addInput");
  if (findTensor(name) >= 0) fail(ErrorCode::InvalidArgument, "addInput: a tensor named '", name, "' already exists");
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] < kDynamic)
      fail(ErrorCode::InvalidArgument, "addInput '", name, "': dims[", i, "] must be >= -1, got ", dims[i]);
  TensorInfo info;
  info.name = name;
  info.dtype = dtype;
  info.dims = dims;
  info.isInput = true;
  const int index = newTensor(std::move(info));
  inputs_.push_back(index);
  return index;
}

int Network::addConstant(const std::string& name, TensorPtr value) {
  requireName(name, "addConstant");
  if (!value) fail(ErrorCode::InvalidArgument, "addConstant '", name, "': no value");
  if (findTensor(name) >= 0) fail(ErrorCode::InvalidArgument, "addConstant: a tensor named '", name, "' already exists");
  TensorInfo info;
  info.name = name;
  info.dtype = value->dtype();
  info.dims = value->dims();
  info.value = std::move(value);
  info.isConstant = true;
  return newTensor(std::move(info));
}

std::vector<int> Network::addLayer(const std::string& kind, const std::string& name, const std::vector<int>& inputs,
                                   const Attributes& attrs, int numOutputs) {
  requireName(name, "addLayer");
  if (layerByName_.count(name)) fail(ErrorCode::InvalidArgument, "addLayer: a layer named '", name, "' already exists");
  if (numOutputs < 1 || numOutputs > 4096)
    fail(ErrorCode::InvalidArgument, "addLayer '", name, "': numOutputs must be in [1, 4096], got ", numOutputs);
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i] < -1 || inputs[i] >= static_cast<int>(tensors_.size()))
      fail(ErrorCode::InvalidArgument, "addLayer '", name, "': inputs[", i, "] is tensor index ", inputs[i],
           ", which is not in the network (", tensors_.size(), " tensors; -1 marks an absent optional input)");
  Layer layer;
  layer.kind = kind;
  layer.name = name;
  layer.inputs = inputs;
  layer.attrs = attrs;
  const int first = static_cast<int>(tensors_.size());
  for (int i = 0; i < numOutputs; ++i) layer.outputs.push_back(first + i);

  // Everything that can throw happens before the network changes.
  std::vector<TensorDesc> out = evaluateLayer(layer, inputDescs(layer, tensors_), kDefinitionFoldLimit);
  std::vector<std::string> names;
  std::set<std::string> fresh;
  for (int i = 0; i < numOutputs; ++i) {
    std::string n = name + ":" + std::to_string(i);
    for (size_t k = 1; findTensor(n) >= 0 || fresh.count(n); ++k) n = name + ":" + std::to_string(i) + "_" + std::to_string(k);
    fresh.insert(n);
    names.push_back(n);
  }

  const int layerIndex = static_cast<int>(layers_.size());
  for (int i = 0; i < numOutputs; ++i) {
    TensorInfo info;
    info.name = names[i];
    info.dtype = out[i].dtype;
    info.dims = out[i].dims;
    info.value = out[i].value;
    info.producer = layerIndex;
    newTensor(std::move(info));
  }
  layerByName_[name] = layerIndex;
  layers_.push_back(std::move(layer));
  return layers_.back().outputs;
}

void Network::markOutput(int index) {
  tensor(index);
  TensorInfo& t = tensors_[index];
  if (t.isOutput) return;
  t.isOutput = true;
  outputs_.push_back(index);
}

void Network::unmarkOutput(int index) {
  tensor(index);
  TensorInfo& t = tensors_[index];
  if (!t.isOutput) fail(ErrorCode::InvalidArgument, "unmarkOutput: tensor '", t.name, "' is not an output");
  t.isOutput = false;
  for (auto it = outputs_.begin(); it != outputs_.end(); ++it)
    if (*it == index) {
      outputs_.erase(it);
      break;
    }
}

void Network::renameTensor(int index, const std::string& name) {
  tensor(index);
  TensorInfo& t = tensors_[index];
  requireName(name, "renameTensor");
  if (t.name == name) return;
  if (findTensor(name) >= 0) fail(ErrorCode::InvalidArgument, "renameTensor: a tensor named '", name, "' already exists");
  tensorByName_.erase(t.name);
  t.name = name;
  tensorByName_[name] = index;
}

void Network::setLayerPrecision(int index, LayerPrecision precision) {
  layer(index);
  const int p = static_cast<int>(precision);
  if (p < 0 || p > static_cast<int>(LayerPrecision::Int8))
    fail(ErrorCode::InvalidArgument, "setLayerPrecision: precision must be 0 (default), 1 (fp32), 2 (fp16) or 3 (int8), got ", p);
  layers_[index].precision = precision;
}

void Network::assign(std::vector<TensorInfo> tensors, std::vector<Layer> layers, std::vector<int> inputs,
                     std::vector<int> outputs) {
  tensors_ = std::move(tensors);
  layers_ = std::move(layers);
  inputs_ = std::move(inputs);
  outputs_ = std::move(outputs);
  tensorByName_.clear();
  layerByName_.clear();
  for (size_t i = 0; i < tensors_.size(); ++i) tensorByName_.emplace(tensors_[i].name, static_cast<int>(i));
  for (size_t i = 0; i < layers_.size(); ++i) layerByName_.emplace(layers_[i].name, static_cast<int>(i));
}

void Network::validate() const {
  const int numTensors = static_cast<int>(tensors_.size());
  const int numLayers = static_cast<int>(layers_.size());
  std::set<std::string> names;
  for (int t = 0; t < numTensors; ++t) {
    const TensorInfo& info = tensors_[t];
    if (info.name.empty()) fail(ErrorCode::InvalidModel, "tensor ", t, " has no name");
    if (!names.insert(info.name).second) fail(ErrorCode::InvalidModel, "two tensors are named '", info.name, "'");
    DType checked;
    if (!dtypeFromInt(static_cast<int64_t>(info.dtype), &checked))
      fail(ErrorCode::InvalidModel, "tensor '", info.name, "' has an unknown dtype code ", static_cast<int>(info.dtype));
    for (int64_t d : info.dims)
      if (d < kDynamic) fail(ErrorCode::InvalidModel, "tensor '", info.name, "' has dims ", dimsToString(info.dims));
    if (info.producer < -1 || info.producer >= numLayers)
      fail(ErrorCode::InvalidModel, "tensor '", info.name, "' names producer layer ", info.producer, " of ", numLayers);
    if (info.value) {
      if (info.value->dtype() != info.dtype || info.value->dims() != info.dims)
        fail(ErrorCode::InvalidModel, "tensor '", info.name, "' is ", dtypeName(info.dtype), " ", dimsToString(info.dims),
             " but its value is ", dtypeName(info.value->dtype()), " ", dimsToString(info.value->dims()));
      if (info.isInput) fail(ErrorCode::InvalidModel, "input '", info.name, "' has a value");
    }
    if (info.isInput && info.producer != -1)
      fail(ErrorCode::InvalidModel, "input '", info.name, "' is also written by layer ", info.producer);
  }
  std::vector<bool> listed(tensors_.size(), false);
  for (int t : inputs_) {
    if (t < 0 || t >= numTensors) fail(ErrorCode::InvalidModel, "input index ", t, " is out of range");
    if (listed[t] || !tensors_[t].isInput) fail(ErrorCode::InvalidModel, "tensor '", tensors_[t].name, "' is listed as an input wrongly");
    listed[t] = true;
  }
  for (int t = 0; t < numTensors; ++t)
    if (tensors_[t].isInput && !listed[t]) fail(ErrorCode::InvalidModel, "input '", tensors_[t].name, "' is not in the input list");

  // Topological order: a layer reads only inputs, values, and outputs of earlier layers; each tensor has one writer.
  std::vector<bool> ready(tensors_.size(), false);
  for (int t = 0; t < numTensors; ++t) ready[t] = tensors_[t].isInput || (tensors_[t].value && tensors_[t].producer < 0);
  std::set<std::string> layerNames;
  for (int l = 0; l < numLayers; ++l) {
    const Layer& layer = layers_[l];
    if (layer.name.empty()) fail(ErrorCode::InvalidModel, "layer ", l, " has no name");
    if (!layerNames.insert(layer.name).second) fail(ErrorCode::InvalidModel, "two layers are named '", layer.name, "'");
    if (layer.outputs.empty()) fail(ErrorCode::InvalidModel, "layer '", layer.name, "' has no outputs");
    for (size_t i = 0; i < layer.inputs.size(); ++i) {
      const int t = layer.inputs[i];
      if (t == -1) continue;
      if (t < -1 || t >= numTensors)
        fail(ErrorCode::InvalidModel, "layer '", layer.name, "' input ", i, " is tensor index ", t, " of ", numTensors);
      if (!ready[t])
        fail(ErrorCode::InvalidModel, "layer '", layer.name, "' reads tensor '", tensors_[t].name,
             "' before any layer writes it (layers must be in topological order)");
    }
    for (size_t o = 0; o < layer.outputs.size(); ++o) {
      const int t = layer.outputs[o];
      if (t < 0 || t >= numTensors)
        fail(ErrorCode::InvalidModel, "layer '", layer.name, "' output ", o, " is tensor index ", t, " of ", numTensors);
      if (ready[t] || tensors_[t].producer != l)
        fail(ErrorCode::InvalidModel, "tensor '", tensors_[t].name, "' has more than one producer (layer '", layer.name, "')");
      ready[t] = true;
    }
  }
  for (int t = 0; t < numTensors; ++t)
    if (tensors_[t].producer >= 0 && !ready[t])
      fail(ErrorCode::InvalidModel, "tensor '", tensors_[t].name, "' names layer ", tensors_[t].producer,
           " as producer, which does not write it");

  std::vector<bool> isOut(tensors_.size(), false);
  for (int t : outputs_) {
    if (t < 0 || t >= numTensors) fail(ErrorCode::InvalidModel, "output index ", t, " is out of range");
    if (isOut[t] || !tensors_[t].isOutput) fail(ErrorCode::InvalidModel, "tensor '", tensors_[t].name, "' is listed as an output wrongly");
    if (!ready[t]) fail(ErrorCode::InvalidModel, "output '", tensors_[t].name, "' is never computed");
    isOut[t] = true;
  }
  for (int t = 0; t < numTensors; ++t)
    if (tensors_[t].isOutput && !isOut[t]) fail(ErrorCode::InvalidModel, "output '", tensors_[t].name, "' is not in the output list");
}

}  // namespace inferrt
