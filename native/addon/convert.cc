#include "addon/convert.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "addon/errors.h"

namespace inferrt::addon {

namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;

bool isIntegral(double d) { return std::isfinite(d) && std::floor(d) == d; }

std::string formatNumber(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (isIntegral(d) && std::fabs(d) <= kMaxSafeInteger) return std::to_string(static_cast<int64_t>(d));
  char buf[32];
  // Shortest form that reads back the same (1.5, not 1.50000000000000000).
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  return buf;
}

Napi::Value fromInt64(Napi::Env env, int64_t v) {
  if (std::fabs(static_cast<double>(v)) <= kMaxSafeInteger) return Napi::Number::New(env, static_cast<double>(v));
  return Napi::BigInt::New(env, v);
}

// One attribute value: integral numbers and bigints become int64, other numbers double, arrays ints or floats.
AttrValue toAttrValue(const Napi::Value& v, const std::string& what) {
  if (v.IsString()) return v.As<Napi::String>().Utf8Value();
  if (v.IsNumber() || v.IsBigInt()) {
    if (v.IsBigInt()) return toInt(v, what, INT64_MIN, INT64_MAX);
    const double d = v.As<Napi::Number>().DoubleValue();
    if (isIntegral(d) && std::fabs(d) <= kMaxSafeInteger) return static_cast<int64_t>(d);
    return d;
  }
  if (v.IsArray()) {
    Napi::Array a = v.As<Napi::Array>();
    std::vector<int64_t> ints;
    std::vector<double> floats;
    bool anyFloat = false;
    for (uint32_t i = 0; i < a.Length(); ++i) {
      Napi::Value e = a.Get(i);
      const std::string item = what + "[" + std::to_string(i) + "]";
      if (e.IsBigInt()) {
        ints.push_back(toInt(e, item, INT64_MIN, INT64_MAX));
        floats.push_back(static_cast<double>(ints.back()));
      } else if (e.IsNumber()) {
        const double d = e.As<Napi::Number>().DoubleValue();
        const bool integral = isIntegral(d) && std::fabs(d) <= kMaxSafeInteger;
        anyFloat = anyFloat || !integral;
        ints.push_back(integral ? static_cast<int64_t>(d) : 0);
        floats.push_back(d);
      } else {
        badArgument(v.Env(), item, "a number or bigint", e);
      }
    }
    if (anyFloat) return floats;
    return ints;
  }
  badArgument(v.Env(), what, "a number, bigint, string or array of numbers", v);
}

}  // namespace

std::string describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsNumber()) return formatNumber(v.As<Napi::Number>().DoubleValue());
  if (v.IsString()) return "'" + v.As<Napi::String>().Utf8Value() + "'";
  if (v.IsBigInt()) {
    bool lossless = false;
    const int64_t x = v.As<Napi::BigInt>().Int64Value(&lossless);
    return lossless ? std::to_string(x) + "n" : "a bigint out of int64 range";
  }
  if (v.IsArray()) return "an array";
  if (v.IsTypedArray()) return "a typed array";
  if (v.IsFunction()) return "a function";
  return "an object";
}

void badArgument(const Napi::Env& env, const std::string& what, const std::string& expected, const Napi::Value& got) {
  throw makeError(env, ErrorCode::InvalidArgument, what + " must be " + expected + ", got " + describe(got));
}

std::string toString(const Napi::Value& v, const std::string& what) {
  if (!v.IsString()) badArgument(v.Env(), what, "a string", v);
  return v.As<Napi::String>().Utf8Value();
}

bool toBool(const Napi::Value& v, const std::string& what) {
  if (!v.IsBoolean()) badArgument(v.Env(), what, "a boolean", v);
  return v.As<Napi::Boolean>().Value();
}

