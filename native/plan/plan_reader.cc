// Parses plan bytes. Trusts nothing: every length is checked against what is left, every index and code is
// validated, and the graph is re-checked (plan_validation.cc) so a crafted plan with a valid checksum still
// cannot drive a kernel out of bounds.
#include <cmath>
#include <cstring>
#include <map>
#include <new>
#include <set>

#include "ir/error.h"
#include "ir/gemm_layers.h"
#include "plan/byte_io.h"
#include "plan/crc32.h"
#include "plan/plan.h"
#include "plan/sections.h"

namespace inferrt {

using namespace plan_sections;

namespace {

std::string printableTag(const uint8_t* p) {
  std::string s;
  for (int i = 0; i < 4; ++i) {
    if (p[i] >= 0x20 && p[i] < 0x7f) {
      s += static_cast<char>(p[i]);
    } else {
      static const char* hex = "0123456789abcdef";
      s += "\\x";
      s += hex[p[i] >> 4];
      s += hex[p[i] & 15];
    }
  }
  return s;
}

struct WeightRef {
  uint32_t tensor;
  const uint8_t* data;
  uint64_t size;
  size_t offset;
};

struct RawPlan {
  std::vector<TensorInfo> tensors;
  std::vector<Layer> layers;
  std::vector<WeightRef> weights;
  std::vector<int> inputs, outputs;
  BuildConfig config;
  std::vector<LayerTactic> tactics;
  std::vector<LayerSparsity> sparsity;
  CudnnChoices cudnnChoices;
};

void readTensors(ByteReader& r, RawPlan& plan) {
  const uint32_t n = r.count(14, "tensors");
  plan.tensors.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    TensorInfo& t = plan.tensors[i];
    t.name = r.str();
    const size_t at = r.offset();
    const uint8_t dtype = r.u8();
    if (!dtypeFromInt(dtype, &t.dtype))
      fail(ErrorCode::BadPlan, "corrupt ", r.where(), " at offset ", at, ": tensor '", t.name, "' has unknown dtype code ", int{dtype});
    t.dims = r.dims();
    const uint8_t flags = r.u8();
    t.isInput = flags & kFlagInput;
    t.isOutput = flags & kFlagOutput;
    t.isConstant = flags & kFlagConstant;
    t.producer = r.i32();
  }
}

AttrValue readAttr(ByteReader& r, const std::string& key) {
  const size_t at = r.offset();
  const uint8_t type = r.u8();
  switch (type) {
    case kAttrInt: return r.i64();
    case kAttrFloat: return r.f64();
    case kAttrString: return r.str();
    case kAttrInts: {
      std::vector<int64_t> v(r.count(8, "ints"));
      for (int64_t& x : v) x = r.i64();
      return v;
    }
    case kAttrFloats: {
      std::vector<double> v(r.count(8, "floats"));
      for (double& x : v) x = r.f64();
      return v;
    }
  }
  fail(ErrorCode::BadPlan, "corrupt ", r.where(), " at offset ", at, ": attribute '", key, "' has unknown type ", int{type});
}

void readLayers(ByteReader& r, RawPlan& plan) {
  const uint32_t n = r.count(21, "layers");
  plan.layers.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    Layer& l = plan.layers[i];
    l.kind = r.str();
    l.name = r.str();
    l.inputs.resize(r.count(4, "layer inputs"));
    for (int& t : l.inputs) t = r.i32();
    l.outputs.resize(r.count(4, "layer outputs"));
    for (int& t : l.outputs) t = r.i32();
    const size_t at = r.offset();
    const uint8_t precision = r.u8();
    if (precision > static_cast<uint8_t>(LayerPrecision::Int8))
      fail(ErrorCode::BadPlan, "corrupt ", r.where(), " at offset ", at, ": layer '", l.name, "' has precision code ", int{precision});
    l.precision = static_cast<LayerPrecision>(precision);
    const uint32_t attrs = r.count(5, "attributes");
    for (uint32_t a = 0; a < attrs; ++a) {
      std::string key = r.str();
      AttrValue value = readAttr(r, key);
      l.attrs.set(key, std::move(value));
    }
  }
}

void readWeights(ByteReader& r, RawPlan& plan) {
  const uint32_t n = r.count(12, "weight tensors");
  for (uint32_t i = 0; i < n; ++i) {
    WeightRef w;
    w.tensor = r.u32();
    w.size = r.u64();
    w.offset = r.offset();
    if (w.size > r.remaining())
      fail(ErrorCode::BadPlan, "truncated in ", r.where(), " at offset ", w.offset, ": weights of ", w.size, " bytes, ",
           r.remaining(), " left");
    w.data = r.bytes(static_cast<size_t>(w.size));
    plan.weights.push_back(w);
  }
}

