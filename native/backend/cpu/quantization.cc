// CPU kernels of the explicit-quantization layers (LAYERS.md). QuantizeLinear: y = saturate(roundHalfToEven(x /
// scale) + zeroPoint), x / scale divided in float32 (not multiplied by a reciprocal: the CUDA path divides too);
// DequantizeLinear: y = (x - zeroPoint) * scale, the difference taken in integers, the product in float32;
// DynamicQuantizeLinear: ONNX's uint8 formula. MatMulInteger and ConvInteger subtract the zero points first and
// then multiply and accumulate exactly in integers: MatMulInteger through the int32 MatMul kernel, ConvInteger
// with the Convolution kernel's weight-stationary loop in int64.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "backend/cpu/conv_geometry.h"
#include "backend/cpu/kernel_registry.h"
#include "backend/cpu/math_common.h"
#include "backend/cpu/math_scalar_ops.h"
#include "ir/ops/shape_helpers.h"

namespace inferrt {

namespace {

// Per-index values of a scale or zero point along one dim of x: element i of x uses value (i / inner) % count.
// One value (count 1) applies to every element.
struct Channels {
  int64_t count = 1;
  int64_t inner = 1;  // elements per index of the dim (the product of the dims after it)
  int64_t of(int64_t i) const { return count == 1 ? 0 : (i / inner) % count; }
};

// The channel layout of a Quantize/DequantizeLinear scale: one value, or one per index of x's dim `axis`.
Channels scaleChannels(const Layer& layer, const Tensor& x, const Tensor& scale, const Tensor* zp) {
  if (scale.rank() > 1 || scale.numel() < 1)
    fail(ErrorCode::ShapeMismatch, "scale must hold one value or be 1-D, got ", dimsToString(scale.dims()));
  if (zp && zp->numel() != scale.numel())
    fail(ErrorCode::ShapeMismatch, "zero point ", dimsToString(zp->dims()), " must have the scale's ",
         scale.numel(), " values");
  Channels ch;
  ch.count = scale.numel();
  if (ch.count == 1) return ch;
  const int64_t axis = normalizeAxis(layer.attrs.getInt("axis", 1), x.rank(), "axis");
  if (x.dims()[axis] != ch.count)
    fail(ErrorCode::ShapeMismatch, "scale has ", ch.count, " values but x ", dimsToString(x.dims()), " has ",
         x.dims()[axis], " on axis ", axis);
  for (int64_t d = axis + 1; d < x.rank(); ++d) ch.inner *= x.dims()[d];
  return ch;
}

// The zero point's values as int64 (`count` zeros when absent).
std::vector<int64_t> zeroPoints(const Tensor* zp, int64_t count) {
  return zp ? readInts(*zp, "zero point") : std::vector<int64_t>(static_cast<size_t>(count), 0);
}

// x as float32: float16 widened, int32 converted (exact while |x| <= 2^24).
Tensor floatInput(const Tensor& x) {
  if (x.dtype() != DType::Int32) return toFloat32(x);
  Tensor f(DType::Float32, x.dims());
  for (int64_t i = 0; i < x.numel(); ++i) f.data<float>()[i] = static_cast<float>(x.data<int32_t>()[i]);
  return f;
}

// saturate(roundHalfToEven(q) + zeroPoint) into Q; NaN gives 0.
template <typename Q>
Q quantizeValue(float q, int64_t zeroPoint) {
  return saturateCast<Q>(static_cast<double>(std::nearbyint(q)) + static_cast<double>(zeroPoint));
}

void runQuantizeLinear(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  const Tensor& x = *inputs[0];
  const Tensor* zp = inputs.size() > 2 ? inputs[2] : nullptr;
  const Channels ch = scaleChannels(layer, x, *inputs[1], zp);
  const Tensor x32 = floatInput(x), s32 = toFloat32(*inputs[1]);
  const float* xv = x32.data<float>();
  Activation act;
  std::vector<float> activated;  // x32 may share the input's storage
  if (fusedActivation(layer.attrs, &act)) {  // the builder's (gelu_quantize_handoff.cc): in double, rounded to float
    activated.resize(static_cast<size_t>(x32.numel()));
    for (int64_t i = 0; i < x32.numel(); ++i) activated[i] = static_cast<float>(applyActivation(act, xv[i]));
    xv = activated.data();
  }
  const float* scale = s32.data<float>();
  const std::vector<int64_t> zero = zeroPoints(zp, ch.count);
  Tensor& out = outputs[0];
  if (out.dtype() != DType::Int8 && out.dtype() != DType::UInt8)
    fail(ErrorCode::Internal, "QuantizeLinear output is ", dtypeName(out.dtype()));
  requireKernelOutput(out, out.dtype(), x.dims(), "QuantizeLinear output");
  dispatchInteger(out.dtype(), "QuantizeLinear output", [&](auto tag) {
    using Q = typename decltype(tag)::type;
    Q* y = out.data<Q>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const int64_t c = ch.of(i);
      y[i] = quantizeValue<Q>(xv[i] / scale[c], zero[c]);
    }
  });
}

void runDequantizeLinear(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  const Tensor& x = *inputs[0];
  const Tensor* zp = inputs.size() > 2 ? inputs[2] : nullptr;
  if (zp && zp->dtype() != x.dtype())
    fail(ErrorCode::DTypeMismatch, "zero point is ", dtypeName(zp->dtype()), " but x is ", dtypeName(x.dtype()));
  const Channels ch = scaleChannels(layer, x, *inputs[1], zp);
  const Tensor s32 = toFloat32(*inputs[1]);
  const float* scale = s32.data<float>();
  const std::vector<int64_t> zero = zeroPoints(zp, ch.count);
  requireKernelOutput(outputs[0], inputs[1]->dtype(), x.dims(), "DequantizeLinear output");
  FloatOutput o(outputs[0]);
  float* y = o.data();
  if (x.dtype() != DType::Int8 && x.dtype() != DType::UInt8 && x.dtype() != DType::Int32)
    fail(ErrorCode::DTypeMismatch, "DequantizeLinear x must be int8, uint8 or int32, got ", dtypeName(x.dtype()));
  dispatchInteger(x.dtype(), "DequantizeLinear x", [&](auto tag) {
    using Q = typename decltype(tag)::type;
    const Q* xv = x.data<Q>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const int64_t c = ch.of(i);
      y[i] = static_cast<float>(static_cast<int64_t>(xv[i]) - zero[c]) * scale[c];
    }
  });
  o.commit();
}

