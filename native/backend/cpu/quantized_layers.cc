// CPU kernels of the builder's INT8 layers. The int32 accumulators come from the ConvInteger / MatMulInteger kernels
// (exact integer sums of int8 products); the epilogue is the one the CUDA path runs, in this order and these fp32
// roundings: v = float(acc) * dequantScale[c], v = v + bias[c], v = v + residual (an int8 residual with
// residual_scale: v = (v + float(residual)) * residual_scale), then the activation (and, with half_output, v rounded
// to fp16, as CUDA stores it; with output_scale, v quantized: both layers).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backend/cpu/channels_last_reference.h"
#include "backend/cpu/kernel_registry.h"
#include "backend/cpu/math_common.h"
#include "backend/cpu/math_scalar_ops.h"
#include "ir/error.h"
#include "ir/half.h"

namespace inferrt {

namespace {

// The integer product of x and w as `kind` computes it (no zero points: both are symmetric int8).
Tensor integerProduct(const char* kind, const Layer& layer, const Tensor& x, const Tensor& w, const Dims& dims) {
  const CpuKernelDef* kernel = findCpuKernel(kind);
  if (!kernel) fail(ErrorCode::Internal, "no CPU kernel for ", kind);
  Layer view = layer;
  view.kind = kind;
  view.attrs.erase("activation");
  std::vector<Tensor> acc{Tensor(DType::Int32, dims)};
  kernel->run(view, {&x, &w}, acc);
  return acc[0];
}

struct Epilogue {
  const float* scale = nullptr;
  const float* bias = nullptr;
  const float* residual = nullptr;
  const int8_t* residualInt8 = nullptr;  // with residual_scale
  float residualScale = 0;
  bool hasActivation = false;
  bool halfOutput = false;
  Activation activation{};
};

Epilogue epilogueOf(const Layer& layer, const std::vector<const Tensor*>& inputs, size_t residualInput) {
  Epilogue e;
  e.scale = inputs[2]->data<float>();
  if (inputs.size() > 3 && inputs[3]) e.bias = inputs[3]->data<float>();
  if (inputs.size() > residualInput && inputs[residualInput]) {
    if (layer.attrs.has("residual_scale")) {
      e.residualInt8 = inputs[residualInput]->data<int8_t>();
      e.residualScale = static_cast<float>(layer.attrs.getFloat("residual_scale"));
    } else {
      e.residual = inputs[residualInput]->data<float>();
    }
  }
  e.halfOutput = layer.attrs.getInt("half_output", 0) == 1;
  e.hasActivation = fusedActivation(layer.attrs, &e.activation);
  return e;
}

// y[i] for output element i of channel c.
float dequantize(const Epilogue& e, int32_t acc, int64_t c, int64_t i) {
  float v = static_cast<float>(acc) * e.scale[c];
  if (e.bias) v = v + e.bias[c];
  if (e.residual) v = v + e.residual[i];
  if (e.residualInt8) v = (v + static_cast<float>(e.residualInt8[i])) * e.residualScale;
  if (e.hasActivation) v = static_cast<float>(applyActivation(e.activation, v));
  return e.halfOutput ? roundToHalf(v) : v;
}

// The layer's outputs from its int32 sums, `channelOf(i)` the channel of element i: y, or with output_scale s y
// quantized as QuantizeLinear does (divided in fp32, half to even): the only output (y unrounded: that form has no
// half_output), or a second one beside y, from y as the first output holds it.
template <typename ChannelOf>
void writeOutputs(const Layer& layer, const Epilogue& e, const int32_t* acc, ChannelOf channelOf,
                  std::vector<Tensor>& outputs) {
  Tensor& y = outputs[0];
  const bool quantizes = layer.attrs.has("output_scale");
  const float s = quantizes ? static_cast<float>(layer.attrs.getFloat("output_scale")) : 0.0f;
  float* out = !quantizes || outputs.size() == 2 ? y.data<float>() : nullptr;
  int8_t* q = quantizes ? outputs.back().data<int8_t>() : nullptr;
  for (int64_t i = 0; i < y.numel(); ++i) {
    const float v = dequantize(e, acc[i], channelOf(i), i);
    if (out) out[i] = v;
    if (q) q[i] = quantizeToInt8(v, s);
  }
}

void runQuantizedConvolutionNchw(const Layer& layer, const std::vector<const Tensor*>& inputs,
                                 std::vector<Tensor>& outputs) {
  Tensor& y = outputs[0];
  const Tensor acc = integerProduct("ConvInteger", layer, *inputs[0], *inputs[1], y.dims());
  const Epilogue e = epilogueOf(layer, inputs, 4);
  const int64_t channels = y.dims()[1];
  int64_t plane = 1;
  for (size_t d = 2; d < y.dims().size(); ++d) plane *= y.dims()[d];
  writeOutputs(layer, e, acc.data<int32_t>(), [&](int64_t i) { return (i / plane) % channels; }, outputs);
}

// channels_last = 1 layers (NHWC) run the NCHW kernel on permuted copies.
void runQuantizedConvolution(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  if (layer.attrs.getInt("channels_last", 0) == 1)
    return runChannelsLastReference(layer, inputs, outputs, runQuantizedConvolutionNchw);
  runQuantizedConvolutionNchw(layer, inputs, outputs);
}

// acc[m, n] = sum_k x[m, k] * w[n, k] for x [..., K] and the stored weight [N, K]: rows of both are contiguous in k,
// so no transposed copy of the weight is made per run. Summed in 64 bits and stored as int32, as MatMulInteger does.
Tensor integerProductNK(const Tensor& x, const Tensor& w, const Dims& dims) {
  if (x.dtype() != DType::Int8 || w.dtype() != DType::Int8 || w.rank() != 2 || x.rank() < 1 ||
      x.dims().back() != w.dims()[1])
    fail(ErrorCode::ShapeMismatch, "QuantizedMatMul a is ", dtypeName(x.dtype()), " ", dimsToString(x.dims()),
         " and w ", dtypeName(w.dtype()), " ", dimsToString(w.dims()), "; expected int8 [..., K] and int8 [N, K]");
  const int64_t k = w.dims()[1], n = w.dims()[0], m = k == 0 ? volume(dims) / std::max<int64_t>(n, 1) : x.numel() / k;
  Tensor acc(DType::Int32, dims);
  if (acc.numel() != m * n) fail(ErrorCode::Internal, "QuantizedMatMul output ", dimsToString(dims), " is not [", m, ", ", n, "]");
  const int8_t* xp = x.data<int8_t>();
  const int8_t* wp = w.data<int8_t>();
  int32_t* out = acc.data<int32_t>();
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < n; ++c) {
      int64_t sum = 0;
      for (int64_t j = 0; j < k; ++j) sum += static_cast<int32_t>(xp[r * k + j]) * static_cast<int32_t>(wp[c * k + j]);
      out[r * n + c] = static_cast<int32_t>(static_cast<uint32_t>(sum));  // wraps past int32, as MatMulInteger
    }
  return acc;
}

void runQuantizedMatMul(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  Tensor& y = outputs[0];
  const Tensor acc = integerProductNK(*inputs[0], *inputs[1], y.dims());
  const Epilogue e = epilogueOf(layer, inputs, 4);  // no residual input
  const int64_t n = y.dims().back();
  writeOutputs(layer, e, acc.data<int32_t>(), [n](int64_t i) { return i % n; }, outputs);
}

}  // namespace

void registerQuantizedLayerKernels() {
  registerCpuKernel({"QuantizedConvolution", runQuantizedConvolution});
  registerCpuKernel({"QuantizedMatMul", runQuantizedMatMul});
}

}  // namespace inferrt