void readIO(ByteReader& r, RawPlan& plan) {
  for (std::vector<int>* list : {&plan.inputs, &plan.outputs}) {
    list->resize(r.count(4, "tensor indices"));
    for (int& t : *list) {
      const uint32_t v = r.u32();
      t = v < plan.tensors.size() ? static_cast<int>(v) : -1;  // validate() rejects -1
    }
  }
}

void readProfiles(ByteReader& r, RawPlan& plan) {
  const uint32_t n = r.count(4, "profiles");
  plan.config.profiles.resize(n);
  for (OptimizationProfile& p : plan.config.profiles) {
    const uint32_t entries = r.count(16, "profile entries");
    for (uint32_t e = 0; e < entries; ++e) {
      std::string name = r.str();
      ShapeRange range;
      range.min = r.dims();
      range.opt = r.dims();
      range.max = r.dims();
      p[name] = std::move(range);
    }
  }
}

void readBuildConfig(ByteReader& r, RawPlan& plan) {
  const uint8_t flags = r.u8();
  plan.config.fp16 = flags & 1;
  plan.config.int8 = flags & 2;
  plan.config.tf32 = flags & 4;
  plan.config.sparseWeights = flags & 8;
  plan.config.workspaceBytes = r.u64();
  plan.config.backend = r.str();
}

// Tactics name layers by index: read after the layers. The runtime only uses a record whose GEMM key matches
// the GEMM it is about to run, so the checks here are about the bytes being what the writer wrote.
void readTactics(ByteReader& r, RawPlan& plan) {
  const uint32_t n = r.count(92, "tactics");  // u32 + str + 8 u64 + u64 + f64 + str
  int64_t previous = -1;
  for (uint32_t i = 0; i < n; ++i) {
    const size_t at = r.offset();
    LayerTactic t;
    t.layer = r.u32();
    if (t.layer >= plan.layers.size())
      fail(ErrorCode::BadPlan, "corrupt ", r.where(), " at offset ", at, ": a tactic for layer ", t.layer, ", the plan has ",
           plan.layers.size(), " layers");
    const Layer& layer = plan.layers[t.layer];
    if (static_cast<int64_t>(t.layer) <= previous)
      fail(ErrorCode::BadPlan, "corrupt ", r.where(), " at offset ", at, ": tactics out of order or twice for layer '",
           layer.name, "' (", t.layer, ")");
    previous = t.layer;
    if (!runsFloatGemm(layer))
      fail(ErrorCode::BadPlan, "corrupt ", r.where(), " at offset ", at, ": a GEMM tactic for layer '", layer.name, "', a ",
           layer.kind, " layer");
    t.gemmKey = r.str();
    if (t.gemmKey.empty())
      fail(ErrorCode::BadPlan, "corrupt ", r.where(), " at offset ", at, ": the tactic of layer '", layer.name,
           "' has an empty GEMM key");
    for (uint64_t& word : t.algo) word = r.u64();
    t.cublasLtVersion = r.u64();
    t.timeMs = r.f64();
    if (!std::isfinite(t.timeMs) || t.timeMs < 0)
      fail(ErrorCode::BadPlan, "corrupt ", r.where(), " at offset ", at, ": the tactic of layer '", layer.name,
           "' has time ", t.timeMs, " ms");
    t.description = r.str();
    plan.tactics.push_back(std::move(t));
  }
}

