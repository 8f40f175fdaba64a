#include "addon/addon_testing.h"

#include <climits>

#include "addon/convert.h"
#include "addon/errors.h"
#include "builder/timing_cache.h"
#include "plan/plan.h"

namespace inferrt::addon {

namespace {

constexpr int64_t kMaxSafeInteger = (int64_t(1) << 53) - 1;

Napi::Object getObject(const Napi::Value& v, const std::string& what) {
  if (!v.IsObject() || v.IsArray()) badArgument(v.Env(), what, "an object", v);
  return v.As<Napi::Object>();
}

Napi::Array getArray(const Napi::Value& v, const std::string& what) {
  if (!v.IsArray()) badArgument(v.Env(), what, "an array", v);
  return v.As<Napi::Array>();
}

GemmAlgoWords toAlgo(const Napi::Value& v, const std::string& what) {
  GemmAlgoWords algo{};
  if (!gemmAlgoFromHex(toString(v, what), &algo)) badArgument(v.Env(), what, "128 hex digits", v);
  return algo;
}

double toNonNegative(const Napi::Value& v, const std::string& what) {
  if (!v.IsNumber() || !(v.As<Napi::Number>().DoubleValue() >= 0)) badArgument(v.Env(), what, "a number >= 0", v);
  return v.As<Napi::Number>().DoubleValue();
}

// [{ device, arch, cublasLtVersion, gemmKey, algo (hex), timeMs }] <-> TimingCache
TimingCache toTimingCache(const Napi::Value& v, const std::string& what) {
  TimingCache cache;
  Napi::Array list = getArray(v, what);
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const std::string at = what + "[" + std::to_string(i) + "]";
    Napi::Object o = getObject(list.Get(i), at);
    TimingCacheKey key;
    key.device = toString(o.Get("device"), at + ".device");
    key.arch = toString(o.Get("arch"), at + ".arch");
    key.cublasLtVersion = static_cast<uint64_t>(toInt(o.Get("cublasLtVersion"), at + ".cublasLtVersion", 0, kMaxSafeInteger));
    key.gemmKey = toString(o.Get("gemmKey"), at + ".gemmKey");
    TimingCacheEntry entry;
    entry.algo = toAlgo(o.Get("algo"), at + ".algo");
    entry.timeMs = toNonNegative(o.Get("timeMs"), at + ".timeMs");
    cache.put(key, entry);
  }
  return cache;
}

Napi::Array fromTimingCache(Napi::Env env, const TimingCache& cache) {
  Napi::Array list = Napi::Array::New(env, cache.entries().size());
  uint32_t i = 0;
  for (const auto& [key, entry] : cache.entries()) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("device", key.device);
    o.Set("arch", key.arch);
    o.Set("cublasLtVersion", static_cast<double>(key.cublasLtVersion));
    o.Set("gemmKey", key.gemmKey);
    o.Set("algo", gemmAlgoToHex(entry.algo));
    o.Set("timeMs", entry.timeMs);
    list.Set(i++, o);
  }
  return list;
}

// parseTimingCache(text, file) -> entries (sorted by key), as the builder reads a cache file.
Napi::Value parseTimingCacheText(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string text = toString(info[0], "testing.parseTimingCache: text");
  const std::string file = toString(info[1], "testing.parseTimingCache: file");
  return fromTimingCache(env, guard(env, [&] { return parseTimingCache(text, file); }));
}

// serializeTimingCache(entries) -> text, as the builder writes a cache file.
Napi::Value serializeTimingCacheText(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const TimingCache cache = toTimingCache(info[0], "testing.serializeTimingCache: entries");
  return Napi::String::New(env, guard(env, [&] { return serializeTimingCache(cache); }));
}

