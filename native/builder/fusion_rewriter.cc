// The fusion passes' view of the network and their edit list (see fusion_rewriter.h).
#include "builder/fusion_rewriter.h"

#include <algorithm>
#include <string>

#include "builder/passes.h"
#include "ir/error.h"
#include "ir/op_registry.h"

namespace inferrt {

FusionRewriter::FusionRewriter(const Network& network)
    : tensors_(network.tensors()),
      layers_(network.layers()),
      readers_(tensors_.size()),
      claimed_(layers_.size(), false),
      keep_(layers_.size(), true) {
  for (size_t l = 0; l < layers_.size(); ++l)
    for (int t : layers_[l].inputs)
      if (t >= 0 && (readers_[t].empty() || readers_[t].back() != static_cast<int>(l)))
        readers_[t].push_back(static_cast<int>(l));
}

int FusionRewriter::producer(int t, const char* kind, const char* op) const {
  if (t < 0) return -1;
  const int l = tensors_[t].producer;
  if (l < 0 || claimed_[l] || layers_[l].kind != kind) return -1;
  if (op && layers_[l].attrs.getString("op", "") != op) return -1;
  return l;
}

int FusionRewriter::soleReader(int t) const {
  if (t < 0 || tensors_[t].isOutput || readers_[t].size() != 1) return -1;
  return readers_[t][0];
}

bool FusionRewriter::readOnlyBy(int t, std::vector<int> readers) const {
  if (t < 0 || tensors_[t].isOutput) return false;
  std::sort(readers.begin(), readers.end());
  readers.erase(std::unique(readers.begin(), readers.end()), readers.end());
  return readers_[t] == readers;  // readers_ is in layer order, so sorted
}

const Tensor* FusionRewriter::constant(int t) const {
  if (t < 0 || tensors_[t].producer >= 0 || !tensors_[t].value) return nullptr;
  const Tensor* v = tensors_[t].value.get();
  return v->dtype() == DType::Float32 ? v : nullptr;
}

bool FusionRewriter::isScalar(int t, double value) const {
  const Tensor* v = constant(t);
  return v && v->numel() == 1 && v->data<float>()[0] == static_cast<float>(value);
}

bool FusionRewriter::canFuse(const std::vector<int>& layers) const {
  for (int l : layers)
    if (l < 0 || claimed_[l] || layers_[l].precision != layers_[layers.front()].precision) return false;
  return true;
}

namespace {

template <typename Items>
std::string uniqueName(const std::string& base, const Items& items) {
  auto taken = [&](const std::string& n) {
    return std::any_of(items.begin(), items.end(), [&](const auto& item) { return item.name == n; });
  };
  std::string unique = base;
  for (int i = 1; taken(unique); ++i) unique = base + "_" + std::to_string(i);
  return unique;
}

}  // namespace

int FusionRewriter::addConstant(const std::string& name, Tensor value) {
  TensorInfo info;
  info.name = uniqueName(name, tensors_);
  info.dtype = value.dtype();
  info.dims = value.dims();
  info.value = std::make_shared<const Tensor>(std::move(value));
  tensors_.push_back(std::move(info));
  readers_.emplace_back();
  return static_cast<int>(tensors_.size()) - 1;
}

int FusionRewriter::addIntermediate(const std::string& name, DType dtype, Dims dims) {
  TensorInfo info;
  info.name = uniqueName(name, tensors_);
  info.dtype = dtype;
  info.dims = std::move(dims);
  tensors_.push_back(std::move(info));  // producer -1 until a replace() places its helper layer
  readers_.emplace_back();
  return static_cast<int>(tensors_.size()) - 1;
}

std::string FusionRewriter::uniqueLayerName(const std::string& base) const { return uniqueName(base, layers_); }

// What the shape rules know of `layer`'s inputs.
namespace {

// The shape rule's view of `layer`'s inputs.
std::vector<TensorDesc> inputDescs(const std::vector<TensorInfo>& tensors, const Layer& layer) {
  std::vector<TensorDesc> in;
  for (int t : layer.inputs) {
    TensorDesc d;
    d.present = t >= 0;
    if (t >= 0) {
      d.dtype = tensors[t].dtype;
      d.dims = tensors[t].dims;
      d.value = tensors[t].value;
    }
    in.push_back(std::move(d));
  }
  return in;
}

}  // namespace

// Whether `layer`'s shape rule accepts it and gives exactly the dtype/dims recorded for its single output.
bool FusionRewriter::inferredAsRecorded(const Layer& layer) const {
  try {
    const std::vector<TensorDesc> out = inferLayerShapes(layer, inputDescs(tensors_, layer));
    const TensorInfo& want = tensors_[layer.outputs[0]];
    return out.size() == 1 && out[0].dtype == want.dtype && out[0].dims == want.dims;
  } catch (const Error&) {
    return false;
  }
}

bool FusionRewriter::replace(const std::vector<int>& chain, Layer fused) { return replace(chain, std::move(fused), {}); }

bool FusionRewriter::replace(const std::vector<int>& chain, Layer fused, std::vector<std::pair<int, Layer>> helpers) {
  if (!canFuse(chain)) return false;
  const int last = chain.back();
  fused.name = layers_[last].name;
  fused.outputs = layers_[last].outputs;
  fused.precision = layers_[last].precision;
  std::vector<int> slots;
  for (auto& [slot, helper] : helpers) {
    if (slot == last || std::find(chain.begin(), chain.end(), slot) == chain.end() ||
        std::find(slots.begin(), slots.end(), slot) != slots.end() || helper.outputs.size() != 1 ||
        tensors_[helper.outputs[0]].producer >= 0 || !inferredAsRecorded(helper))
      return false;
    helper.precision = fused.precision;
    slots.push_back(slot);
  }
  // The shape rule is the last word on whether the fused layer means what the chain did.
  if (!inferredAsRecorded(fused)) return false;
  for (int l : chain) {
    claimed_[l] = true;
    keep_[l] = false;
  }
  keep_[last] = true;
  // readers_ is left as it was: entries of dropped layers only make later matches in this pass more
  // conservative, and each pass builds a fresh rewriter.
  layers_[last] = std::move(fused);
  for (auto& [slot, helper] : helpers) {
    keep_[slot] = true;
    tensors_[helper.outputs[0]].producer = slot;
    layers_[slot] = std::move(helper);
  }
  return true;
}

bool FusionRewriter::replaceKnowingMore(const std::vector<int>& chain, Layer fused) {
  if (!canFuse(chain)) return false;
  fused.outputs = layers_[chain.back()].outputs;  // as replace() gives it: the shape rule counts outputs
  TensorInfo& want = tensors_[fused.outputs[0]];
  std::vector<TensorDesc> out;
  try {
    out = inferLayerShapes(fused, inputDescs(tensors_, fused));
  } catch (const Error&) {
    return false;
  }
  if (out.size() != 1 || out[0].dtype != want.dtype || out[0].dims.size() != want.dims.size()) return false;
  for (size_t i = 0; i < want.dims.size(); ++i)
    if (want.dims[i] != kDynamic && want.dims[i] != out[0].dims[i]) return false;
  const Dims recorded = want.dims;
  want.dims = out[0].dims;
  if (replace(chain, std::move(fused))) return true;
  want.dims = recorded;
  return false;
}

void FusionRewriter::apply(Network& network) {
  network.assign(tensors_, layers_, network.inputs(), network.outputs());
  compactNetwork(network, keep_);
}

}  // namespace inferrt