// ONNX's DynamicQuantizeLinear, in float32: the range [min(0, min x), max(0, max x)] (NaNs are skipped) maps onto
// uint8 with scale = (max - min) / 255 (1 / 255 when the range is empty, as ONNX's reference; onnxruntime uses 1),
// zero point = saturate(round(0 - min / scale)), y = saturate(round(x / scale) + zero point).
void runDynamicQuantizeLinear(const Layer&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  const Tensor& x = *inputs[0];
  if (x.dtype() != DType::Float32)
    fail(ErrorCode::DTypeMismatch, "DynamicQuantizeLinear x must be float32, got ", dtypeName(x.dtype()));
  requireKernelOutput(outputs[0], DType::UInt8, x.dims(), "DynamicQuantizeLinear y");
  requireKernelOutput(outputs[1], DType::Float32, {}, "DynamicQuantizeLinear yScale");
  requireKernelOutput(outputs[2], DType::UInt8, {}, "DynamicQuantizeLinear yZeroPoint");
  const float* xv = x.data<float>();
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (xv[i] < lo) lo = xv[i];
    if (xv[i] > hi) hi = xv[i];
  }
  const float scale = (hi == lo ? 1.0f : hi - lo) / 255.0f;
  const uint8_t zero = quantizeValue<uint8_t>(0.0f - lo / scale, 0);
  uint8_t* y = outputs[0].data<uint8_t>();
  for (int64_t i = 0; i < x.numel(); ++i) y[i] = quantizeValue<uint8_t>(xv[i] / scale, zero);
  outputs[1].data<float>()[0] = scale;
  outputs[2].data<uint8_t>()[0] = zero;
}

// t - zeroPoint as an int32 tensor of t's dims; the zero point (one value, or one per index of a dim laid out as
// `ch` says) has t's dtype. Names `what` in errors.
Tensor minusZeroPoint(const Tensor& t, const Tensor* zp, Channels ch, const char* what) {
  if (t.dtype() != DType::Int8 && t.dtype() != DType::UInt8)
    fail(ErrorCode::DTypeMismatch, what, " must be int8 or uint8, got ", dtypeName(t.dtype()));
  if (zp && zp->dtype() != t.dtype())
    fail(ErrorCode::DTypeMismatch, what, " zero point is ", dtypeName(zp->dtype()), " but ", what, " is ",
         dtypeName(t.dtype()));
  if (zp && zp->numel() != 1 && (zp->rank() != 1 || zp->numel() != ch.count))
    fail(ErrorCode::ShapeMismatch, what, " zero point ", dimsToString(zp->dims()), " must hold one value or ",
         ch.count);
  if (!zp || zp->numel() == 1) ch.count = 1;
  const std::vector<int64_t> zero = zeroPoints(zp, 1);
  Tensor out(DType::Int32, t.dims());
  int32_t* o = out.data<int32_t>();
  dispatchInteger(t.dtype(), what, [&](auto tag) {
    using Q = typename decltype(tag)::type;
    const Q* v = t.data<Q>();
    for (int64_t i = 0; i < t.numel(); ++i) o[i] = static_cast<int32_t>(v[i] - zero[ch.of(i)]);
  });
  return out;
}

