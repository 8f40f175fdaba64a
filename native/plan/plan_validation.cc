// Re-checks a parsed plan's graph: what the builder guarantees must hold again, since the bytes may have been
// made by anyone. Once this passes, every layer's inputs satisfy its shape rule at run time (the executor
// re-runs the rules on concrete shapes), which is what keeps kernels in bounds.
#include "backend/cpu/kernel_registry.h"
#include "ir/error.h"
#include "ir/plugin_registry.h"
#include "plan/plan.h"
#include "runtime/shape_resolution.h"

namespace inferrt {

namespace {

void checkProfiles(const Network& network, const std::vector<OptimizationProfile>& profiles) {
  if (profiles.empty()) fail(ErrorCode::BadPlan, "the plan has no optimization profile");
  for (size_t p = 0; p < profiles.size(); ++p) {
    if (profiles[p].size() != network.inputs().size())
      fail(ErrorCode::BadPlan, "profile ", p, " has ", profiles[p].size(), " inputs, the network ", network.inputs().size());
    for (int t : network.inputs()) {
      const TensorInfo& input = network.tensor(t);
      auto it = profiles[p].find(input.name);
      if (it == profiles[p].end()) fail(ErrorCode::BadPlan, "profile ", p, " has no range for input '", input.name, "'");
      const ShapeRange& r = it->second;
      const size_t rank = input.dims.size();
      if (r.min.size() != rank || r.opt.size() != rank || r.max.size() != rank)
        fail(ErrorCode::BadPlan, "profile ", p, " range of input '", input.name, "' does not match its rank ", rank);
      for (size_t i = 0; i < rank; ++i) {
        const bool ordered = r.min[i] >= 0 && r.min[i] <= r.opt[i] && r.opt[i] <= r.max[i];
        const bool fits = input.dims[i] < 0 || (r.min[i] == input.dims[i] && r.max[i] == input.dims[i]);
        if (!ordered || !fits)
          fail(ErrorCode::BadPlan, "profile ", p, " range of input '", input.name, "' dim ", i, " is invalid");
      }
    }
  }
}

// Declared dims agree with derived ones where both are known.
bool compatible(const Dims& declared, const Dims& derived) {
  if (declared.size() != derived.size()) return false;
  for (size_t i = 0; i < declared.size(); ++i)
    if (declared[i] >= 0 && derived[i] >= 0 && declared[i] != derived[i]) return false;
  return true;
}

}  // namespace

void validatePlanGraph(const Network& network, const std::vector<OptimizationProfile>& profiles) {
  network.validate();
  for (const Layer& layer : network.layers()) {
    if (!findOpSchema(layer.kind))
      fail(ErrorCode::BadPlan, "layer '", layer.name, "' has unknown kind '", layer.kind,
           "' (the plan may come from a newer inferrt)");
    if (!findCpuKernel(layer.kind))
      fail(ErrorCode::BadPlan, "layer '", layer.name, "' (", layer.kind, ") has no kernel on this backend");
    if (layer.kind == "Plugin") pluginForLayer(layer);
    const bool int8Kind = layer.kind == "QuantizedMatMul" || layer.kind == "QuantizedConvolution";
    if ((layer.precision == LayerPrecision::Int8) != int8Kind)
      fail(ErrorCode::BadPlan, "layer '", layer.name, "' (", layer.kind, ") is marked ",
           int8Kind ? "not int8" : "int8", ", but exactly QuantizedMatMul and QuantizedConvolution layers run in int8");
  }
  checkProfiles(network, profiles);
  std::vector<Dims> inputDims;
  for (int t : network.inputs()) inputDims.push_back(network.tensor(t).dims);
  const std::vector<TensorDesc> derived = resolveShapes(network, inputDims);
  for (const Layer& layer : network.layers()) {
    for (size_t o = 0; o < layer.outputs.size(); ++o) {
      const TensorInfo& declared = network.tensor(layer.outputs[o]);
      const TensorDesc& d = derived[layer.outputs[o]];
      if (d.dtype != declared.dtype || !compatible(declared.dims, d.dims))
        fail(ErrorCode::BadPlan, "layer '", layer.name, "' output ", o, " is declared ", dtypeName(declared.dtype), " ",
             dimsToString(declared.dims), " but its shape rule gives ", dtypeName(d.dtype), " ", dimsToString(d.dims));
    }
  }
}

}  // namespace inferrt
