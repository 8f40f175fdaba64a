// PackedAttention v1 on CUDA: the fused Attention kernels (attention_flash.cu for fp16 heads of 32 / 64 / 128,
// attention.cu otherwise) with cu_seqlens. qkv [T, 3H] holds per token Q, K, V of all heads side by side, so head h
// of token t is at element t * 3H + h * D in q (offset 0), k (offset H) and v (offset 2H): token stride 3H, head
// stride D. out [T, H]: token stride H, head stride D. The launcher checks cu_seqlens on the device first.
#include <string>
#include <vector>

#include "backend/cuda/kernels/attention_launch.h"
#include "bert_cuda.h"
#include "ir/error.h"
#include "bert/packed_attention.h"

namespace inferrt::bert_cuda {

std::string supportsPackedAttention(const Layer& layer, const std::vector<TensorDesc>& in) {
  try {
    readPackedAttentionAttrs(layer);
  } catch (const Error& e) {
    return e.what();
  }
  const TensorDesc* qkv = descAt(in, 0);
  const TensorDesc* cu = descAt(in, 1);
  if (!qkv || !cu) return "qkv or cu_seqlens absent";
  if (!isFloatType(qkv->dtype)) return std::string("qkv of dtype ") + dtypeName(qkv->dtype);
  if (cu->dtype != DType::Int32) return std::string("cu_seqlens of dtype ") + dtypeName(cu->dtype);
  return "";
}

void runPackedAttention(CudaKernelArgs& args) {
  const DeviceTensor* qkv = inputAt(args, 0);
  const DeviceTensor* cu = inputAt(args, 1);
  if (!qkv || !cu || args.outputs.size() != 1)
    fail(ErrorCode::InvalidModel, "PackedAttention needs inputs qkv and cu_seqlens and one output");
  const PackedAttentionAttrs attrs = readPackedAttentionAttrs(args.layer);
  if (!isFloatType(qkv->dtype))
    fail(ErrorCode::DTypeMismatch, "PackedAttention qkv must be float32 or float16, got ", dtypeName(qkv->dtype));
  if (cu->dtype != DType::Int32)
    fail(ErrorCode::DTypeMismatch, "PackedAttention cu_seqlens must be int32, got ", dtypeName(cu->dtype));
  if (qkv->dims.size() != 2 || qkv->dims[1] % 3 != 0)
    fail(ErrorCode::ShapeMismatch, "PackedAttention qkv must be [tokens, 3 * hidden], got ", dimsToString(qkv->dims));
  if (cu->dims.size() != 1 || cu->dims[0] < 1)
    fail(ErrorCode::ShapeMismatch, "PackedAttention cu_seqlens must be [batch + 1], got ", dimsToString(cu->dims));
  const int64_t tokens = qkv->dims[0], hidden = qkv->dims[1] / 3;
  if (hidden % attrs.numHeads != 0)
    fail(ErrorCode::ShapeMismatch, "PackedAttention hidden size ", hidden, " (qkv ", dimsToString(qkv->dims),
         ") is not a multiple of num_heads ", attrs.numHeads);
  const int64_t headDim = hidden / attrs.numHeads;
  DeviceTensor& out = args.outputs[0];
  if (out.dtype != qkv->dtype || out.dims != Dims{tokens, hidden})
    fail(ErrorCode::Internal, "PackedAttention output is ", dtypeName(out.dtype), " ", dimsToString(out.dims),
         ", expected ", dtypeName(qkv->dtype), " ", dimsToString(Dims{tokens, hidden}));
  // The generic kernel splits the output columns into chunks of 256 over the grid's y dimension (at most 65535).
  if (headDim > int64_t{65535} * 256)
    fail(ErrorCode::UnsupportedOp, "PackedAttention head size ", headDim, " is above the CUDA kernel's limit");

  cudakernels::AttentionLaunch a;
  a.half = qkv->dtype == DType::Float16;
  if (qkv->data) {  // null when there are no tokens: the launcher then only checks cu_seqlens
    const size_t headBytes = static_cast<size_t>(hidden) * dtypeSize(qkv->dtype);
    a.q = qkv->data;
    a.k = static_cast<const char*>(qkv->data) + headBytes;
    a.v = static_cast<const char*>(qkv->data) + 2 * headBytes;
  }
  a.out = out.data;
  a.batch = cu->dims[0] - 1;
  a.heads = attrs.numHeads;
  a.seqQ = a.seqK = attrs.maxSeqLen;  // ignored with cu_seqlens (maxSeqLen bounds the grid)
  a.headDim = a.valueDim = headDim;
  a.qStride = a.kStride = a.vStride = {0, headDim, 3 * hidden};
  a.outStride = {0, headDim, hidden};
  a.alpha = packedAttentionAlpha(attrs, headDim);
  a.allowTensorCores = args.layer.precision == LayerPrecision::Float16 || args.env.allowTf32;
  a.cuSeqlens = cu->as<const int32_t>();
  a.totalTokens = tokens;
  a.maxSeqLen = attrs.maxSeqLen;
  a.minSeqLen = attrs.minSeqLen;
  a.deviceError = args.env.deviceError;
  a.device = args.env.device;
  a.multiProcessors = args.env.multiProcessors;
  a.stream = args.env.stream;
  cudakernels::launchAttention(a);
}

}  // namespace inferrt::bert_cuda
