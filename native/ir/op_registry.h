// Layer kinds: each declares its meaning once here (arity and shape rule); backends register kernels
// for the kinds they support (native/backend/*/kernel_registry.h). Adding an op = schema + CPU kernel
// (+ CUDA kernel) + importer + tests.
#pragma once
#include <string>
#include <vector>

#include "ir/network.h"

namespace inferrt {

// What is known about a tensor when a shape rule runs: at build time dims may hold kDynamic and value
// is usually null; at run time (CPU) every input's dims are concrete and value is set.
struct TensorDesc {
  DType dtype = DType::Float32;
  Dims dims;
  TensorPtr value;       // contents if known
  bool present = true;   // false for an absent optional input
};

// Returns one desc per output (layer.outputs.size() of them). May set an output's value when it is known
// without running a kernel (e.g. Shape of a static tensor). Throws inferrt::Error with a message that
// names what is wrong (the caller prefixes the layer name).
using ShapeRule = std::vector<TensorDesc> (*)(const Layer& layer, const std::vector<TensorDesc>& inputs);

struct OpSchema {
  const char* kind;
  int minInputs;
  int maxInputs;      // -1: variadic
  int minOutputs = 1;
  int maxOutputs = 1; // -1: variadic
  ShapeRule inferShapes;
};

void registerOpSchema(const OpSchema& schema);
const OpSchema* findOpSchema(const std::string& kind);  // null if unknown
std::vector<std::string> allOpKinds();

// Runs the shape rule for `layer` with arity checks and error context ("layer 'x' (Kind): ...").
std::vector<TensorDesc> inferLayerShapes(const Layer& layer, const std::vector<TensorDesc>& inputs);

// Registration entry points of each op family (native/ir/ops/*.cc), called once by ensureOpsRegistered().
void registerElementwiseSchemas();    // ElementWise, Unary, Activation
void registerPointwiseSchemas();      // Pointwise (fused elementwise chains)
void registerReductionSchemas();      // Reduce, ArgMinMax, Softmax, CumSum
void registerNormalizationSchemas();  // Normalization
void registerMatMulSchemas();         // MatMul
void registerAttentionSchemas();      // Attention
void registerConvolutionSchemas();    // Convolution, Pooling
void registerShapeSchemas();          // Reshape, Transpose, Squeeze, Unsqueeze, Flatten, Shape, Expand, Tile
void registerIndexingSchemas();       // Gather, GatherElements, Slice, Concat, Split, Pad, Trilu, Where
void registerGeneratorSchemas();      // ConstantOfShape, Range, Cast, Identity
void registerQuantizationSchemas();   // Quantize/DequantizeLinear, DynamicQuantizeLinear, MatMul/ConvInteger
void registerPluginSchemas();         // Plugin (dispatches to the plugin registry)
void registerQuantizedLayerSchemas(); // QuantizedConvolution, QuantizedMatMul (the builder's INT8 layers)
void ensureOpsRegistered();           // idempotent; registers schemas and the CPU kernels

}  // namespace inferrt
