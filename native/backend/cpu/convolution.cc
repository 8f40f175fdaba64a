// CPU kernels of Convolution and Pooling. Spatial dims are padded to three (leading 1s) so one loop nest
// serves 1-D to 3-D (conv_geometry.h). Convolution is direct and weight-stationary: for each weight tap it adds a
// strided row of the input to a double accumulator plane, so each output sums its taps in (channel, kernel) order.
// A fused residual (input 3) and relu are applied to each plane before it is stored. channels_last = 1 layers
// (NHWC) run these NCHW kernels on permuted copies (channels_last_reference.cc).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "backend/cpu/channels_last_reference.h"
#include "backend/cpu/conv_geometry.h"
#include "backend/cpu/kernel_registry.h"
#include "backend/cpu/math_common.h"
#include "ir/ops/shape_helpers.h"

namespace inferrt {

namespace {

void runConvolution(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  const Tensor& xin = *inputs[0];
  const Tensor& win = *inputs[1];
  const Tensor* bin = inputs.size() > 2 ? inputs[2] : nullptr;
  const Tensor* rin = inputs.size() > 3 ? inputs[3] : nullptr;
  const std::string act = layer.attrs.getString("activation", "none");
  if (act != "none" && act != "relu") fail(ErrorCode::InvalidArgument, "Convolution activation '", act, "'");
  const bool relu = act == "relu";
  const SpatialWindow w = convolutionWindow(layer.attrs, xin, win, "Convolution");
  const int64_t batch = xin.dims()[0], channels = xin.dims()[1], outChannels = win.dims()[0];
  const int64_t group = layer.attrs.getInt("group", 1);
  if (bin && bin->numel() != outChannels)
    fail(ErrorCode::ShapeMismatch, "Convolution bias must have ", outChannels, " values, got ", bin->numel());
  Dims expected = {batch, outChannels};
  expected.insert(expected.end(), w.output.begin(), w.output.end());
  requireKernelOutput(outputs[0], xin.dtype(), expected, "Convolution output");
  if (rin && (rin->dtype() != xin.dtype() || rin->dims() != expected))
    fail(ErrorCode::ShapeMismatch, "Convolution residual must be ", dtypeName(xin.dtype()), " ",
         dimsToString(expected), ", got ", dtypeName(rin->dtype()), " ", dimsToString(rin->dims()));

  const Geometry3 g = geometryOf(xin.dims(), w);
  const Tensor x32 = toFloat32(xin), w32 = toFloat32(win);
  const Tensor b32 = bin ? toFloat32(*bin) : Tensor();
  const Tensor r32 = rin ? toFloat32(*rin) : Tensor();
  const float* x = x32.data<float>();
  const float* wt = w32.data<float>();
  FloatOutput o(outputs[0]);
  float* y = o.data();
  const int64_t cPerGroup = channels / group, mPerGroup = outChannels / group;
  const int64_t taps = g.kernel[0] * g.kernel[1] * g.kernel[2];
  std::vector<double> plane(static_cast<size_t>(g.outSize()));
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t m = 0; m < outChannels; ++m) {
      std::fill(plane.begin(), plane.end(), 0.0);
      const int64_t firstChannel = (m / mPerGroup) * cPerGroup;
      for (int64_t c = 0; c < cPerGroup; ++c) {
        const float* xc = x + ((n * channels) + firstChannel + c) * g.inSize();
        const float* wc = wt + (m * cPerGroup + c) * taps;
        accumulateTaps(xc, wc, g, plane.data());
      }
      const double bias = bin ? b32.data<float>()[m] : 0.0;
      float* ym = y + (n * outChannels + m) * g.outSize();
      // The fused epilogue (builder conv fusion) in the unfused layers' order and fp32 roundings: conv + bias
      // rounded to float, then + residual in float, then relu (NaN passes, as the Activation kernel's).
      const float* rm = rin ? r32.data<float>() + (n * outChannels + m) * g.outSize() : nullptr;
      for (int64_t i = 0; i < g.outSize(); ++i) {
        float v = static_cast<float>(plane[i] + bias);
        if (rm) v = v + rm[i];
        if (relu && v < 0) v = 0.0f;
        ym[i] = v;
      }
    }
  }
  o.commit();
}