// updateTimingCacheFile(path, entries): what a CUDA build does with its cache file (read it, missing = empty;
// add what was timed; write it back through a temporary file and a rename). Returns the entries written.
Napi::Value updateTimingCacheFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string path = toString(info[0], "testing.updateTimingCacheFile: path");
  const TimingCache added = toTimingCache(info[1], "testing.updateTimingCacheFile: entries");
  return fromTimingCache(env, guard(env, [&] {
                           TimingCache cache = readTimingCacheFile(path);
                           for (const auto& [key, entry] : added.entries()) cache.put(key, entry);
                           writeTimingCacheFile(path, cache);
                           return cache;
                         }));
}

// planTactics(plan) -> the tactic records of a plan, read (and the whole plan validated) as engines load it.
Napi::Value planTactics(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* data = nullptr;
  size_t size = 0;
  toBytes(info[0], "testing.planTactics: plan", &data, &size);
  const PlanModel plan = guard(env, [&] { return readPlan(data, size); });
  Napi::Array list = Napi::Array::New(env, plan.tactics.size());
  for (size_t i = 0; i < plan.tactics.size(); ++i) {
    const LayerTactic& t = plan.tactics[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("layer", t.layer);
    o.Set("gemmKey", t.gemmKey);
    o.Set("algo", gemmAlgoToHex(t.algo));
    o.Set("cublasLtVersion", static_cast<double>(t.cublasLtVersion));
    o.Set("timeMs", t.timeMs);
    o.Set("description", t.description);
    list.Set(static_cast<uint32_t>(i), o);
  }
  return list;
}

// withPlanTactics(plan, records) -> the plan re-written by the plan writer with these tactic records (as given:
// the writer does not check them, so tests can make plans the reader must reject).
Napi::Value withPlanTactics(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* data = nullptr;
  size_t size = 0;
  toBytes(info[0], "testing.withPlanTactics: plan", &data, &size);
  PlanModel plan = guard(env, [&] { return readPlan(data, size); });
  Napi::Array list = getArray(info[1], "testing.withPlanTactics: tactics");
  plan.tactics.clear();
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const std::string at = "testing.withPlanTactics: tactics[" + std::to_string(i) + "]";
    Napi::Object o = getObject(list.Get(i), at);
    LayerTactic t;
    t.layer = static_cast<uint32_t>(toInt(o.Get("layer"), at + ".layer", 0, UINT32_MAX));
    t.gemmKey = toString(o.Get("gemmKey"), at + ".gemmKey");
    t.algo = toAlgo(o.Get("algo"), at + ".algo");
    t.cublasLtVersion = static_cast<uint64_t>(toInt(o.Get("cublasLtVersion"), at + ".cublasLtVersion", 0, kMaxSafeInteger));
    t.timeMs = toNonNegative(o.Get("timeMs"), at + ".timeMs");
    t.description = toString(o.Get("description"), at + ".description");
    plan.tactics.push_back(std::move(t));
  }
  const std::vector<uint8_t> bytes = guard(env, [&] { return writePlan(plan); });
  return fromBytes(env, bytes.data(), bytes.size());
}

// planSparsity(plan) -> the sparsity records of a plan, read (and the whole plan validated) as engines load it.
Napi::Value planSparsity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* data = nullptr;
  size_t size = 0;
  toBytes(info[0], "testing.planSparsity: plan", &data, &size);
  const PlanModel plan = guard(env, [&] { return readPlan(data, size); });
  Napi::Array list = Napi::Array::New(env, plan.sparsity.size());
  for (size_t i = 0; i < plan.sparsity.size(); ++i) {
    const LayerSparsity& s = plan.sparsity[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("layer", s.layer);
    o.Set("eligible", s.eligible);
    o.Set("sparse", s.sparse);
    o.Set("anyShape", s.anyShape);
    o.Set("note", s.note);
    o.Set("denseMs", s.denseMs);
    o.Set("sparseMs", s.sparseMs);
    o.Set("gemmKey", s.gemmKey);
    o.Set("cusparseLtVersion", static_cast<double>(s.cusparseLtVersion));
    o.Set("algConfigId", s.algConfigId);
    o.Set("splitK", s.splitK);
    o.Set("splitKMode", s.splitKMode);
    o.Set("splitKBuffers", s.splitKBuffers);
    o.Set("compressed", fromBytes(env, s.compressed.data(), s.compressed.size()));
    list.Set(static_cast<uint32_t>(i), o);
  }
  return list;
}

