// JS <-> core value conversion. Every reader names the argument it reads in its error, e.g.
// "addInput: dims[2] must be an integer >= -1, got 1.5" (INVALID_ARGUMENT).
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

#include "builder/build_config.h"
#include "ir/attributes.h"
#include "ir/tensor.h"

namespace inferrt::addon {

// "1.5", "'abc'", "undefined", "null", "an object", "an array", "a function", "true", "a bigint 5".
std::string describe(const Napi::Value& v);
[[noreturn]] void badArgument(const Napi::Env& env, const std::string& what, const std::string& expected, const Napi::Value& got);

std::string toString(const Napi::Value& v, const std::string& what);
bool toBool(const Napi::Value& v, const std::string& what);
// An integral number (or bigint) in [lo, hi].
int64_t toInt(const Napi::Value& v, const std::string& what, int64_t lo, int64_t hi);
// An array of integers each in [lo, hi].
std::vector<int64_t> toIntList(const Napi::Value& v, const std::string& what, int64_t lo, int64_t hi);
// An array of at most 64 integers each >= minDim.
Dims toDims(const Napi::Value& v, const std::string& what, int64_t minDim);
DType toDType(const Napi::Value& v, const std::string& what);
// Bytes of a Uint8Array (or any ArrayBufferView): pointer and length into JS memory (valid for this call only).
void toBytes(const Napi::Value& v, const std::string& what, const uint8_t** data, size_t* size);
Attributes toAttributes(const Napi::Value& v, const std::string& what);
BuildConfig toBuildConfig(const Napi::Value& v, const std::string& what);

Napi::Array fromDims(Napi::Env env, const Dims& dims);
Napi::Value fromAttributes(Napi::Env env, const Attributes& attrs);
Napi::Object fromShapeRange(Napi::Env env, const ShapeRange& range);
// A copy of the bytes as a new Uint8Array.
Napi::Uint8Array fromBytes(Napi::Env env, const void* data, size_t size);
// { dtype, dims, data: Uint8Array } (a copy: tensor storage may be shared with engine weights).
Napi::Object fromTensor(Napi::Env env, const Tensor& t);
// The same for a result the caller hands over: no copy when nothing else shares its bytes.
Napi::Object fromTensor(Napi::Env env, const TensorPtr& t);

}  // namespace inferrt::addon
