#include "addon/addon_network.h"

#include <climits>

#include "addon/addon_state.h"
#include "addon/convert.h"
#include "addon/errors.h"

namespace inferrt::addon {

namespace {

Napi::Array fromIndices(Napi::Env env, const std::vector<int>& indices) {
  Napi::Array a = Napi::Array::New(env, indices.size());
  for (size_t i = 0; i < indices.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, indices[i]));
  return a;
}

// Marks objects made by this class, so fromValue never unwraps some other native object as a network.
constexpr napi_type_tag kNetworkTag = {0x6e6574776f726b21ULL, 0x696e66657272744eULL};

int toIndex(const Napi::CallbackInfo& info, size_t arg, const std::string& what) {
  return static_cast<int>(toInt(info[arg], what, 0, INT_MAX));
}

}  // namespace

Napi::Function NetworkWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeNetwork",
                     {
                         InstanceMethod<&NetworkWrap::addInput>("addInput"),
                         InstanceMethod<&NetworkWrap::addConstant>("addConstant"),
                         InstanceMethod<&NetworkWrap::addLayer>("addLayer"),
                         InstanceMethod<&NetworkWrap::markOutput>("markOutput"),
                         InstanceMethod<&NetworkWrap::unmarkOutput>("unmarkOutput"),
                         InstanceMethod<&NetworkWrap::renameTensor>("renameTensor"),
                         InstanceMethod<&NetworkWrap::setLayerPrecision>("setLayerPrecision"),
                         InstanceMethod<&NetworkWrap::tensorInfo>("tensorInfo"),
                         InstanceMethod<&NetworkWrap::tensorValue>("tensorValue"),
                         InstanceMethod<&NetworkWrap::layerInfo>("layerInfo"),
                         InstanceMethod<&NetworkWrap::numTensors>("numTensors"),
                         InstanceMethod<&NetworkWrap::numLayers>("numLayers"),
                         InstanceMethod<&NetworkWrap::inputs>("inputs"),
                         InstanceMethod<&NetworkWrap::outputs>("outputs"),
                         InstanceMethod<&NetworkWrap::findTensor>("findTensor"),
                         InstanceMethod<&NetworkWrap::uniqueLayerName>("uniqueLayerName"),
                         InstanceMethod<&NetworkWrap::dispose>("dispose"),
                     });
}

Napi::Value NetworkWrap::create(const Napi::CallbackInfo& info) { return state(info.Env()).networkClass.New({}); }

NetworkWrap::NetworkWrap(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<NetworkWrap>(info), network_(std::make_unique<Network>()) {
  info.This().As<Napi::Object>().TypeTag(&kNetworkTag);
}

NetworkWrap* NetworkWrap::fromValue(const Napi::Value& v) {
  if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&kNetworkTag)) return nullptr;
  return Unwrap(v.As<Napi::Object>());
}

Network& NetworkWrap::live(Napi::Env env) {
  if (!network_) throw makeError(env, ErrorCode::Disposed, "Network has been disposed");
  return *network_;
}

const Network& NetworkWrap::network(Napi::Env env) const {
  if (!network_) throw makeError(env, ErrorCode::Disposed, "Network has been disposed");
  return *network_;
}

Napi::Value NetworkWrap::addInput(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  live(env);  // DISPOSED before argument errors
  const std::string name = toString(info[0], "addInput: name");
  const DType dtype = toDType(info[1], "addInput: dtype");
  const Dims dims = toDims(info[2], "addInput: dims", kDynamic);
  // Converting arguments can run JS (getters, proxies) that disposes this network: take it only afterwards.
  Network& net = live(env);
  return Napi::Number::New(env, guard(env, [&] { return net.addInput(name, dtype, dims); }));
}

Napi::Value NetworkWrap::addConstant(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  live(env);  // DISPOSED before argument errors
  const std::string name = toString(info[0], "addConstant: name");
  const DType dtype = toDType(info[1], "addConstant: dtype");
  const Dims dims = toDims(info[2], "addConstant: dims", 0);
  const uint8_t* data = nullptr;
  size_t size = 0;
  toBytes(info[3], "addConstant: data", &data, &size);
  // Converting arguments can run JS (getters, proxies) that disposes this network: take it only afterwards.
  Network& net = live(env);
  return Napi::Number::New(env, guard(env, [&] {
    try {
      return net.addConstant(name, std::make_shared<const Tensor>(Tensor::fromBytes(dtype, dims, data, size)));
    } catch (const Error& e) {
      fail(e.code(), "addConstant '", name, "': ", e.what());
    }
  }));
}

