// channels_last = 1 Convolution / QuantizedConvolution / Pooling on the CPU: permute to NCHW, run the NCHW kernel, permute back.
#include "backend/cpu/channels_last_reference.h"

#include <cstring>

#include "backend/cpu/movement_common.h"

namespace inferrt {

namespace {

const std::vector<int64_t> kToNchw = {0, 3, 1, 2};  // [N, H, W, C] -> [N, C, H, W] (and KRSC -> KCRS)
const std::vector<int64_t> kToNhwc = {0, 2, 3, 1};

// A row-major copy of rank-4 `x` with dims permuted: result dim i is x's dim perm[i].
Tensor permuted(const Tensor& x, const std::vector<int64_t>& perm, const char* what) {
  if (x.rank() != 4)
    fail(ErrorCode::ShapeMismatch, what, " must have rank 4 with channels_last = 1, got ", dimsToString(x.dims()));
  const std::vector<int64_t> in = stridesOf(x.dims());
  Dims dims(4);
  std::vector<int64_t> strides(4);
  for (size_t i = 0; i < 4; ++i) {
    dims[i] = x.dims()[perm[i]];
    strides[i] = in[perm[i]];
  }
  Tensor out(x.dtype(), dims);
  stridedCopy(x, 0, strides, out);
  return out;
}

}  // namespace

void runChannelsLastReference(const Layer& layer, const std::vector<const Tensor*>& inputs,
                              std::vector<Tensor>& outputs, CpuKernel nchw) {
  const bool quantized = layer.kind == "QuantizedConvolution";
  const bool conv = quantized || layer.kind == "Convolution";
  const size_t residual = quantized ? 4 : 3;  // QuantizedConvolution has its dequantScale at 2, bias at 3
  std::vector<Tensor> held;  // the permuted copies, alive while the NCHW kernel reads them
  held.reserve(inputs.size());
  std::vector<const Tensor*> nchwInputs(inputs.size(), nullptr);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i]) continue;
    const bool permute = i == 0 || (conv && (i == 1 || i == residual));  // x, weights, residual; [M] inputs stay
    if (!permute) {
      nchwInputs[i] = inputs[i];
      continue;
    }
    held.push_back(permuted(*inputs[i], kToNchw, i == 0 ? "input" : i == 1 ? "weights" : "residual"));
    nchwInputs[i] = &held.back();
  }
  Layer plain = layer;
  plain.attrs.set("channels_last", int64_t{0});
  std::vector<Tensor> nchwOutputs;
  for (const Tensor& out : outputs) {
    if (out.rank() != 4)
      fail(ErrorCode::Internal, layer.kind, " channels_last output is ", dimsToString(out.dims()), ", expected rank 4");
    const Dims& d = out.dims();
    nchwOutputs.emplace_back(out.dtype(), Dims{d[0], d[3], d[1], d[2]});
  }
  nchw(plain, nchwInputs, nchwOutputs);
  for (size_t o = 0; o < outputs.size(); ++o) {
    const Tensor back = permuted(nchwOutputs[o], kToNhwc, "output");
    if (back.dims() != outputs[o].dims())
      fail(ErrorCode::Internal, layer.kind, " channels_last output is ", dimsToString(outputs[o].dims()),
           ", the NCHW kernel gave ", dimsToString(nchwOutputs[o].dims()));
    if (back.byteSize() > 0) std::memcpy(outputs[o].raw(), back.raw(), back.byteSize());
  }
}

}  // namespace inferrt
