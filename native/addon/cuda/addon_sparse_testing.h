// The GPU suite's door to the sparse GEMM kernel itself (addon_sparse_testing.cc). CUDA builds only.
#pragma once
#include <napi.h>

namespace inferrt::addon {

void registerSparseTestingExports(Napi::Env env, Napi::Object exports);

}  // namespace inferrt::addon
