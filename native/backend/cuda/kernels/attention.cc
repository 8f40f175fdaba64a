// CUDA kernel of the fused Attention layer: q, k, v, mask? -> out (int8 with output_scale), with alpha and
// per-tensor layouts (0: stored [B, H, S, D], 1: stored [B, S, H, D]). Reads the logical sizes off the dims, checks
// that they agree (the shape rule already does; a launch never sees inconsistent sizes), derives the element strides
// of each tensor and of the mask broadcast to [B, H, Sq, Sk], and hands them to the launcher (attention_launch.h),
// which picks the tensor-core path or the generic one.
#include <array>
#include <string>
#include <vector>

#include "backend/cpu/broadcast.h"
#include "backend/cuda/kernels/attention_launch.h"
#include "backend/cuda/kernels/cuda_kernel.h"
#include "backend/cuda/kernels/packed_sequences.h"
#include "int8/half_quantize_reciprocal.h"
#include "ir/ops/attention_geometry.h"

namespace inferrt {

namespace {

static_assert(cudakernels::kInvalidSequenceOffsets == static_cast<int32_t>(DeviceErrorCode::InvalidSequenceOffsets),
              "packed_sequences.h mirrors DeviceErrorCode");

using cudakernels::AttentionStrides;

constexpr const char* kTensorNames[4] = {"q", "k", "v", "out"};

// Logical [B, H, S, D] sizes of a rank-4 tensor stored in `layout` order (attention_geometry.h), and its element
// strides along b, h and s.
struct HeadView {
  Dims dims;  // logical
  AttentionStrides strides;
};

HeadView viewOf(const DeviceTensor& t, int64_t layout, const char* name) {
  if (t.dims.size() != 4)
    fail(ErrorCode::ShapeMismatch, "Attention ", name, " must have rank 4, got ", dimsToString(t.dims));
  HeadView v;
  v.dims = attentionSwapForLayout(t.dims, layout);
  const std::array<int64_t, 4> s = attentionStrides(v.dims, layout);  // s[3] == 1: d is contiguous
  v.strides = {s[0], s[1], s[2]};
  return v;
}

// `got` must have logical sizes `want` (the message shows both in the tensor's stored order).
void requireView(const HeadView& got, const DeviceTensor& t, const Dims& want, int64_t layout, const char* name) {
  if (got.dims == want) return;
  fail(ErrorCode::ShapeMismatch, "Attention ", name, " (layout ", layout, ") must have shape ",
       dimsToString(attentionSwapForLayout(want, layout)), ", got ", dimsToString(t.dims));
}

// Whether `mask` broadcasts (numpy, right-aligned) to `scores` without enlarging it.
bool broadcastsTo(const Dims& mask, const Dims& scores) {
  if (mask.size() > scores.size()) return false;
  const size_t lead = scores.size() - mask.size();
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i] != 1 && mask[i] != scores[lead + i]) return false;
  return true;
}