int64_t toInt(const Napi::Value& v, const std::string& what, int64_t lo, int64_t hi) {
  const std::string expected = "an integer" + (lo == INT64_MIN ? std::string() : " >= " + std::to_string(lo)) +
                               (hi == INT64_MAX ? std::string() : (lo == INT64_MIN ? " <= " : " and <= ") + std::to_string(hi));
  int64_t x = 0;
  if (v.IsBigInt()) {
    bool lossless = false;
    x = v.As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless) badArgument(v.Env(), what, expected, v);
  } else if (v.IsNumber()) {
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!isIntegral(d) || std::fabs(d) > kMaxSafeInteger) badArgument(v.Env(), what, expected, v);
    x = static_cast<int64_t>(d);
  } else {
    badArgument(v.Env(), what, expected, v);
  }
  if (x < lo || x > hi) badArgument(v.Env(), what, expected, v);
  return x;
}

std::vector<int64_t> toIntList(const Napi::Value& v, const std::string& what, int64_t lo, int64_t hi) {
  if (!v.IsArray()) badArgument(v.Env(), what, "an array of integers", v);
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) out[i] = toInt(a.Get(i), what + "[" + std::to_string(i) + "]", lo, hi);
  return out;
}

Dims toDims(const Napi::Value& v, const std::string& what, int64_t minDim) {
  if (v.IsArray() && v.As<Napi::Array>().Length() > 64)
    throw makeError(v.Env(), ErrorCode::InvalidArgument,
                    what + " has " + std::to_string(v.As<Napi::Array>().Length()) + " dims; at most 64 are supported");
  return toIntList(v, what, minDim, INT64_MAX);
}

DType toDType(const Napi::Value& v, const std::string& what) {
  DType t;
  const int64_t code = toInt(v, what, 0, kNumDTypes - 1);
  dtypeFromInt(code, &t);
  return t;
}

void toBytes(const Napi::Value& v, const std::string& what, const uint8_t** data, size_t* size) {
  if (v.IsTypedArray()) {
    Napi::TypedArray t = v.As<Napi::TypedArray>();
    *data = static_cast<const uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
    *size = t.ByteLength();
  } else if (v.IsDataView()) {
    Napi::DataView d = v.As<Napi::DataView>();
    *data = static_cast<const uint8_t*>(d.ArrayBuffer().Data()) + d.ByteOffset();
    *size = d.ByteLength();
  } else {
    badArgument(v.Env(), what, "a Uint8Array", v);
  }
  if (*size == 0) *data = nullptr;
}

Attributes toAttributes(const Napi::Value& v, const std::string& what) {
  Attributes attrs;
  if (v.IsUndefined() || v.IsNull()) return attrs;
  if (!v.IsObject() || v.IsArray() || v.IsFunction()) badArgument(v.Env(), what, "an object of attributes", v);
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string key = keys.Get(i).ToString().Utf8Value();
    Napi::Value value = o.Get(key);
    if (value.IsUndefined()) continue;  // { alpha: undefined } means "not given"
    attrs.set(key, toAttrValue(value, what + "." + key));
  }
  return attrs;
}

// Tensor name -> INT8 scale: each a finite float32 > 0 (a calibration cache's value).
static std::map<std::string, float> toInt8Scales(const Napi::Value& v, const std::string& what) {
  if (!v.IsObject() || v.IsArray() || v.IsFunction()) badArgument(v.Env(), what, "an object mapping tensor names to scales", v);
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array names = o.GetPropertyNames();
  std::map<std::string, float> scales;
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).ToString().Utf8Value();
    Napi::Value s = o.Get(name);
    const float scale = s.IsNumber() ? static_cast<float>(s.As<Napi::Number>().DoubleValue()) : 0.0f;
    if (!s.IsNumber() || !std::isfinite(scale) || !(scale > 0))
      badArgument(v.Env(), what + "['" + name + "']", "a finite scale > 0", s);
    scales[name] = scale;
  }
  return scales;
}

