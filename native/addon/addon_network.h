// NativeNetwork (lib/binding.ts): a NetworkDefinition under construction. Created by addon.createNetwork().
#pragma once
#include <napi.h>

#include <memory>

#include "ir/network.h"

namespace inferrt::addon {

class NetworkWrap : public Napi::ObjectWrap<NetworkWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Value create(const Napi::CallbackInfo& info);  // addon.createNetwork()
  explicit NetworkWrap(const Napi::CallbackInfo& info);
  // The wrap behind a JS value, or null when it is not a NativeNetwork (checked by type tag, not prototype).
  static NetworkWrap* fromValue(const Napi::Value& v);

  // The network, or DISPOSED. Used by buildPlan.
  const Network& network(Napi::Env env) const;

 private:
  Network& live(Napi::Env env);
  Napi::Value addInput(const Napi::CallbackInfo& info);
  Napi::Value addConstant(const Napi::CallbackInfo& info);
  Napi::Value addLayer(const Napi::CallbackInfo& info);
  Napi::Value markOutput(const Napi::CallbackInfo& info);
  Napi::Value unmarkOutput(const Napi::CallbackInfo& info);
  Napi::Value renameTensor(const Napi::CallbackInfo& info);
  Napi::Value setLayerPrecision(const Napi::CallbackInfo& info);
  Napi::Value tensorInfo(const Napi::CallbackInfo& info);
  Napi::Value tensorValue(const Napi::CallbackInfo& info);
  Napi::Value layerInfo(const Napi::CallbackInfo& info);
  Napi::Value numTensors(const Napi::CallbackInfo& info);
  Napi::Value numLayers(const Napi::CallbackInfo& info);
  Napi::Value inputs(const Napi::CallbackInfo& info);
  Napi::Value outputs(const Napi::CallbackInfo& info);
  Napi::Value findTensor(const Napi::CallbackInfo& info);
  Napi::Value uniqueLayerName(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);

  std::unique_ptr<Network> network_;  // null once disposed
};

}  // namespace inferrt::addon