void runAttention(CudaKernelArgs& args) {
  if (args.inputs.size() < 3 || !args.inputs[0] || !args.inputs[1] || !args.inputs[2] || args.outputs.size() != 1)
    fail(ErrorCode::InvalidModel, "Attention needs inputs q, k, v (mask optional) and one output");
  const DeviceTensor* in[3] = {args.inputs[0], args.inputs[1], args.inputs[2]};
  const DeviceTensor* mask = args.inputs.size() > 3 ? args.inputs[3] : nullptr;
  DeviceTensor& out = args.outputs[0];
  const AttentionAttrs attrs = readAttentionAttrs(args.layer.attrs);  // InvalidArgument on a bad alpha / layout
  const std::array<int64_t, 4>& layouts = attrs.layout;

  const DType dtype = in[0]->dtype;
  if (dtype != DType::Float32 && dtype != DType::Float16)
    fail(ErrorCode::DTypeMismatch, "Attention q must be float32 or float16, got ", dtypeName(dtype));
  for (int i = 1; i < 3; ++i)
    if (in[i]->dtype != dtype)
      fail(ErrorCode::DTypeMismatch, "Attention ", kTensorNames[i], " must have q's dtype ", dtypeName(dtype),
           ", got ", dtypeName(in[i]->dtype));
  // output_scale (the builder's INT8 output fusion): int8 out, QuantizeLinear's values of the dtype-rounded output.
  const float outScale = static_cast<float>(args.layer.attrs.getFloat("output_scale", 0.0));
  const DType outType = outScale > 0 ? DType::Int8 : dtype;
  if (out.dtype != outType)
    fail(ErrorCode::Internal, "Attention out is ", dtypeName(out.dtype), ", expected ", dtypeName(outType));

  const HeadView q = viewOf(*in[0], layouts[0], "q");
  const HeadView k = viewOf(*in[1], layouts[1], "k");
  const HeadView v = viewOf(*in[2], layouts[2], "v");
  const HeadView o = viewOf(out, layouts[3], "out");
  const int64_t batch = q.dims[0], heads = q.dims[1], seqQ = q.dims[2], seqK = k.dims[2], headDim = q.dims[3],
                valueDim = v.dims[3];
  requireView(k, *in[1], {batch, heads, seqK, headDim}, layouts[1], "k");
  requireView(v, *in[2], {batch, heads, seqK, valueDim}, layouts[2], "v");
  requireView(o, out, {batch, heads, seqQ, valueDim}, layouts[3], "out");

  cudakernels::AttentionLaunch a;
  a.half = dtype == DType::Float16;
  a.q = in[0]->data;
  a.k = in[1]->data;
  a.v = in[2]->data;
  a.out = out.data;
  if (outScale > 0 && out.numel() > 0) {
    a.outScale = outScale;
    a.outReciprocal = a.half ? halfQuantizeReciprocal(outScale) : 0.0f;
    a.outStaging = args.env.scratch(static_cast<size_t>(out.numel()) * dtypeSize(dtype));  // the generic path's
  }
  a.batch = batch;
  a.heads = heads;
  a.seqQ = seqQ;
  a.seqK = seqK;
  a.headDim = headDim;
  a.valueDim = valueDim;
  a.qStride = q.strides;
  a.kStride = k.strides;
  a.vStride = v.strides;
  a.outStride = o.strides;
  a.alpha = attrs.alpha;
  a.zeroNanRows = attrs.zeroNanRows;
  if (mask) {
    if (mask->dtype != DType::Float32 && mask->dtype != dtype)
      fail(ErrorCode::DTypeMismatch, "Attention mask must be float32 or ", dtypeName(dtype), ", got ",
           dtypeName(mask->dtype));
    const Dims scores{batch, heads, seqQ, seqK};
    if (!broadcastsTo(mask->dims, scores))
      fail(ErrorCode::ShapeMismatch, "Attention mask of shape ", dimsToString(mask->dims),
           " does not broadcast to the scores [B, H, Sq, Sk] = ", dimsToString(scores));
    const std::vector<int64_t> strides = broadcastStrides(mask->dims, scores);
    for (int d = 0; d < 4; ++d) a.maskStride[d] = strides[d];
    a.mask = mask->numel() > 0 ? mask->data : nullptr;  // empty mask: empty scores, nothing is launched
    a.maskHalf = mask->dtype == DType::Float16;
  }
  a.allowTensorCores = args.layer.precision == LayerPrecision::Float16 || args.env.allowTf32;
  a.device = args.env.device;
  a.multiProcessors = args.env.multiProcessors;
  a.stream = args.env.stream;
  if (out.numel() == 0) return;
  // The generic kernel splits the output columns into chunks of 256 over the grid's y dimension (at most 65535).
  if (a.valueDim > int64_t{65535} * 256)
    fail(ErrorCode::UnsupportedOp, "Attention value head size ", a.valueDim, " is above the CUDA kernel's limit");
  cudakernels::launchAttention(a);
}

std::string attentionSupports(const Layer&, const std::vector<TensorDesc>& in) {
  if (in.size() < 3) return "fewer than 3 inputs";
  const DType dtype = in[0].dtype;
  if (dtype != DType::Float32 && dtype != DType::Float16) return std::string("q of dtype ") + dtypeName(dtype);
  for (size_t i = 1; i < 3; ++i)
    if (!in[i].present || in[i].dtype != dtype)
      return std::string(kTensorNames[i]) + (in[i].present ? " of dtype " + std::string(dtypeName(in[i].dtype)) +
                                                                  " (q is " + dtypeName(dtype) + ")"
                                                            : " absent");
  if (in.size() > 3 && in[3].present) {
    if (in[3].dtype != DType::Float32 && in[3].dtype != dtype)
      return std::string("mask of dtype ") + dtypeName(in[3].dtype);
    if (in[3].dims.size() > 4) return "mask of rank " + std::to_string(in[3].dims.size());
  }
  return "";
}

}  // namespace

void registerCudaAttentionKernels() { registerCudaKernel({"Attention", attentionSupports, runAttention, 0}); }

}  // namespace inferrt
