#include "addon/addon_int8.h"

#include <memory>
#include <string>

#include "addon/convert.h"
#include "addon/errors.h"
#include "int8/amax_histogram.h"
#include "int8/calibration_thresholds.h"

namespace inferrt::addon {

namespace {

double toNumber(const Napi::Value& v, const std::string& what) {
  if (!v.IsNumber()) badArgument(v.Env(), what, "a number", v);
  return v.As<Napi::Number>().DoubleValue();
}

// A Float64Array's elements (valid for this call only).
Napi::TypedArrayOf<double> toCounts(const Napi::Value& v, const std::string& what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    badArgument(v.Env(), what, "a Float64Array", v);
  return v.As<Napi::TypedArrayOf<double>>();
}

class AmaxHistogramWrap : public Napi::ObjectWrap<AmaxHistogramWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "NativeAmaxHistogram",
                       {
                           InstanceMethod<&AmaxHistogramWrap::add>("add"),
                           InstanceMethod<&AmaxHistogramWrap::counts>("counts"),
                           InstanceMethod<&AmaxHistogramWrap::summary>("summary"),
                           InstanceMethod<&AmaxHistogramWrap::dispose>("dispose"),
                       });
  }

  // new AmaxHistogram(bins, initialRange)
  explicit AmaxHistogramWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AmaxHistogramWrap>(info) {
    Napi::Env env = info.Env();
    const auto bins = static_cast<size_t>(toInt(info[0], "AmaxHistogram: bins", 1, static_cast<int64_t>(AmaxHistogram::kMaxBins)));
    const double initialRange = toNumber(info[1], "AmaxHistogram: initialRange");
    hist_ = guard(env, [&] { return std::make_unique<AmaxHistogram>(bins, initialRange); });
  }

 private:
  // The histogram, or DISPOSED once dispose() released its bins (up to 2^24 counts: 128 MiB).
  AmaxHistogram& live(Napi::Env env) {
    if (!hist_) throw makeError(env, ErrorCode::Disposed, "AmaxHistogram has been disposed");
    return *hist_;
  }

  Napi::Value dispose(const Napi::CallbackInfo& info) {
    hist_.reset();
    return info.Env().Undefined();
  }

  // add(data: Float32Array | Uint16Array (fp16 bits))
  Napi::Value add(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const Napi::Value v = info[0];
    if (v.IsTypedArray()) {
      const napi_typedarray_type type = v.As<Napi::TypedArray>().TypedArrayType();
      if (type == napi_float32_array) {
        Napi::Float32Array a = v.As<Napi::Float32Array>();
        live(env).addFloat32(a.Data(), a.ElementLength());
        return env.Undefined();
      }
      if (type == napi_uint16_array) {
        Napi::Uint16Array a = v.As<Napi::Uint16Array>();
        live(env).addFloat16(a.Data(), a.ElementLength());
        return env.Undefined();
      }
    }
    badArgument(env, "AmaxHistogram.add: data", "a Float32Array or a Uint16Array of float16 bits", v);
  }

  Napi::Value counts(const Napi::CallbackInfo& info) {
    const std::vector<uint64_t>& c = live(info.Env()).counts();
    Napi::Float64Array out = Napi::Float64Array::New(info.Env(), c.size());
    for (size_t j = 0; j < c.size(); ++j) out[j] = static_cast<double>(c[j]);
    return out;
  }

  Napi::Value summary(const Napi::CallbackInfo& info) {
    const AmaxHistogram& h = live(info.Env());
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("bins", static_cast<double>(h.bins()));
    o.Set("range", h.range());
    o.Set("binWidth", h.binWidth());
    o.Set("maxAbs", h.maxAbs());
    o.Set("count", static_cast<double>(h.count()));
    o.Set("nanCount", static_cast<double>(h.nanCount()));
    o.Set("infCount", static_cast<double>(h.infCount()));
    return o;
  }

  std::unique_ptr<AmaxHistogram> hist_;
};

// entropyThreshold(counts: Float64Array, binWidth, quantBins)
Napi::Value entropyThresholdJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::TypedArrayOf<double> counts = toCounts(info[0], "entropyThreshold: counts");
  const double binWidth = toNumber(info[1], "entropyThreshold: binWidth");
  const int quantBins = static_cast<int>(toInt(info[2], "entropyThreshold: quantBins", 1, 1 << 24));
  return Napi::Number::New(env, guard(env, [&] { return entropyThreshold(counts.Data(), counts.ElementLength(), binWidth, quantBins); }));
}

// percentileThreshold(counts: Float64Array, binWidth, percentile)
Napi::Value percentileThresholdJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::TypedArrayOf<double> counts = toCounts(info[0], "percentileThreshold: counts");
  const double binWidth = toNumber(info[1], "percentileThreshold: binWidth");
  const double percentile = toNumber(info[2], "percentileThreshold: percentile");
  return Napi::Number::New(env, guard(env, [&] { return percentileThreshold(counts.Data(), counts.ElementLength(), binWidth, percentile); }));
}

Napi::Value minMaxThresholdJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double maxAbs = toNumber(info[0], "minMaxThreshold: maxAbs");
  return Napi::Number::New(env, guard(env, [&] { return minMaxThreshold(maxAbs); }));
}

}  // namespace

Napi::Object int8Exports(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("AmaxHistogram", AmaxHistogramWrap::define(env));
  o.Set("entropyThreshold", Napi::Function::New<entropyThresholdJs>(env, "entropyThreshold"));
  o.Set("percentileThreshold", Napi::Function::New<percentileThresholdJs>(env, "percentileThreshold"));
  o.Set("minMaxThreshold", Napi::Function::New<minMaxThresholdJs>(env, "minMaxThreshold"));
  return o;
}

}  // namespace inferrt::addon
