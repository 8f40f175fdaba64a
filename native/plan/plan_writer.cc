// Serializes a built network and its config into plan bytes (layout in plan.h and sections.h).
#include <cstring>

#include "plan/attribute_bytes.h"
#include "plan/byte_io.h"
#include "plan/crc32.h"
#include "plan/plan.h"
#include "plan/sections.h"

#ifndef INFERRT_VERSION
#define INFERRT_VERSION "0.0.0-dev"
#endif

namespace inferrt {

using namespace plan_sections;

const char* libraryVersion() { return INFERRT_VERSION; }

namespace {

// Writes tag, version and a length patched once the payload is written.
template <typename Body>
void section(ByteWriter& w, const char* tag, Body body) {
  w.bytes(tag, 4);
  w.u32(kSectionVersion);
  const size_t lengthAt = w.size();
  w.u64(0);
  const size_t start = w.size();
  body();
  w.patchU64(lengthAt, w.size() - start);
}

// Values of constants are stored; values folded onto layer outputs are recomputed at run time.
bool stored(const TensorInfo& t) { return t.value && t.producer < 0 && !t.isInput; }

void writeBody(ByteWriter& w, const PlanModel& plan) {
  const Network& net = plan.network;
  section(w, kTensors, [&] {
    w.u32(static_cast<uint32_t>(net.tensors().size()));
    for (const TensorInfo& t : net.tensors()) {
      w.str(t.name);
      w.u8(static_cast<uint8_t>(t.dtype));
      w.dims(t.dims);
      w.u8((t.isInput ? kFlagInput : 0) | (t.isOutput ? kFlagOutput : 0) | (stored(t) ? kFlagConstant : 0));
      w.i32(t.producer);
    }
  });
  section(w, kLayers, [&] {
    w.u32(static_cast<uint32_t>(net.layers().size()));
    for (const Layer& l : net.layers()) {
      w.str(l.kind);
      w.str(l.name);
      w.u32(static_cast<uint32_t>(l.inputs.size()));
      for (int t : l.inputs) w.i32(t);
      w.u32(static_cast<uint32_t>(l.outputs.size()));
      for (int t : l.outputs) w.i32(t);
      w.u8(static_cast<uint8_t>(l.precision));
      w.u32(static_cast<uint32_t>(l.attrs.all().size()));
      for (const auto& [key, value] : l.attrs.all()) {
        w.str(key);
        writeAttributeValue(w, value);
      }
    }
  });
  section(w, kWeights, [&] {
    uint32_t count = 0;
    for (const TensorInfo& t : net.tensors()) count += stored(t) ? 1 : 0;
    w.u32(count);
    for (size_t i = 0; i < net.tensors().size(); ++i) {
      const TensorInfo& t = net.tensors()[i];
      if (!stored(t)) continue;
      w.u32(static_cast<uint32_t>(i));
      w.u64(t.value->byteSize());
      if (t.value->byteSize()) w.bytes(t.value->raw(), t.value->byteSize());
    }
  });
  section(w, kIO, [&] {
    w.u32(static_cast<uint32_t>(net.inputs().size()));
    for (int t : net.inputs()) w.u32(static_cast<uint32_t>(t));
    w.u32(static_cast<uint32_t>(net.outputs().size()));
    for (int t : net.outputs()) w.u32(static_cast<uint32_t>(t));
  });
  section(w, kProfiles, [&] {
    w.u32(static_cast<uint32_t>(plan.config.profiles.size()));
    for (const OptimizationProfile& p : plan.config.profiles) {
      w.u32(static_cast<uint32_t>(p.size()));
      for (const auto& [name, range] : p) {
        w.str(name);
        w.dims(range.min);
        w.dims(range.opt);
        w.dims(range.max);
      }
    }
  });
  section(w, kBuildConfig, [&] {
    const BuildConfig& c = plan.config;
    w.u8((c.fp16 ? 1 : 0) | (c.int8 ? 2 : 0) | (c.tf32 ? 4 : 0) | (c.sparseWeights ? 8 : 0));
    w.u64(c.workspaceBytes);
    w.str(c.backend);
  });
  // Optional sections: plans without tactics or sparsity records stay byte-identical to before.
  if (!plan.tactics.empty()) {
    section(w, kTactics, [&] {
      w.u32(static_cast<uint32_t>(plan.tactics.size()));
      for (const LayerTactic& t : plan.tactics) {
        w.u32(t.layer);
        w.str(t.gemmKey);
        for (uint64_t word : t.algo) w.u64(word);
        w.u64(t.cublasLtVersion);
        w.f64(t.timeMs);
        w.str(t.description);
      }
    });
  }
  if (!plan.sparsity.empty()) {
    section(w, kSparsity, [&] {
      w.u32(static_cast<uint32_t>(plan.sparsity.size()));
      for (const LayerSparsity& s : plan.sparsity) {
        w.u32(s.layer);
        w.u8((s.eligible ? kSparsityEligible : 0) | (s.sparse ? kSparsitySparse : 0) |
             (s.anyShape ? kSparsityAnyShape : 0));
        w.str(s.note);
        w.f64(s.denseMs);
        w.f64(s.sparseMs);
        w.str(s.gemmKey);
        w.u64(s.cusparseLtVersion);
        w.i32(s.algConfigId);
        w.i32(s.splitK);
        w.i32(s.splitKMode);
        w.i32(s.splitKBuffers);
        w.u64(s.compressed.size());
        if (!s.compressed.empty()) w.bytes(s.compressed.data(), s.compressed.size());
      }
    });
  }
  if (!plan.cudnnChoices.entries.empty()) {
    section(w, kCudnnChoices, [&] {
      const CudnnChoices& c = plan.cudnnChoices;
      w.u64(c.cudnnVersion);
      w.str(c.device);
      w.u32(static_cast<uint32_t>(c.entries.size()));
      for (const CudnnChoice& e : c.entries) {
        w.u32(static_cast<uint32_t>(e.problem.size()));
        for (int64_t word : e.problem) w.i64(word);
        w.u64(e.configIndex);
        w.u64(e.configCount);
        w.str(e.json);
      }
    });
  }
}

}  // namespace

std::vector<uint8_t> writePlan(const PlanModel& plan) {
  ByteWriter body;
  writeBody(body, plan);
  ByteWriter header;
  header.bytes(kMagic, 8);
  header.u32(plan.header.formatVersion);
  const size_t lengthAt = header.size();
  header.u32(0);
  header.str(plan.header.libraryVersion);
  header.str(plan.header.backend);
  header.str(plan.header.gpuArch);
  header.u64(body.size());
  header.u32(crc32(body.buffer().data(), body.size()));
  const uint32_t headerLength = static_cast<uint32_t>(header.size());
  for (int i = 0; i < 4; ++i) header.buffer()[lengthAt + i] = static_cast<uint8_t>(headerLength >> (8 * i));
  std::vector<uint8_t> out = std::move(header.buffer());
  out.insert(out.end(), body.buffer().begin(), body.buffer().end());
  return out;
}

}  // namespace inferrt
