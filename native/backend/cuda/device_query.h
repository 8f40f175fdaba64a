// Device enumeration through the CUDA runtime (device_query.cu). Only built with INFERRT_WITH_CUDA; the rest
// of the addon reaches it through runtime/devices.h. No CUDA headers here, so plain C++ files may include it.
#pragma once
#include <string>
#include <vector>

#include "runtime/devices.h"

namespace inferrt {

// The visible devices; on a runtime/driver failure returns none and says why in `error`.
std::vector<CudaDeviceInfo> queryCudaDevices(std::string* error);

}  // namespace inferrt