// withPlanSparsity(plan, records) -> the plan re-written by the plan writer with these sparsity records (as given:
// the writer does not check them, so tests can make plans the reader must reject).
Napi::Value withPlanSparsity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* data = nullptr;
  size_t size = 0;
  toBytes(info[0], "testing.withPlanSparsity: plan", &data, &size);
  PlanModel plan = guard(env, [&] { return readPlan(data, size); });
  Napi::Array list = getArray(info[1], "testing.withPlanSparsity: records");
  plan.sparsity.clear();
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const std::string at = "testing.withPlanSparsity: records[" + std::to_string(i) + "]";
    Napi::Object o = getObject(list.Get(i), at);
    LayerSparsity s;
    s.layer = static_cast<uint32_t>(toInt(o.Get("layer"), at + ".layer", 0, UINT32_MAX));
    s.eligible = toBool(o.Get("eligible"), at + ".eligible");
    s.sparse = toBool(o.Get("sparse"), at + ".sparse");
    if (o.Has("anyShape")) s.anyShape = toBool(o.Get("anyShape"), at + ".anyShape");
    s.note = toString(o.Get("note"), at + ".note");
    s.denseMs = toNonNegative(o.Get("denseMs"), at + ".denseMs");
    s.sparseMs = toNonNegative(o.Get("sparseMs"), at + ".sparseMs");
    s.gemmKey = toString(o.Get("gemmKey"), at + ".gemmKey");
    s.cusparseLtVersion = static_cast<uint64_t>(toInt(o.Get("cusparseLtVersion"), at + ".cusparseLtVersion", 0, kMaxSafeInteger));
    s.algConfigId = static_cast<int32_t>(toInt(o.Get("algConfigId"), at + ".algConfigId", INT32_MIN, INT32_MAX));
    s.splitK = static_cast<int32_t>(toInt(o.Get("splitK"), at + ".splitK", INT32_MIN, INT32_MAX));
    s.splitKMode = static_cast<int32_t>(toInt(o.Get("splitKMode"), at + ".splitKMode", INT32_MIN, INT32_MAX));
    s.splitKBuffers = static_cast<int32_t>(toInt(o.Get("splitKBuffers"), at + ".splitKBuffers", INT32_MIN, INT32_MAX));
    const uint8_t* bytes = nullptr;
    size_t n = 0;
    toBytes(o.Get("compressed"), at + ".compressed", &bytes, &n);
    s.compressed.assign(bytes, bytes + n);
    plan.sparsity.push_back(std::move(s));
  }
  const std::vector<uint8_t> bytes = guard(env, [&] { return writePlan(plan); });
  return fromBytes(env, bytes.data(), bytes.size());
}

// planCudnnChoices(plan) -> the cuDNN plan choices of a plan ({cudnnVersion, device, entries}), read (and the whole
// plan validated) as engines load it.
Napi::Value planCudnnChoices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* data = nullptr;
  size_t size = 0;
  toBytes(info[0], "testing.planCudnnChoices: plan", &data, &size);
  const PlanModel plan = guard(env, [&] { return readPlan(data, size); });
  const CudnnChoices& c = plan.cudnnChoices;
  Napi::Object out = Napi::Object::New(env);
  out.Set("cudnnVersion", static_cast<double>(c.cudnnVersion));
  out.Set("device", c.device);
  Napi::Array entries = Napi::Array::New(env, c.entries.size());
  for (size_t i = 0; i < c.entries.size(); ++i) {
    const CudnnChoice& e = c.entries[i];
    Napi::Object o = Napi::Object::New(env);
    Napi::Array problem = Napi::Array::New(env, e.problem.size());
    for (size_t w = 0; w < e.problem.size(); ++w) problem.Set(static_cast<uint32_t>(w), static_cast<double>(e.problem[w]));
    o.Set("problem", problem);
    o.Set("configIndex", static_cast<double>(e.configIndex));
    o.Set("configCount", static_cast<double>(e.configCount));
    o.Set("json", e.json);
    entries.Set(static_cast<uint32_t>(i), o);
  }
  out.Set("entries", entries);
  return out;
}

