// addon.int8 (NativeInt8 in lib/binding.ts): the calibration statistics of native/int8/ — the AmaxHistogram
// class and the threshold functions. Everything runs on the calling thread: each call is O(size of its input)
// (the entropy sweep is O(bins²), about 2M steps for 2048 bins), and calibration batches are small.
#pragma once
#include <napi.h>

namespace inferrt::addon {

Napi::Object int8Exports(Napi::Env env);

}  // namespace inferrt::addon
