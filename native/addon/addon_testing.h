// addon.testing: hooks for CPU-only tests of code the public API reaches only through a GPU build (the timing
// cache file, plans carrying tactics or sparsity records). Not part of the public API; lib/binding.ts types it
// as NativeTesting.
#pragma once
#include <napi.h>

namespace inferrt::addon {

Napi::Object testingExports(Napi::Env env);

}  // namespace inferrt::addon
