// Element types of tensors. Values are part of the plan format and the JS API: never reuse one.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace inferrt {

enum class DType : int32_t {
  Float32 = 0,
  Float16 = 1,
  Int8 = 2,
  UInt8 = 3,
  Int32 = 4,
  Int64 = 5,
  Bool = 6,
};

constexpr int kNumDTypes = 7;

size_t dtypeSize(DType t);
const char* dtypeName(DType t);        // "float32", "float16", ... (the JS names)
bool dtypeFromName(const std::string& name, DType* out);
bool dtypeFromInt(int64_t value, DType* out);  // validates a value read from JS or a plan
inline bool isFloat(DType t) { return t == DType::Float32 || t == DType::Float16; }
inline bool isInteger(DType t) {
  return t == DType::Int8 || t == DType::UInt8 || t == DType::Int32 || t == DType::Int64;
}

}  // namespace inferrt
