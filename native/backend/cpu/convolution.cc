// CPU kernels of Convolution and Pooling. Spatial dims are padded to three (leading 1s) so one loop nest
// serves 1-D to 3-D. Convolution is direct and weight-stationary: for each weight tap it adds a strided row
// of the input to a double accumulator plane, so each output sums its taps in (channel, kernel) order. A fused
// residual (input 3) and relu are applied to each plane before it is stored. channels_last = 1 layers (NHWC) run
// these NCHW kernels on permuted copies (channels_last_reference.cc).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "backend/cpu/channels_last_reference.h"
#include "backend/cpu/kernel_registry.h"
#include "backend/cpu/math_common.h"
#include "ir/ops/shape_helpers.h"

namespace inferrt {

namespace {

// Window geometry in three spatial dims.
struct Geometry3 {
  int64_t in[3], out[3], kernel[3], stride[3], dilation[3], padBegin[3], padEnd[3];
  int64_t inSize() const { return in[0] * in[1] * in[2]; }
  int64_t outSize() const { return out[0] * out[1] * out[2]; }
};

Geometry3 geometryOf(const Dims& xDims, const SpatialWindow& w) {
  Geometry3 g;
  const size_t n = xDims.size() - 2, lead = 3 - n;
  for (size_t i = 0; i < 3; ++i) {
    const bool real = i >= lead;
    const size_t j = i - lead;
    g.in[i] = real ? xDims[2 + j] : 1;
    g.out[i] = real ? w.output[j] : 1;
    g.kernel[i] = real ? w.kernel[j] : 1;
    g.stride[i] = real ? w.strides[j] : 1;
    g.dilation[i] = real ? w.dilations[j] : 1;
    g.padBegin[i] = real ? w.padBegin[j] : 0;
    g.padEnd[i] = real ? w.padEnd[j] : 0;
  }
  return g;
}

// Output positions o in [lo, hi] whose tap k lands inside the input along dim i.
void tapRange(const Geometry3& g, int i, int64_t k, int64_t* lo, int64_t* hi) {
  const int64_t offset = k * g.dilation[i] - g.padBegin[i];  // input = o * stride + offset
  *lo = std::max<int64_t>(0, ceilDiv(-offset, g.stride[i]));
  *hi = std::min<int64_t>(g.out[i] - 1, floorDiv(g.in[i] - 1 - offset, g.stride[i]));
}

void requireRank3to5(const Tensor& x, const char* kind) {
  if (x.rank() < 3 || x.rank() > 5)
    fail(ErrorCode::ShapeMismatch, kind, " input must have rank 3 to 5, got ", dimsToString(x.dims()));
}

void runConvolution(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  const Tensor& xin = *inputs[0];
  const Tensor& win = *inputs[1];
  const Tensor* bin = inputs.size() > 2 ? inputs[2] : nullptr;
  const Tensor* rin = inputs.size() > 3 ? inputs[3] : nullptr;
  const std::string act = layer.attrs.getString("activation", "none");
  if (act != "none" && act != "relu") fail(ErrorCode::InvalidArgument, "Convolution activation '", act, "'");
  const bool relu = act == "relu";
  requireRank3to5(xin, "Convolution");
  if (win.rank() != xin.rank()) fail(ErrorCode::ShapeMismatch, "Convolution weights must have the input's rank");
  const int64_t batch = xin.dims()[0], channels = xin.dims()[1], outChannels = win.dims()[0];
  const int64_t group = layer.attrs.getInt("group", 1);
  if (group < 1 || channels % group != 0 || outChannels % group != 0 || channels / group != win.dims()[1])
    fail(ErrorCode::ShapeMismatch, "Convolution channels ", channels, " / weights ", dimsToString(win.dims()),
         " do not fit group ", group);
  if (bin && bin->numel() != outChannels)
    fail(ErrorCode::ShapeMismatch, "Convolution bias must have ", outChannels, " values, got ", bin->numel());
  const SpatialWindow w = resolveWindow(layer.attrs, Dims(xin.dims().begin() + 2, xin.dims().end()),
                                        Dims(win.dims().begin() + 2, win.dims().end()), false);
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
        for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
          int64_t dLo, dHi;
          tapRange(g, 0, kd, &dLo, &dHi);
          for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
            int64_t hLo, hHi;
            tapRange(g, 1, kh, &hLo, &hHi);
            for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
              int64_t wLo, wHi;
              tapRange(g, 2, kw, &wLo, &wHi);
              const double wv = wc[(kd * g.kernel[1] + kh) * g.kernel[2] + kw];
              const int64_t wOffset = kw * g.dilation[2] - g.padBegin[2];
              for (int64_t od = dLo; od <= dHi; ++od) {
                const int64_t id = od * g.stride[0] + kd * g.dilation[0] - g.padBegin[0];
                for (int64_t oh = hLo; oh <= hHi; ++oh) {
                  const int64_t ih = oh * g.stride[1] + kh * g.dilation[1] - g.padBegin[1];
                  const float* xrow = xc + (id * g.in[1] + ih) * g.in[2];
                  double* prow = plane.data() + (od * g.out[1] + oh) * g.out[2];
                  for (int64_t ow = wLo; ow <= wHi; ++ow) prow[ow] += wv * xrow[ow * g.stride[2] + wOffset];
                }
              }
            }
          }
        }
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
  requireKernelOutput(out, xin.dtype(), expected, "Pooling output");
  const Geometry3 g = geometryOf(xin.dims(), w);
  const bool countPad = layer.attrs.getInt("count_include_pad", 0) != 0;
  const int64_t planes = xin.dims()[0] * xin.dims()[1];
  if (isFloat(xin.dtype())) {
    const Tensor x32 = toFloat32(xin);
    FloatOutput o(out);
    for (int64_t p = 0; p < planes; ++p)
      poolPlane(x32.data<float>() + p * g.inSize(), o.data() + p * g.outSize(), g, isMax, countPad);
    o.commit();
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