// Max / average over every window of one (n, c) plane. T is float for float inputs, else the integer type.
template <typename T>
void poolPlane(const T* x, T* y, const Geometry3& g, bool isMax, bool countPad) {
  const T lowest = std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                                        : std::numeric_limits<T>::lowest();
  for (int64_t od = 0; od < g.out[0]; ++od)
    for (int64_t oh = 0; oh < g.out[1]; ++oh)
      for (int64_t ow = 0; ow < g.out[2]; ++ow) {
        const int64_t start[3] = {od * g.stride[0] - g.padBegin[0], oh * g.stride[1] - g.padBegin[1],
                                  ow * g.stride[2] - g.padBegin[2]};
        T best = lowest;
        double sum = 0;
        int64_t valid = 0, padded = 1;  // padded: taps inside input + explicit pads (count_include_pad)
        for (int i = 0; i < 3; ++i) {
          int64_t inPad = 0;
          for (int64_t k = 0; k < g.kernel[i]; ++k) {
            const int64_t p = start[i] + k * g.dilation[i];
            inPad += p >= -g.padBegin[i] && p < g.in[i] + g.padEnd[i];
          }
          padded *= inPad;
        }
        for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
          const int64_t id = start[0] + kd * g.dilation[0];
          if (id < 0 || id >= g.in[0]) continue;
          for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
            const int64_t ih = start[1] + kh * g.dilation[1];
            if (ih < 0 || ih >= g.in[1]) continue;
            for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
              const int64_t iw = start[2] + kw * g.dilation[2];
              if (iw < 0 || iw >= g.in[2]) continue;
              const T v = x[(id * g.in[1] + ih) * g.in[2] + iw];
              if (v > best) best = v;  // NaN never wins, as padding is skipped (ONNX reference)
              sum += static_cast<double>(v);
              ++valid;
            }
          }
        }
        const int64_t o = (od * g.out[1] + oh) * g.out[2] + ow;
        y[o] = isMax ? best : static_cast<T>(sum / static_cast<double>(countPad ? padded : valid));
      }
}

void runPooling(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  const Tensor& xin = *inputs[0];
  Tensor& out = outputs[0];
  requireRank3to5(xin, "Pooling");
  const std::string mode = layer.attrs.getString("mode");
  const bool global = mode == "global_max" || mode == "global_average";
  const bool isMax = mode == "max" || mode == "global_max";
  const Dims spatial(xin.dims().begin() + 2, xin.dims().end());
  const SpatialWindow w = poolingWindow(layer.attrs, spatial, global);
  Dims expected = {xin.dims()[0], xin.dims()[1]};
  expected.insert(expected.end(), w.output.begin(), w.output.end());
  const bool quantizes = layer.attrs.has("output_scale");  // int8 out: QuantizeLinear of the float maximum
  if (quantizes && (!isMax || !isFloat(xin.dtype())))
    fail(ErrorCode::Internal, "Pooling with output_scale needs max pooling of a float input, got mode '", mode, "' on ",
         dtypeName(xin.dtype()));
  requireKernelOutput(out, quantizes ? DType::Int8 : xin.dtype(), expected, "Pooling output");
  const Geometry3 g = geometryOf(xin.dims(), w);
  const bool countPad = layer.attrs.getInt("count_include_pad", 0) != 0;
  const int64_t planes = xin.dims()[0] * xin.dims()[1];
  if (isFloat(xin.dtype())) {
    const Tensor x32 = toFloat32(xin);
    Tensor pooled = quantizes ? Tensor(xin.dtype(), expected) : Tensor();
    Tensor& floatOut = quantizes ? pooled : out;
    FloatOutput o(floatOut);
    for (int64_t p = 0; p < planes; ++p)
      poolPlane(x32.data<float>() + p * g.inSize(), o.data() + p * g.outSize(), g, isMax, countPad);
    o.commit();
    if (quantizes) {  // the maxima as stored, divided and rounded as QuantizeLinear does
      const float s = static_cast<float>(layer.attrs.getFloat("output_scale"));
      const Tensor maxima = toFloat32(pooled);
      for (int64_t i = 0; i < maxima.numel(); ++i) out.data<int8_t>()[i] = quantizeToInt8(maxima.data<float>()[i], s);
    }
    return;
  }
  if (!isMax) fail(ErrorCode::DTypeMismatch, "average pooling needs float input, got ", dtypeName(xin.dtype()));
  dispatchInteger(xin.dtype(), "Pooling", [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (int64_t p = 0; p < planes; ++p)
      poolPlane(xin.data<T>() + p * g.inSize(), out.data<T>() + p * g.outSize(), g, true, false);
  });
}

// channels_last = 1 layers (NHWC) run the NCHW kernels on permuted copies.
void runConvolutionAnyLayout(const Layer& layer, const std::vector<const Tensor*>& inputs,
                             std::vector<Tensor>& outputs) {
  if (layer.attrs.getInt("channels_last", 0) == 1)
    return runChannelsLastReference(layer, inputs, outputs, runConvolution);
  runConvolution(layer, inputs, outputs);
}

void runPoolingAnyLayout(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  if (layer.attrs.getInt("channels_last", 0) == 1) return runChannelsLastReference(layer, inputs, outputs, runPooling);
  runPooling(layer, inputs, outputs);
}

}  // namespace

void registerConvolutionKernels() {
  registerCpuKernel({"Convolution", runConvolutionAnyLayout});
  registerCpuKernel({"Pooling", runPoolingAnyLayout});
}

}  // namespace inferrt