// The int32 MatMul kernel on (a - aZeroPoint) and (b - bZeroPoint): its uint64 accumulation wraps only past
// int32's range. aZeroPoint is per row of A (A's second-to-last dim), bZeroPoint per column of B (its last dim).
void runMatMulInteger(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  const Tensor& a = *inputs[0];
  const Tensor& b = *inputs[1];
  Channels rows, cols;
  if (a.rank() >= 2) rows = {a.dims()[a.rank() - 2], a.dims()[a.rank() - 1]};
  if (b.rank() >= 2) cols = {b.dims()[b.rank() - 1], 1};
  const Tensor a32 = minusZeroPoint(a, inputs.size() > 2 ? inputs[2] : nullptr, rows, "MatMulInteger A");
  const Tensor b32 = minusZeroPoint(b, inputs.size() > 3 ? inputs[3] : nullptr, cols, "MatMulInteger B");
  Layer matmul;
  matmul.kind = "MatMul";
  matmul.name = layer.name;
  const CpuKernelDef* kernel = findCpuKernel("MatMul");
  if (!kernel) fail(ErrorCode::Internal, "MatMulInteger needs the CPU MatMul kernel");
  kernel->run(matmul, {&a32, &b32}, outputs);
}

// ConvInteger: the Convolution kernel's loop over (x - xZeroPoint) and (w - wZeroPoint) in int64, stored as int32
// (wrapping past its range, as int32 accumulators do). Padding adds nothing: a padded x equals xZeroPoint (ONNX).
void runConvInteger(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  const Tensor& xin = *inputs[0];
  const Tensor& win = *inputs[1];
  if (layer.attrs.getInt("channels_last", 0) != 0)
    fail(ErrorCode::InvalidArgument, "ConvInteger has no channels_last form (NCHW only)");
  const SpatialWindow w = convolutionWindow(layer.attrs, xin, win, "ConvInteger");
  const int64_t batch = xin.dims()[0], channels = xin.dims()[1], outChannels = win.dims()[0];
  const int64_t group = layer.attrs.getInt("group", 1);
  Dims expected = {batch, outChannels};
  expected.insert(expected.end(), w.output.begin(), w.output.end());
  requireKernelOutput(outputs[0], DType::Int32, expected, "ConvInteger output");
  const Tensor* xzp = inputs.size() > 2 ? inputs[2] : nullptr;
  if (xzp && xzp->numel() != 1)
    fail(ErrorCode::ShapeMismatch, "ConvInteger x zero point must hold one value, got ", dimsToString(xzp->dims()));
  const Tensor x32 = minusZeroPoint(xin, xzp, Channels{}, "ConvInteger x");
  const Tensor w32 = minusZeroPoint(win, inputs.size() > 3 ? inputs[3] : nullptr,
                                    Channels{outChannels, win.numel() / std::max<int64_t>(outChannels, 1)},
                                    "ConvInteger w");

  const Geometry3 g = geometryOf(xin.dims(), w);
  const int64_t cPerGroup = channels / group, mPerGroup = outChannels / group;
  const int64_t taps = g.kernel[0] * g.kernel[1] * g.kernel[2];
  std::vector<int64_t> plane(static_cast<size_t>(g.outSize()));
  int32_t* y = outputs[0].data<int32_t>();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t m = 0; m < outChannels; ++m) {
      std::fill(plane.begin(), plane.end(), int64_t{0});
      const int64_t firstChannel = (m / mPerGroup) * cPerGroup;
      for (int64_t c = 0; c < cPerGroup; ++c)
        accumulateTaps(x32.data<int32_t>() + (n * channels + firstChannel + c) * g.inSize(),
                       w32.data<int32_t>() + (m * cPerGroup + c) * taps, g, plane.data());
      int32_t* ym = y + (n * outChannels + m) * g.outSize();
      for (int64_t i = 0; i < g.outSize(); ++i) ym[i] = static_cast<int32_t>(static_cast<uint32_t>(plane[i]));
    }
  }
}

}  // namespace

void registerQuantizationKernels() {
  registerCpuKernel({"QuantizeLinear", runQuantizeLinear});
  registerCpuKernel({"DequantizeLinear", runDequantizeLinear});
  registerCpuKernel({"DynamicQuantizeLinear", runDynamicQuantizeLinear});
  registerCpuKernel({"MatMulInteger", runMatMulInteger});
  registerCpuKernel({"ConvInteger", runConvInteger});
}

}  // namespace inferrt