Napi::Value NetworkWrap::addLayer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  live(env);  // DISPOSED before argument errors
  const std::string kind = toString(info[0], "addLayer: kind");
  const std::string name = toString(info[1], "addLayer: name");
  const std::vector<int64_t> inputs = toIntList(info[2], "addLayer: inputs", -1, INT_MAX);
  const Attributes attrs = toAttributes(info[3], "addLayer: attrs");
  const int numOutputs = static_cast<int>(toInt(info[4], "addLayer: numOutputs", 1, 4096));
  // Converting arguments can run JS (getters, proxies) that disposes this network: take it only afterwards.
  Network& net = live(env);
  std::vector<int> ids;
  for (int64_t i : inputs) ids.push_back(static_cast<int>(i));
  return fromIndices(env, guard(env, [&] { return net.addLayer(kind, name, ids, attrs, numOutputs); }));
}

Napi::Value NetworkWrap::markOutput(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Network& net = live(env);
  const int t = toIndex(info, 0, "markOutput: tensor");
  guard(env, [&] { net.markOutput(t); });
  return env.Undefined();
}

Napi::Value NetworkWrap::unmarkOutput(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Network& net = live(env);
  const int t = toIndex(info, 0, "unmarkOutput: tensor");
  guard(env, [&] { net.unmarkOutput(t); });
  return env.Undefined();
}

Napi::Value NetworkWrap::renameTensor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Network& net = live(env);
  const int t = toIndex(info, 0, "renameTensor: tensor");
  const std::string name = toString(info[1], "renameTensor: name");
  guard(env, [&] { net.renameTensor(t, name); });
  return env.Undefined();
}

Napi::Value NetworkWrap::setLayerPrecision(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Network& net = live(env);
  const int layer = toIndex(info, 0, "setLayerPrecision: layer");
  const int precision = static_cast<int>(toInt(info[1], "setLayerPrecision: precision", 0, 3));
  guard(env, [&] { net.setLayerPrecision(layer, static_cast<LayerPrecision>(precision)); });
  return env.Undefined();
}

Napi::Value NetworkWrap::tensorInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Network& net = live(env);
  const int t = toIndex(info, 0, "tensorInfo: tensor");
  const TensorInfo& ti = guard(env, [&]() -> const TensorInfo& { return net.tensor(t); });
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", ti.name);
  o.Set("dtype", static_cast<int>(ti.dtype));
  o.Set("dims", fromDims(env, ti.dims));
  o.Set("isInput", ti.isInput);
  o.Set("isOutput", ti.isOutput);
  o.Set("isConstant", ti.isConstant);
  o.Set("hasValue", static_cast<bool>(ti.value));
  o.Set("producer", ti.producer);
  return o;
}

Napi::Value NetworkWrap::tensorValue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Network& net = live(env);
  const int t = toIndex(info, 0, "tensorValue: tensor");
  const TensorInfo& ti = guard(env, [&]() -> const TensorInfo& { return net.tensor(t); });
  if (!ti.value) return env.Null();
  return fromBytes(env, ti.value->byteSize() ? ti.value->raw() : nullptr, ti.value->byteSize());
}

Napi::Value NetworkWrap::layerInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Network& net = live(env);
  const int l = toIndex(info, 0, "layerInfo: layer");
  const Layer& layer = guard(env, [&]() -> const Layer& { return net.layer(l); });
  Napi::Object o = Napi::Object::New(env);
  o.Set("kind", layer.kind);
  o.Set("name", layer.name);
  o.Set("inputs", fromIndices(env, layer.inputs));
  o.Set("outputs", fromIndices(env, layer.outputs));
  o.Set("attrs", fromAttributes(env, layer.attrs));
  o.Set("precision", static_cast<int>(layer.precision));
  return o;
}

Napi::Value NetworkWrap::numTensors(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live(info.Env()).tensors().size()));
}

Napi::Value NetworkWrap::numLayers(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live(info.Env()).layers().size()));
}

Napi::Value NetworkWrap::inputs(const Napi::CallbackInfo& info) { return fromIndices(info.Env(), live(info.Env()).inputs()); }

Napi::Value NetworkWrap::outputs(const Napi::CallbackInfo& info) {
  return fromIndices(info.Env(), live(info.Env()).outputs());
}

Napi::Value NetworkWrap::findTensor(const Napi::CallbackInfo& info) {
  Network& net = live(info.Env());
  return Napi::Number::New(info.Env(), net.findTensor(toString(info[0], "findTensor: name")));
}

Napi::Value NetworkWrap::uniqueLayerName(const Napi::CallbackInfo& info) {
  Network& net = live(info.Env());
  return Napi::String::New(info.Env(), net.uniqueLayerName(toString(info[0], "uniqueLayerName: base")));
}

Napi::Value NetworkWrap::dispose(const Napi::CallbackInfo& info) {
  network_.reset();
  return info.Env().Undefined();
}

}  // namespace inferrt::addon