// A sparse record's layer is a MatMul with a constant 2-D float weight [k, n] (or [n, k]), a QuantizedMatMul with
// its constant int8 weight [n, k], or a Convolution with a constant 4-D float one ([M, 1, 1, C] where it runs
// sparse): the weight the CUDA runtime recompresses or runs the compressed bytes against. Those bytes are opaque
// (cuSPARSELt's format) but must at least hold the half of the weight's values that a 2:4 weight keeps, at the
// weight's element size (2 bytes as fp16 for float weights, 1 for int8).
void checkSparseWeight(const RawPlan& plan, const Layer& layer, const LayerSparsity& s, const std::string& where,
                       size_t at) {
  const bool conv = layer.kind == "Convolution";
  const bool int8 = layer.kind == "QuantizedMatMul";
  const TensorInfo* w = layer.inputs.size() > 1 && layer.inputs[1] >= 0 &&
                                static_cast<size_t>(layer.inputs[1]) < plan.tensors.size()
                            ? &plan.tensors[layer.inputs[1]]
                            : nullptr;
  const bool dtypeOk =
      w && (int8 ? w->dtype == DType::Int8 : w->dtype == DType::Float32 || w->dtype == DType::Float16);
  if (!w || !w->isConstant || w->dims.size() != (conv ? 4u : 2u) || !isStatic(w->dims) || !dtypeOk)
    fail(ErrorCode::BadPlan, "corrupt ", where, " at offset ", at, ": layer '", layer.name, "' is marked sparse but is",
         conv   ? " a Convolution without a constant 4-D float weight"
         : int8 ? " a QuantizedMatMul without a constant 2-D int8 weight"
                : " not a MatMul with a constant 2-D float weight");
  const uint64_t kept = static_cast<uint64_t>(volume(w->dims)) / 2;
  const uint64_t bytes = kept * (int8 ? 1 : 2);
  if (s.compressed.size() < bytes)
    fail(ErrorCode::BadPlan, "corrupt ", where, " at offset ", at, ": the compressed weight of layer '", layer.name,
         "' has ", s.compressed.size(), " bytes, fewer than the ", bytes, " its 2:4 ", dimsToString(w->dims),
         " weight keeps");
}

// Sparsity records name layers by index too.
void readSparsity(ByteReader& r, RawPlan& plan) {
  const uint32_t n = r.count(61, "sparsity records");  // u32 + u8 + str + 2 f64 + str + u64 + 4 i32 + u64
  int64_t previous = -1;
  for (uint32_t i = 0; i < n; ++i) {
    const size_t at = r.offset();
    LayerSparsity s;
    s.layer = r.u32();
    if (s.layer >= plan.layers.size())
      fail(ErrorCode::BadPlan, "corrupt ", r.where(), " at offset ", at, ": a sparsity record for layer ", s.layer,
           ", the plan has ", plan.layers.size(), " layers");
    const Layer& layer = plan.layers[s.layer];
    if (static_cast<int64_t>(s.layer) <= previous)
      fail(ErrorCode::BadPlan, "corrupt ", r.where(), " at offset ", at,
           ": sparsity records out of order or twice for layer '", layer.name, "' (", s.layer, ")");
    previous = s.layer;
    if (layer.kind != "MatMul" && layer.kind != "QuantizedMatMul" && layer.kind != "Convolution")
      fail(ErrorCode::BadPlan, "corrupt ", r.where(), " at offset ", at, ": a sparsity record for layer '", layer.name,
           "', a ", layer.kind, " layer (only MatMul, QuantizedMatMul and Convolution layers have them)");
    const uint8_t flags = r.u8();
    if (flags & ~(kSparsityEligible | kSparsitySparse | kSparsityAnyShape))
      fail(ErrorCode::BadPlan, "corrupt ", r.where(), " at offset ", at, ": the sparsity record of layer '", layer.name,
           "' has unknown flags ", int{flags});
    s.eligible = flags & kSparsityEligible;
    s.sparse = flags & kSparsitySparse;
    s.anyShape = flags & kSparsityAnyShape;
    if (s.sparse && !s.eligible)
      fail(ErrorCode::BadPlan, "corrupt ", r.where(), " at offset ", at, ": layer '", layer.name,
           "' is marked sparse but its weights are not marked 2:4 (eligible)");
    if (s.anyShape && !s.sparse)
      fail(ErrorCode::BadPlan, "corrupt ", r.where(), " at offset ", at, ": layer '", layer.name,
           "' is marked sparse at any shape but not sparse");
    s.note = r.str();
    s.denseMs = r.f64();
    s.sparseMs = r.f64();
    for (double ms : {s.denseMs, s.sparseMs})
      if (!std::isfinite(ms) || ms < 0)
        fail(ErrorCode::BadPlan, "corrupt ", r.where(), " at offset ", at, ": the sparsity record of layer '", layer.name,
             "' has time ", ms, " ms");
    s.gemmKey = r.str();
    s.cusparseLtVersion = r.u64();
    s.algConfigId = r.i32();
    s.splitK = r.i32();
    s.splitKMode = r.i32();
    s.splitKBuffers = r.i32();
    const size_t bytesAt = r.offset();
    const uint64_t size = r.u64();
    if (size > r.remaining())
      fail(ErrorCode::BadPlan, "truncated in ", r.where(), " at offset ", bytesAt, ": compressed weights of layer '",
           layer.name, "' of ", size, " bytes, ", r.remaining(), " left");
    const uint8_t* bytes = r.bytes(static_cast<size_t>(size));
    s.compressed.assign(bytes, bytes + size);
    if (s.sparse) checkSparseWeight(plan, layer, s, r.where(), at);
    plan.sparsity.push_back(std::move(s));
  }
}

