#include "ir/dtype.h"

namespace inferrt {

namespace {
struct DTypeInfo {
  const char* name;
  size_t size;
};
constexpr DTypeInfo kInfo[kNumDTypes] = {
    {"float32", 4}, {"float16", 2}, {"int8", 1}, {"uint8", 1}, {"int32", 4}, {"int64", 8}, {"bool", 1},
};
}  // namespace

size_t dtypeSize(DType t) { return kInfo[static_cast<int>(t)].size; }
const char* dtypeName(DType t) { return kInfo[static_cast<int>(t)].name; }

bool dtypeFromName(const std::string& name, DType* out) {
  for (int i = 0; i < kNumDTypes; ++i) {
    if (name == kInfo[i].name) {
      *out = static_cast<DType>(i);
      return true;
    }
  }
  return false;
}

bool dtypeFromInt(int64_t value, DType* out) {
  if (value < 0 || value >= kNumDTypes) return false;
  *out = static_cast<DType>(value);
  return true;
}

}  // namespace inferrt