// The packed-sequence bounds, all resolved by lib/config.ts (every field present, opt <= max).
PackedSequenceOptions toPackedOptions(const Napi::Value& v, const std::string& what) {
  if (!v.IsObject() || v.IsArray()) badArgument(v.Env(), what, "an object", v);
  Napi::Object o = v.As<Napi::Object>();
  auto field = [&](const char* key, int64_t min) { return toInt(o.Get(key), what + "." + key, min, INT32_MAX); };
  PackedSequenceOptions p;
  p.maxSeqLen = field("maxSequenceLength", 1);
  p.maxBatch = field("maxBatch", 1);
  p.maxTokens = field("maxTokens", 1);
  p.optTokens = field("optTokens", 1);
  p.optBatch = field("optBatch", 1);
  if (p.optTokens > p.maxTokens || p.optBatch > p.maxBatch)
    badArgument(v.Env(), what, "optTokens <= maxTokens and optBatch <= maxBatch", v);
  return p;
}

BuildConfig toBuildConfig(const Napi::Value& v, const std::string& what) {
  if (!v.IsObject() || v.IsArray()) badArgument(v.Env(), what, "an object", v);
  Napi::Object o = v.As<Napi::Object>();
  BuildConfig c;
  auto flag = [&](const char* key, bool& out) {
    if (o.Has(key) && !o.Get(key).IsUndefined()) out = toBool(o.Get(key), what + "." + key);
  };
  flag("fp16", c.fp16);
  flag("int8", c.int8);
  flag("tf32", c.tf32);
  flag("sparseWeights", c.sparseWeights);
  flag("sparseForce", c.sparseForce);
  flag("approximateGelu", c.approximateGelu);
  flag("tacticTiming", c.tacticTiming);
  if (o.Has("timingCache") && !o.Get("timingCache").IsUndefined()) {
    c.timingCache = toString(o.Get("timingCache"), what + ".timingCache");
    if (c.timingCache.empty() || c.timingCache.find('\0') != std::string::npos)
      badArgument(v.Env(), what + ".timingCache", "a non-empty file path", o.Get("timingCache"));
  }
  if (o.Has("workspaceBytes") && !o.Get("workspaceBytes").IsUndefined())
    c.workspaceBytes = static_cast<uint64_t>(toInt(o.Get("workspaceBytes"), what + ".workspaceBytes", 0, INT64_MAX));
  if (o.Has("backend") && !o.Get("backend").IsUndefined()) c.backend = toString(o.Get("backend"), what + ".backend");
  if (o.Has("channelsLast") && !o.Get("channelsLast").IsUndefined()) {
    const Napi::Value v = o.Get("channelsLast");
    if (v.IsBoolean()) c.channelsLast = v.As<Napi::Boolean>().Value() ? ChannelsLast::On : ChannelsLast::Off;
    else if (v.IsString() && v.As<Napi::String>().Utf8Value() == "auto") c.channelsLast = ChannelsLast::Auto;
    else badArgument(v.Env(), what + ".channelsLast", "true, false or 'auto'", v);
  }
  if (o.Has("int8Scales") && !o.Get("int8Scales").IsUndefined()) c.int8Scales = toInt8Scales(o.Get("int8Scales"), what + ".int8Scales");
  if (o.Has("packedSequences") && !o.Get("packedSequences").IsUndefined()) c.packed = toPackedOptions(o.Get("packedSequences"), what + ".packedSequences");
  if (!o.Has("profiles") || o.Get("profiles").IsUndefined()) return c;
  Napi::Value profiles = o.Get("profiles");
  if (!profiles.IsArray()) badArgument(v.Env(), what + ".profiles", "an array", profiles);
  Napi::Array list = profiles.As<Napi::Array>();
  for (uint32_t p = 0; p < list.Length(); ++p) {
    const std::string pw = what + ".profiles[" + std::to_string(p) + "]";
    Napi::Value entry = list.Get(p);
    if (!entry.IsObject() || entry.IsArray()) badArgument(v.Env(), pw, "an object mapping input names to ranges", entry);
    Napi::Object po = entry.As<Napi::Object>();
    Napi::Array names = po.GetPropertyNames();
    OptimizationProfile profile;
    for (uint32_t i = 0; i < names.Length(); ++i) {
      const std::string name = names.Get(i).ToString().Utf8Value();
      const std::string rw = pw + "." + name;
      Napi::Value range = po.Get(name);
      if (!range.IsObject() || range.IsArray()) badArgument(v.Env(), rw, "an object { min, opt, max }", range);
      Napi::Object r = range.As<Napi::Object>();
      profile[name] = ShapeRange{toDims(r.Get("min"), rw + ".min", 0), toDims(r.Get("opt"), rw + ".opt", 0),
                                 toDims(r.Get("max"), rw + ".max", 0)};
    }
    c.profiles.push_back(std::move(profile));
  }
  return c;
}