// cuDNN plan choices are opaque to the reader (the plan cache matches problems, cuDNN checks the JSON); the checks
// here keep a damaged section from reaching them.
void readCudnnChoices(ByteReader& r, RawPlan& plan) {
  constexpr uint32_t kMaxProblemWords = 64;  // the cache's keys have 24
  CudnnChoices& c = plan.cudnnChoices;
  c.cudnnVersion = r.u64();
  c.device = r.str();
  if (c.cudnnVersion == 0 || c.device.empty())
    fail(ErrorCode::BadPlan, "corrupt ", r.where(), ": cuDNN plan choices without a ",
         c.cudnnVersion == 0 ? "cuDNN version" : "GPU name");
  const uint32_t n = r.count(32, "cuDNN plan choices");  // u32 + i64 + 2 u64 + str
  std::set<std::vector<int64_t>> seen;
  for (uint32_t i = 0; i < n; ++i) {
    const size_t at = r.offset();
    CudnnChoice e;
    const uint32_t words = r.u32();
    if (words == 0 || words > kMaxProblemWords)
      fail(ErrorCode::BadPlan, "corrupt ", r.where(), " at offset ", at, ": cuDNN choice ", i, " has a problem key of ",
           words, " words (1 to ", kMaxProblemWords, ")");
    for (uint32_t w = 0; w < words; ++w) e.problem.push_back(r.i64());
    e.configIndex = r.u64();
    e.configCount = r.u64();
    e.json = r.str();
    if (e.configIndex >= e.configCount)
      fail(ErrorCode::BadPlan, "corrupt ", r.where(), " at offset ", at, ": cuDNN choice ", i, " picks configuration ",
           e.configIndex, " of ", e.configCount);
    if (!seen.insert(e.problem).second)
      fail(ErrorCode::BadPlan, "corrupt ", r.where(), " at offset ", at, ": cuDNN choice ", i, " repeats a problem");
    c.entries.push_back(std::move(e));
  }
}

void readBody(ByteReader& body, RawPlan& plan) {
  using Reader = void (*)(ByteReader&, RawPlan&);
  struct Known {
    const char* tag;
    Reader read;
    bool required;
  };
  // Tensors come first in every plan written; weights and I/O refer to them, tactics and sparsity records to
  // layers, so they are read in this order.
  const std::vector<Known> known = {{kTensors, readTensors, true},   {kLayers, readLayers, true},
                                    {kWeights, readWeights, true},   {kIO, readIO, true},
                                    {kProfiles, readProfiles, true}, {kBuildConfig, readBuildConfig, true},
                                    {kTactics, readTactics, false},  {kSparsity, readSparsity, false},
                                    {kCudnnChoices, readCudnnChoices, false}};
  std::map<std::string, ByteReader> found;
  while (!body.atEnd()) {
    const size_t at = body.offset();
    const std::string tag = printableTag(body.bytes(4));
    const uint32_t version = body.u32();
    const uint64_t length = body.u64();
    if (length > body.remaining())
      fail(ErrorCode::BadPlan, "truncated in section '", tag, "' at offset ", at, ": its length is ", length, " bytes, ",
           body.remaining(), " left in the body");
    ByteReader section = body.sub(static_cast<size_t>(length), "section '" + tag + "'");
    bool isKnown = false;
    for (const Known& k : known) isKnown = isKnown || k.tag == tag;
    if (!isKnown) continue;  // a section from a newer library that this one can do without
    if (version > kSectionVersion)
      fail(ErrorCode::BadPlan, "section '", tag, "' version ", version, " is newer than this library supports (",
           kSectionVersion, ")");
    if (!found.emplace(tag, section).second) fail(ErrorCode::BadPlan, "plan has two '", tag, "' sections");
  }
  for (const Known& k : known) {
    auto it = found.find(k.tag);
    if (it == found.end()) {
      if (!k.required) continue;
      fail(ErrorCode::BadPlan, "plan has no '", k.tag, "' section");
    }
    k.read(it->second, plan);
    if (!it->second.atEnd())
      fail(ErrorCode::BadPlan, "corrupt ", it->second.where(), ": ", it->second.remaining(),
           " unexpected bytes at offset ", it->second.offset());
  }
}

