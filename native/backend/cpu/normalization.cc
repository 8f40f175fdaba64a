// CPU kernel of Normalization: layer (statistics over dims [axis, rank)), instance (per n, c over spatial
// dims) and inference-mode batch normalization (given per-channel mean/var). Statistics use two passes in
// double; y = (x - mean) * invStdDev * scale + bias, rounded once. Layer mode's optional skip (input 5) is added
// to x first in fp32 and the sum rounded as the unfused Add would store it (fp16 for fp16 data or fp16 layers);
// with output_scale it also writes y's int8 values.
#include <cmath>
#include <string>
#include <vector>

#include "backend/cpu/broadcast.h"
#include "backend/cpu/kernel_registry.h"
#include "backend/cpu/math_common.h"
#include "ir/half.h"

namespace inferrt {

namespace {

// A float parameter read as float32, or a constant when the optional input is absent.
struct Param {
  Tensor values;
  float fallback = 0;
  bool present = false;
};

Param readParam(const std::vector<const Tensor*>& inputs, size_t i, float fallback) {
  Param p;
  p.fallback = fallback;
  if (i < inputs.size() && inputs[i]) {
    if (!isFloat(inputs[i]->dtype()))
      fail(ErrorCode::DTypeMismatch, "Normalization input ", i, " must be float, got ", dtypeName(inputs[i]->dtype()));
    p.values = toFloat32(*inputs[i]);
    p.present = true;
  }
  return p;
}

// For each element of `x`, the index into a parameter broadcast to x's shape.
std::vector<int64_t> broadcastIndex(const Dims& x, const Dims& param) {
  std::vector<int64_t> idx(static_cast<size_t>(volume(x)));
  BroadcastWalker walk(x, {param});
  walk.forEach([&](int64_t i, const int64_t* off) { idx[i] = off[0]; });
  return idx;
}

void layerNorm(const Layer& layer, const float* x, const Dims& dims, const Param& scale, const Param& bias,
               float* y, std::vector<Tensor>& outputs) {
  const int64_t axis = normalizeAxis(layer.attrs.getInt("axis", -1), static_cast<int64_t>(dims.size()), "axis");
  const double eps = layer.attrs.getFloat("epsilon", 1e-5);
  int64_t rows = 1, n = 1;
  for (size_t d = 0; d < dims.size(); ++d) (static_cast<int64_t>(d) < axis ? rows : n) *= dims[d];
  const std::vector<int64_t> si = scale.present ? broadcastIndex(dims, scale.values.dims()) : std::vector<int64_t>();
  const std::vector<int64_t> bi = bias.present ? broadcastIndex(dims, bias.values.dims()) : std::vector<int64_t>();
  const size_t statistics = layer.attrs.has("output_scale") ? 0 : outputs.size() - 1;  // else output 1 is int8
  float* meanOut = statistics > 0 ? outputs[1].data<float>() : nullptr;
  float* invOut = statistics > 1 ? outputs[2].data<float>() : nullptr;
  for (size_t i = 1; i <= statistics; ++i)
    if (outputs[i].numel() != rows || outputs[i].dtype() != DType::Float32)
      fail(ErrorCode::ShapeMismatch, "Normalization statistics output ", i, " must be float32 with ", rows,
           " elements, got ", dimsToString(outputs[i].dims()));
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    double mean = 0, var = 0;
    for (int64_t k = 0; k < n; ++k) mean += xr[k];
    mean /= static_cast<double>(n);
    for (int64_t k = 0; k < n; ++k) var += (xr[k] - mean) * (xr[k] - mean);
    var /= static_cast<double>(n);
    const double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t k = 0; k < n; ++k) {
      const int64_t i = r * n + k;
      const double s = scale.present ? scale.values.data<float>()[si[i]] : 1.0;
      const double b = bias.present ? bias.values.data<float>()[bi[i]] : 0.0;
      y[i] = static_cast<float>((xr[k] - mean) * inv * s + b);
    }
    if (meanOut) meanOut[r] = static_cast<float>(mean);
    if (invOut) invOut[r] = static_cast<float>(inv);
  }
}

// output_scale s: output 1 holds y's int8 values as a QuantizeLinear reading y would give them, from y as stored
// (fp16-rounded in an fp16 layer: the executor rounds its float32 outputs after the kernel), divided in fp32.
void writeInt8Values(const Layer& layer, std::vector<Tensor>& outputs) {
  const float s = static_cast<float>(layer.attrs.getFloat("output_scale"));
  requireKernelOutput(outputs[1], DType::Int8, outputs[0].dims(), "Normalization int8 output");
  const Tensor y = toFloat32(outputs[0]);
  const bool half = layer.precision == LayerPrecision::Float16;
  const float* v = y.data<float>();
  int8_t* q = outputs[1].data<int8_t>();
  for (int64_t i = 0; i < y.numel(); ++i) q[i] = quantizeToInt8(half ? roundToHalf(v[i]) : v[i], s);
}

