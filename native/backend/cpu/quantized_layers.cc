// CPU kernels of the builder's INT8 layers. The int32 accumulators come from the ConvInteger / MatMulInteger kernels
// (exact integer sums of int8 products); the epilogue is the one the CUDA path runs, in this order and these fp32
// roundings: v = float(acc) * dequantScale[c], v = v + bias[c], v = v + residual, then the activation (and, with
// half_output, v rounded to fp16, as CUDA stores it).
#include <string>
#include <vector>

#include "backend/cpu/kernel_registry.h"
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
  bool hasActivation = false;
  bool halfOutput = false;
  Activation activation{};
};

Epilogue epilogueOf(const Layer& layer, const std::vector<const Tensor*>& inputs, size_t residualInput) {
  Epilogue e;
  e.scale = inputs[2]->data<float>();
  if (inputs.size() > 3 && inputs[3]) e.bias = inputs[3]->data<float>();
  if (inputs.size() > residualInput && inputs[residualInput]) e.residual = inputs[residualInput]->data<float>();
  e.halfOutput = layer.attrs.getInt("half_output", 0) == 1;
  e.hasActivation = fusedActivation(layer.attrs, &e.activation);
  return e;
}

// y[i] for output element i of channel c.
float dequantize(const Epilogue& e, int32_t acc, int64_t c, int64_t i) {
  float v = static_cast<float>(acc) * e.scale[c];
  if (e.bias) v = v + e.bias[c];
  if (e.residual) v = v + e.residual[i];
  if (e.hasActivation) v = static_cast<float>(applyActivation(e.activation, v));
  return e.halfOutput ? roundToHalf(v) : v;
}

void runQuantizedConvolution(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  Tensor& y = outputs[0];
  const Tensor acc = integerProduct("ConvInteger", layer, *inputs[0], *inputs[1], y.dims());
  const Epilogue e = epilogueOf(layer, inputs, 4);
  const int64_t channels = y.dims()[1];
  int64_t plane = 1;
  for (size_t d = 2; d < y.dims().size(); ++d) plane *= y.dims()[d];
  const int32_t* a = acc.data<int32_t>();
  float* out = y.data<float>();
  for (int64_t i = 0; i < y.numel(); ++i) out[i] = dequantize(e, a[i], (i / plane) % channels, i);
}

// The stored [N, K] weight as MatMulInteger's [K, N].
Tensor transposed(const Tensor& w) {
  const int64_t n = w.dims()[0], k = w.dims()[1];
  Tensor t(DType::Int8, {k, n});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j) t.data<int8_t>()[j * n + i] = w.data<int8_t>()[i * k + j];
  return t;
}

void runQuantizedMatMul(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  Tensor& y = outputs[0];
  const Tensor acc = integerProduct("MatMulInteger", layer, *inputs[0], transposed(*inputs[1]), y.dims());
  const Epilogue e = epilogueOf(layer, inputs, 4);  // no residual input
  const int64_t n = y.dims().back();
  const int32_t* a = acc.data<int32_t>();
  float* out = y.data<float>();
  for (int64_t i = 0; i < y.numel(); ++i) out[i] = dequantize(e, a[i], i % n, i);
}

}  // namespace

void registerQuantizedLayerKernels() {
  registerCpuKernel({"QuantizedConvolution", runQuantizedConvolution});
  registerCpuKernel({"QuantizedMatMul", runQuantizedMatMul});
}

}  // namespace inferrt
