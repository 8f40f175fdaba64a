#include "ir/op_registry.h"

#include <map>
#include <mutex>

#include "backend/cpu/kernel_registry.h"
#include "ir/error.h"
#include "ir/plugin_registry.h"

namespace inferrt {

namespace {
std::map<std::string, OpSchema>& schemas() {
  static std::map<std::string, OpSchema> table;
  return table;
}
}  // namespace

void registerOpSchema(const OpSchema& schema) {
  if (!schemas().emplace(schema.kind, schema).second)
    fail(ErrorCode::Internal, "op kind '", schema.kind, "' registered twice");
}

const OpSchema* findOpSchema(const std::string& kind) {
  ensureOpsRegistered();
  auto it = schemas().find(kind);
  return it == schemas().end() ? nullptr : &it->second;
}

std::vector<std::string> allOpKinds() {
  ensureOpsRegistered();
  std::vector<std::string> kinds;
  for (const auto& [kind, schema] : schemas()) kinds.push_back(kind);
  return kinds;
}

static void checkArity(const char* what, size_t count, int lo, int hi) {
  if (static_cast<int>(count) < lo || (hi >= 0 && static_cast<int>(count) > hi)) {
    std::string range = hi < 0 ? std::to_string(lo) + " or more" : (lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi));
    fail(ErrorCode::InvalidModel, "expects ", range, " ", what, ", got ", count);
  }
}

std::vector<TensorDesc> inferLayerShapes(const Layer& layer, const std::vector<TensorDesc>& inputs) {
  const OpSchema* schema = findOpSchema(layer.kind);
  try {
    if (!schema) fail(ErrorCode::UnsupportedOp, "unknown layer kind");
    checkArity("inputs", inputs.size(), schema->minInputs, schema->maxInputs);
    checkArity("outputs", layer.outputs.size(), schema->minOutputs, schema->maxOutputs);
    for (int i = 0; i < schema->minInputs && i < static_cast<int>(inputs.size()); ++i)
      if (!inputs[i].present) fail(ErrorCode::InvalidModel, "required input ", i, " is missing");
    std::vector<TensorDesc> out = schema->inferShapes(layer, inputs);
    if (out.size() != layer.outputs.size())
      fail(ErrorCode::Internal, "shape rule returned ", out.size(), " outputs for ", layer.outputs.size());
    return out;
  } catch (const Error& e) {
    fail(e.code(), "layer '", layer.name, "' (", layer.kind, "): ", e.what());
  }
}

void ensureOpsRegistered() {
  static std::once_flag once;
  std::call_once(once, [] {
    registerElementwiseSchemas();
    registerPointwiseSchemas();
    registerReductionSchemas();
    registerNormalizationSchemas();
    registerMatMulSchemas();
    registerAttentionSchemas();
    registerConvolutionSchemas();
    registerShapeSchemas();
    registerIndexingSchemas();
    registerGeneratorSchemas();
    registerQuantizationSchemas();
    registerPluginSchemas();
    registerQuantizedLayerSchemas();
    registerElementwiseKernels();
    registerPointwiseKernels();
    registerReductionKernels();
    registerNormalizationKernels();
    registerMatMulKernels();
    registerAttentionKernels();
    registerConvolutionKernels();
    registerShapeKernels();
    registerIndexingKernels();
    registerGeneratorKernels();
    registerQuantizationKernels();
    registerPluginKernels();
    registerQuantizedLayerKernels();
    registerBuiltinPlugins();
  });
}

}  // namespace inferrt
