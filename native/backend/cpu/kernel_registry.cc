#include "backend/cpu/kernel_registry.h"

#include <map>

#include "ir/error.h"
#include "ir/op_registry.h"

namespace inferrt {

namespace {
std::map<std::string, CpuKernelDef>& kernels() {
  static std::map<std::string, CpuKernelDef> table;
  return table;
}
}  // namespace

void registerCpuKernel(const CpuKernelDef& def) {
  if (!kernels().emplace(def.kind, def).second)
    fail(ErrorCode::Internal, "CPU kernel for '", def.kind, "' registered twice");
}

const CpuKernelDef* findCpuKernel(const std::string& kind) {
  ensureOpsRegistered();
  auto it = kernels().find(kind);
  return it == kernels().end() ? nullptr : &it->second;
}

}  // namespace inferrt
