// addon.buildPlan(network, config, onProgress): builds off the main thread, progress on the main thread.
#pragma once
#include <napi.h>

namespace inferrt::addon {

Napi::Value buildPlan(const Napi::CallbackInfo& info);

}  // namespace inferrt::addon
