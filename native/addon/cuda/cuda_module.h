// The CUDA part of the addon's exports (CudaStream, CudaEvent, DeviceBuffer, HostBuffer, cudaElapsedMs,
// cudaMemoryInfo). Only CUDA builds compile addon/cuda/; addon_module.cc calls this under INFERRT_WITH_CUDA,
// so this header includes nothing from CUDA.
#pragma once
#include <napi.h>

namespace inferrt::addon {

void registerCudaExports(Napi::Env env, Napi::Object exports);

}  // namespace inferrt::addon