// x + skip in fp32, each sum rounded to fp16 where the unfused Add would have stored fp16: fp16 data, or an fp16
// layer (the executor emulates those on float32 tensors holding fp16 values).
Tensor addSkip(const Layer& layer, const Tensor& x, const Tensor& skip) {
  if (skip.dtype() != x.dtype() || skip.dims() != x.dims())
    fail(ErrorCode::ShapeMismatch, "skip (input 5) is ", dtypeName(skip.dtype()), " ", dimsToString(skip.dims()),
         ", expected x's ", dtypeName(x.dtype()), " ", dimsToString(x.dims()));
  const bool half = x.dtype() == DType::Float16 || layer.precision == LayerPrecision::Float16;
  const Tensor x32 = toFloat32(x), s32 = toFloat32(skip);  // views of float32 data: read only
  Tensor sum(DType::Float32, x.dims());
  const float *a = x32.data<float>(), *b = s32.data<float>();
  float* d = sum.data<float>();
  for (int64_t i = 0; i < sum.numel(); ++i) {
    const float v = a[i] + b[i];
    d[i] = half ? roundToHalf(v) : v;
  }
  return sum;
}

// Checks a per-channel parameter and returns its value for channel c (or the fallback when absent).
float channelValue(const Param& p, int64_t c) { return p.present ? p.values.data<float>()[c] : p.fallback; }

void requireChannels(const Param& p, int64_t channels, const char* what) {
  if (p.present && (p.values.rank() != 1 || p.values.numel() != channels))
    fail(ErrorCode::ShapeMismatch, what, " must have shape [", channels, "], got ", dimsToString(p.values.dims()));
}

void runNormalization(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  const std::string mode = layer.attrs.getString("mode");
  const Tensor& xin = *inputs[0];
  requireKernelOutput(outputs[0], xin.dtype(), xin.dims(), "Normalization output");
  const Tensor* skip = inputs.size() > 5 ? inputs[5] : nullptr;
  if (skip && mode != "layer")
    fail(ErrorCode::InvalidModel, "skip (input 5) is only allowed in layer mode, got mode '", mode, "'");
  const Tensor x32 = skip ? addSkip(layer, xin, *skip) : toFloat32(xin);
  const float* x = x32.data<float>();
  const Param scale = readParam(inputs, 1, 1.0f);
  const Param bias = readParam(inputs, 2, 0.0f);
  FloatOutput o(outputs[0]);
  float* y = o.data();
  if (mode == "layer") {
    layerNorm(layer, x, xin.dims(), scale, bias, y, outputs);
    o.commit();
    if (layer.attrs.has("output_scale")) writeInt8Values(layer, outputs);
    return;
  }
  if (xin.rank() < 2) fail(ErrorCode::ShapeMismatch, mode, " normalization needs rank >= 2");
  const double eps = layer.attrs.getFloat("epsilon", 1e-5);
  const int64_t batch = xin.dims()[0], channels = xin.dims()[1];
  const int64_t spatial = channels != 0 && batch != 0 ? xin.numel() / (channels * batch) : 0;
  requireChannels(scale, channels, "scale (input 1)");
  requireChannels(bias, channels, "bias (input 2)");
  if (mode == "instance") {
    for (int64_t nc = 0; nc < batch * channels; ++nc) {
      const float* xp = x + nc * spatial;
      double mean = 0, var = 0;
      for (int64_t k = 0; k < spatial; ++k) mean += xp[k];
      mean /= static_cast<double>(spatial);
      for (int64_t k = 0; k < spatial; ++k) var += (xp[k] - mean) * (xp[k] - mean);
      var /= static_cast<double>(spatial);
      const double inv = 1.0 / std::sqrt(var + eps);
      const double s = channelValue(scale, nc % channels), b = channelValue(bias, nc % channels);
      for (int64_t k = 0; k < spatial; ++k) y[nc * spatial + k] = static_cast<float>((xp[k] - mean) * inv * s + b);
    }
  } else if (mode == "batch") {
    const Param mean = readParam(inputs, 3, 0.0f);
    const Param var = readParam(inputs, 4, 1.0f);
    if (!mean.present || !var.present) fail(ErrorCode::InvalidModel, "batch normalization needs mean and var inputs");
    requireChannels(mean, channels, "mean (input 3)");
    requireChannels(var, channels, "var (input 4)");
    for (int64_t nc = 0; nc < batch * channels; ++nc) {
      const int64_t c = nc % channels;
      const double m = channelValue(mean, c);
      const double inv = 1.0 / std::sqrt(static_cast<double>(channelValue(var, c)) + eps);
      const double s = channelValue(scale, c), b = channelValue(bias, c);
      for (int64_t k = 0; k < spatial; ++k) {
        const int64_t i = nc * spatial + k;
        y[i] = static_cast<float>((x[i] - m) * inv * s + b);
      }
    }
  } else {
    fail(ErrorCode::InvalidArgument, "unknown Normalization mode '", mode, "'");
  }
  o.commit();
}

}  // namespace

void registerNormalizationKernels() { registerCpuKernel({"Normalization", runNormalization}); }

}  // namespace inferrt