Napi::Array fromDims(Napi::Env env, const Dims& dims) {
  Napi::Array a = Napi::Array::New(env, dims.size());
  for (size_t i = 0; i < dims.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(dims[i])));
  return a;
}

Napi::Value fromAttributes(Napi::Env env, const Attributes& attrs) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& [key, value] : attrs.all()) {
    if (auto p = std::get_if<int64_t>(&value)) {
      o.Set(key, fromInt64(env, *p));
    } else if (auto d = std::get_if<double>(&value)) {
      o.Set(key, Napi::Number::New(env, *d));
    } else if (auto s = std::get_if<std::string>(&value)) {
      o.Set(key, Napi::String::New(env, *s));
    } else if (auto ints = std::get_if<std::vector<int64_t>>(&value)) {
      Napi::Array a = Napi::Array::New(env, ints->size());
      for (size_t i = 0; i < ints->size(); ++i) a.Set(static_cast<uint32_t>(i), fromInt64(env, (*ints)[i]));
      o.Set(key, a);
    } else {
      const auto& floats = std::get<std::vector<double>>(value);
      Napi::Array a = Napi::Array::New(env, floats.size());
      for (size_t i = 0; i < floats.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, floats[i]));
      o.Set(key, a);
    }
  }
  return o;
}

Napi::Object fromShapeRange(Napi::Env env, const ShapeRange& range) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("min", fromDims(env, range.min));
  o.Set("opt", fromDims(env, range.opt));
  o.Set("max", fromDims(env, range.max));
  return o;
}

Napi::Uint8Array fromBytes(Napi::Env env, const void* data, size_t size) {
  Napi::Uint8Array a = Napi::Uint8Array::New(env, size);
  if (size) std::memcpy(a.Data(), data, size);
  return a;
}

Napi::Object fromTensor(Napi::Env env, const TensorPtr& t) {
  // A result no one else holds is handed to JS as is (an external ArrayBuffer that keeps the tensor alive):
  // large outputs are not copied on the main thread. Shared bytes (an engine constant, say) are copied.
  if (!t->ownsStorageAlone() || t->byteSize() == 0) return fromTensor(env, *t);
  auto* keep = new TensorPtr(t);
  const int64_t bytes = static_cast<int64_t>(t->byteSize());
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
      env, const_cast<void*>(t->raw()), t->byteSize(),
      [bytes](Napi::Env finalizing, void*, TensorPtr* held) {
        delete held;
        Napi::MemoryManagement::AdjustExternalMemory(finalizing, -bytes);
      },
      keep);
  // V8 learns about the bytes it now keeps alive, so it collects them as promptly as its own.
  Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
  Napi::Object o = Napi::Object::New(env);
  o.Set("dtype", Napi::Number::New(env, static_cast<int>(t->dtype())));
  o.Set("dims", fromDims(env, t->dims()));
  o.Set("data", Napi::Uint8Array::New(env, t->byteSize(), buffer, 0));
  return o;
}

Napi::Object fromTensor(Napi::Env env, const Tensor& t) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("dtype", Napi::Number::New(env, static_cast<int>(t.dtype())));
  o.Set("dims", fromDims(env, t.dims()));
  o.Set("data", fromBytes(env, t.byteSize() ? t.raw() : nullptr, t.byteSize()));
  return o;
}

}  // namespace inferrt::addon
