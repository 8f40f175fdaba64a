// The INT8 passes of the builder (config precision 'int8'): explicit Q/DQ layers become scales before the other
// passes run, and after fusion the MatMul and Convolution layers with a scale for their input become INT8 layers.
#pragma once
#include <optional>
#include <vector>

#include "builder/passes.h"
#include "builder/quantization_table.h"

namespace inferrt {

// Folds the network's Q/DQ layers into a table of scales (qdq_absorption.cc); runs first.
QuantizationTable absorbQdqPairs(Network& network, BuildLog& log);

// Replaces each MatMul with a constant 2-D weight and each NCHW Convolution with constant weights whose input has an
// activation scale (the table's, else config.int8Scales') by QuantizedMatMul / QuantizedConvolution reading that input
// through a QuantizeLinear layer, with its weights quantized per output channel. Layers the user set to fp32 or fp16
// stay float, and so do convolutions with fewer than 16 input channels per group when fp16 is allowed (fp16 is
// faster there). Logs what went int8 and why the others did not (int8_quantization.cc). Runs after fusion, before
// precision assignment.
void quantizeLayers(Network& network, const BuildConfig& config, const QuantizationTable& table, BuildLog& log);

// A channels-last QuantizedConvolution, or a QuantizedMatMul with half_output (fp16 engines), whose output int8
// QuantizeLinear layers of one constant scale (no zero point) read gets output_scale = that scale and writes their
// int8 values: as its output when nothing else reads it, else as a second output; the QuantizeLinears go and their
// readers read it. A layer norm read both so and as float writes them as a second output; an attention layer or a
// max pooling of a float input read only so (the attention directly or through one Reshape) writes them alone.
// Then a convolution's float output that only other such convolutions read as their residual goes too: they read
// the int8 one (residual_scale). Returns how many convolutions, GEMMs, layer norms, attention layers and max
// poolings write int8 and how many convolutions read an int8 residual (int8_output_fusion.cc). Runs after the
// channels-last pass.
struct Int8OutputFusions {
  size_t outputs = 0, gemmOutputs = 0, layerNormOutputs = 0, attentionOutputs = 0, maxPoolOutputs = 0, residuals = 0;
  size_t geluHandoffs = 0;  // GEMMs whose GELU their QuantizeLinear applies (handGeluToQuantizeLinears)
};
// Runs handGeluToQuantizeLinears first.
Int8OutputFusions fuseInt8Outputs(Network& network);

// Each fp16-engine QuantizedMatMul (half_output) of a cuDNN shape (cudnnGemmShape) with activation "gelu" whose one
// reader is a one-scale int8 QuantizeLinear drops its activation, and that QuantizeLinear gets activation "gelu": it
// quantizes GELU of the GEMM's fp16 output. Returns how many (gelu_quantize_handoff.cc).
size_t handGeluToQuantizeLinears(Network& network);

// The scale of QuantizeLinear `q` when it reads `x` into int8 with one constant float32 scale, no zero point and no
// activation (one handed to it by handGeluToQuantizeLinears stays its own); nullopt otherwise.
std::optional<float> oneScaleQuantize(const Layer& q, int x, const std::vector<TensorInfo>& tensors);

// Whether QuantizedMatMul `layer`'s weight [N, K] has K and N multiples of 16: the GEMMs CUDA runs on cuDNN in fp16
// engines, with their epilogue fused (kernels/quantized_matmul_cudnn.h).
bool cudnnGemmShape(const Layer& layer, const std::vector<TensorInfo>& tensors);

}  // namespace inferrt