void attachWeights(RawPlan& plan) {
  for (const WeightRef& w : plan.weights) {
    if (w.tensor >= plan.tensors.size())
      fail(ErrorCode::BadPlan, "weights at offset ", w.offset, " name tensor ", w.tensor, " of ", plan.tensors.size());
    TensorInfo& t = plan.tensors[w.tensor];
    if (!t.isConstant || t.value)
      fail(ErrorCode::BadPlan, "weights at offset ", w.offset, " for tensor '", t.name, "', which is ",
           t.value ? "given weights twice" : "not a constant");
    if (!isStatic(t.dims)) fail(ErrorCode::BadPlan, "constant '", t.name, "' has dynamic dims ", dimsToString(t.dims));
    const uint64_t expected = static_cast<uint64_t>(volume(t.dims)) * dtypeSize(t.dtype);
    if (w.size != expected)
      fail(ErrorCode::BadPlan, "constant '", t.name, "' (", dtypeName(t.dtype), " ", dimsToString(t.dims), ") needs ",
           expected, " bytes of weights, the plan has ", w.size);
    t.value = std::make_shared<const Tensor>(Tensor::fromBytes(t.dtype, t.dims, w.data, static_cast<size_t>(w.size)));
  }
  for (const TensorInfo& t : plan.tensors)
    if (t.isConstant && !t.value) fail(ErrorCode::BadPlan, "constant '", t.name, "' has no weights");
}

PlanModel parse(const uint8_t* data, size_t size) {
  if (size < 8 || std::memcmp(data, kMagic, 8) != 0) {
    if (size < 8 && std::memcmp(data, kMagic, size) == 0)
      fail(ErrorCode::BadPlan, size == 0 ? "the plan is empty (0 bytes)" : "truncated header: the plan is only ", size, " bytes");
    fail(ErrorCode::BadPlan, "not an inferrt plan (bad magic)");
  }
  ByteReader fixed(data, size, 0, "the header");
  fixed.bytes(8);
  PlanModel plan;
  plan.header.formatVersion = fixed.u32();
  if (plan.header.formatVersion > kPlanFormatVersion)
    fail(ErrorCode::BadPlan, "plan format version ", plan.header.formatVersion, " is newer than this library supports (",
         kPlanFormatVersion, ")");
  if (plan.header.formatVersion == 0) fail(ErrorCode::BadPlan, "plan format version 0 is not valid");
  const uint32_t headerLength = fixed.u32();
  if (headerLength < 16 || headerLength > size)
    fail(ErrorCode::BadPlan, "truncated header: its length is ", headerLength, " bytes, the plan has ", size);
  ByteReader header(data + 16, headerLength - 16, 16, "the header");
  plan.header.libraryVersion = header.str();
  plan.header.backend = header.str();
  plan.header.gpuArch = header.str();
  const uint64_t bodyLength = header.u64();
  const uint32_t checksum = header.u32();
  const uint64_t available = size - headerLength;
  if (bodyLength > available)
    fail(ErrorCode::BadPlan, "truncated: the body should be ", bodyLength, " bytes, the plan holds ", available);
  if (bodyLength < available)
    fail(ErrorCode::BadPlan, "corrupt: ", available - bodyLength, " unexpected bytes after the plan body");
  if (crc32(data + headerLength, static_cast<size_t>(bodyLength)) != checksum)
    fail(ErrorCode::BadPlan, "checksum mismatch: the plan body is corrupted");

  RawPlan raw;
  ByteReader body(data + headerLength, static_cast<size_t>(bodyLength), headerLength, "the body");
  readBody(body, raw);
  attachWeights(raw);
  if (raw.config.backend != plan.header.backend)
    fail(ErrorCode::BadPlan, "the header says backend '", plan.header.backend, "' but the build config says '",
         raw.config.backend, "'");
  plan.network.assign(std::move(raw.tensors), std::move(raw.layers), std::move(raw.inputs), std::move(raw.outputs));
  plan.config = std::move(raw.config);
  plan.tactics = std::move(raw.tactics);
  plan.sparsity = std::move(raw.sparsity);
  plan.cudnnChoices = std::move(raw.cudnnChoices);
  validatePlanGraph(plan.network, plan.config.profiles);
  return plan;
}

}  // namespace

PlanModel readPlan(const uint8_t* data, size_t size) {
  try {
    return parse(data, size);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::BadPlan) throw;
    fail(ErrorCode::BadPlan, "invalid plan: ", e.what());
  } catch (const std::bad_alloc&) {
    fail(ErrorCode::BadPlan, "invalid plan: it needs more memory than is available");
  }
}

}  // namespace inferrt
