#include <map>
#include <mutex>

#include "backend/cuda/kernels/cuda_kernel.h"
#include "backend/cuda/kernels/cuda_plugin.h"

namespace inferrt {

namespace {

std::map<std::string, CudaKernelDef>& table() {
  static std::map<std::string, CudaKernelDef> kernels;
  return kernels;
}

void registerAll() {
  registerCudaElementwiseKernels();
  registerCudaPointwiseKernels();
  registerCudaReductionKernels();
  registerCudaMovementKernels();
  registerCudaMatMulKernels();
  registerCudaConvolutionKernels();
  registerCudaAttentionKernels();
  registerCudaQuantizedKernels();
  registerCudaPluginKernels();
  registerCudaBertPlugins();  // the CUDA plugin table's entries (cuda_plugin.h)
}

std::once_flag& registered() {
  static std::once_flag flag;
  return flag;
}

}  // namespace

void registerCudaKernel(const CudaKernelDef& def) { table()[def.kind] = def; }

const CudaKernelDef* findCudaKernel(const std::string& kind) {
  std::call_once(registered(), registerAll);
  auto it = table().find(kind);
  return it == table().end() ? nullptr : &it->second;
}

std::vector<std::string> cudaKernelKinds() {
  std::call_once(registered(), registerAll);
  std::vector<std::string> kinds;
  for (const auto& entry : table()) kinds.push_back(entry.first);
  return kinds;
}

}  // namespace inferrt