// withPlanCudnnChoices(plan, choices) -> the plan re-written by the plan writer with these cuDNN plan choices (as
// given: the writer does not check them, so tests can make plans the reader must reject).
Napi::Value withPlanCudnnChoices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* data = nullptr;
  size_t size = 0;
  toBytes(info[0], "testing.withPlanCudnnChoices: plan", &data, &size);
  PlanModel plan = guard(env, [&] { return readPlan(data, size); });
  Napi::Object choices = getObject(info[1], "testing.withPlanCudnnChoices: choices");
  CudnnChoices& c = plan.cudnnChoices;
  c.cudnnVersion = static_cast<uint64_t>(toInt(choices.Get("cudnnVersion"), "testing.withPlanCudnnChoices: cudnnVersion", 0, kMaxSafeInteger));
  c.device = toString(choices.Get("device"), "testing.withPlanCudnnChoices: device");
  Napi::Array list = getArray(choices.Get("entries"), "testing.withPlanCudnnChoices: entries");
  c.entries.clear();
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const std::string at = "testing.withPlanCudnnChoices: entries[" + std::to_string(i) + "]";
    Napi::Object o = getObject(list.Get(i), at);
    CudnnChoice e;
    Napi::Array problem = getArray(o.Get("problem"), at + ".problem");
    for (uint32_t w = 0; w < problem.Length(); ++w)
      e.problem.push_back(toInt(problem.Get(w), at + ".problem", -kMaxSafeInteger, kMaxSafeInteger));
    e.configIndex = static_cast<uint64_t>(toInt(o.Get("configIndex"), at + ".configIndex", 0, kMaxSafeInteger));
    e.configCount = static_cast<uint64_t>(toInt(o.Get("configCount"), at + ".configCount", 0, kMaxSafeInteger));
    e.json = toString(o.Get("json"), at + ".json");
    c.entries.push_back(std::move(e));
  }
  const std::vector<uint8_t> bytes = guard(env, [&] { return writePlan(plan); });
  return fromBytes(env, bytes.data(), bytes.size());
}

}  // namespace

Napi::Object testingExports(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("parseTimingCache", Napi::Function::New<parseTimingCacheText>(env, "parseTimingCache"));
  o.Set("serializeTimingCache", Napi::Function::New<serializeTimingCacheText>(env, "serializeTimingCache"));
  o.Set("updateTimingCacheFile", Napi::Function::New<updateTimingCacheFile>(env, "updateTimingCacheFile"));
  o.Set("planTactics", Napi::Function::New<planTactics>(env, "planTactics"));
  o.Set("withPlanTactics", Napi::Function::New<withPlanTactics>(env, "withPlanTactics"));
  o.Set("planSparsity", Napi::Function::New<planSparsity>(env, "planSparsity"));
  o.Set("withPlanSparsity", Napi::Function::New<withPlanSparsity>(env, "withPlanSparsity"));
  o.Set("planCudnnChoices", Napi::Function::New<planCudnnChoices>(env, "planCudnnChoices"));
  o.Set("withPlanCudnnChoices", Napi::Function::New<withPlanCudnnChoices>(env, "withPlanCudnnChoices"));
  return o;
}

}  // namespace inferrt::addon
