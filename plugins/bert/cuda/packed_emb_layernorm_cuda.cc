// PackedEmbLayerNorm v1 on CUDA (packed_emb_layernorm.cu): checks the inputs' dtypes and shapes, then enqueues the
// cu_seqlens check and the warp-per-token kernel.
#include <initializer_list>
#include <string>
#include <vector>

#include "bert_cuda.h"
#include "ir/error.h"
#include "packed_emb_layernorm_launch.h"
#include "bert/packed_emb_layernorm.h"

namespace inferrt::bert_cuda {

namespace {

static_assert(kIdOutOfRange == static_cast<int32_t>(DeviceErrorCode::IndexOutOfRange),
              "packed_emb_layernorm_launch.h mirrors DeviceErrorCode");

constexpr const char* kNames[8] = {"input_ids",       "segment_ids",         "cu_seqlens",
                                   "word_embeddings", "position_embeddings", "token_type_embeddings",
                                   "gamma",           "beta"};
constexpr size_t kIntInputs[3] = {0, 1, 2};
constexpr size_t kFloatInputs[5] = {3, 4, 5, 6, 7};
bool optional(size_t i) { return i == 1 || i == 5; }

// `t` (input i) must have rank `rank` and, where want[d] >= 0, dims[d] == want[d].
void requireDims(const DeviceTensor& t, size_t i, std::initializer_list<int64_t> want) {
  bool ok = t.dims.size() == want.size();
  size_t d = 0;
  for (int64_t w : want) {
    ok = ok && (w < 0 || t.dims[d] == w);
    ++d;
  }
  if (ok) return;
  Dims shown;
  for (int64_t w : want) shown.push_back(w);
  fail(ErrorCode::ShapeMismatch, "PackedEmbLayerNorm ", kNames[i], " must have shape ", dimsToString(shown),
       " (-1: any), got ", dimsToString(t.dims));
}

}  // namespace

std::string supportsPackedEmbLayerNorm(const Layer& layer, const std::vector<TensorDesc>& in) {
  try {
    readPackedEmbLayerNormAttrs(layer);
  } catch (const Error& e) {
    return e.what();
  }
  for (size_t i : kIntInputs) {
    const TensorDesc* d = descAt(in, i);
    if (!d && !optional(i)) return std::string(kNames[i]) + " absent";
    if (d && d->dtype != DType::Int32) return std::string(kNames[i]) + " of dtype " + dtypeName(d->dtype);
  }
  const TensorDesc* word = descAt(in, 3);
  if (!word) return "word_embeddings absent";
  if (!isFloatType(word->dtype)) return std::string("word_embeddings of dtype ") + dtypeName(word->dtype);
  for (size_t i : kFloatInputs) {
    const TensorDesc* d = descAt(in, i);
    if (!d && !optional(i)) return std::string(kNames[i]) + " absent";
    if (d && d->dtype != word->dtype)
      return std::string(kNames[i]) + " of dtype " + dtypeName(d->dtype) + " (word_embeddings is " +
             dtypeName(word->dtype) + ")";
  }
  return "";
}

void runPackedEmbLayerNorm(CudaKernelArgs& args) {
  const PackedEmbLayerNormAttrs attrs = readPackedEmbLayerNormAttrs(args.layer);
  const DeviceTensor* in[8];
  for (size_t i = 0; i < 8; ++i) {
    in[i] = inputAt(args, i);
    if (!in[i] && !optional(i))
      fail(ErrorCode::InvalidModel, "PackedEmbLayerNorm needs input ", i, " (", kNames[i], ")");
  }
  if (args.outputs.size() != 1) fail(ErrorCode::InvalidModel, "PackedEmbLayerNorm has one output");
  const DType dtype = in[3]->dtype;
  for (size_t i : kIntInputs)
    if (in[i] && in[i]->dtype != DType::Int32)
      fail(ErrorCode::DTypeMismatch, "PackedEmbLayerNorm ", kNames[i], " must be int32, got ", dtypeName(in[i]->dtype));
  if (!isFloatType(dtype))
    fail(ErrorCode::DTypeMismatch, "PackedEmbLayerNorm word_embeddings must be float32 or float16, got ",
         dtypeName(dtype));
  for (size_t i : kFloatInputs)
    if (in[i] && in[i]->dtype != dtype)
      fail(ErrorCode::DTypeMismatch, "PackedEmbLayerNorm ", kNames[i], " must be ", dtypeName(dtype),
           " like word_embeddings, got ", dtypeName(in[i]->dtype));

  requireDims(*in[3], 3, {-1, -1});
  const int64_t hidden = in[3]->dims[1];
  requireDims(*in[0], 0, {-1});
  const int64_t tokens = in[0]->dims[0];
  if (in[1]) requireDims(*in[1], 1, {tokens});
  requireDims(*in[2], 2, {-1});
  if (in[2]->dims[0] < 1) fail(ErrorCode::ShapeMismatch, "PackedEmbLayerNorm cu_seqlens must have B + 1 >= 1 entries");
  requireDims(*in[4], 4, {-1, hidden});
  if (in[5]) requireDims(*in[5], 5, {-1, hidden});
  requireDims(*in[6], 6, {hidden});
  requireDims(*in[7], 7, {hidden});
  DeviceTensor& out = args.outputs[0];
  if (out.dtype != dtype || out.dims != Dims{tokens, hidden})
    fail(ErrorCode::Internal, "PackedEmbLayerNorm output is ", dtypeName(out.dtype), " ", dimsToString(out.dims),
         ", expected ", dtypeName(dtype), " ", dimsToString(Dims{tokens, hidden}));

  PackedEmbLayerNormLaunch a;
  a.half = dtype == DType::Float16;
  a.inputIds = in[0]->as<const int32_t>();
  a.segmentIds = in[1] ? in[1]->as<const int32_t>() : nullptr;
  a.cuSeqlens = in[2]->as<const int32_t>();
  a.word = in[3]->data;
  a.position = in[4]->data;
  a.tokenType = in[5] ? in[5]->data : nullptr;
  a.gamma = in[6]->data;
  a.beta = in[7]->data;
  a.out = out.data;
  a.tokens = tokens;
  a.batch = in[2]->dims[0] - 1;
  a.hidden = hidden;
  a.vocab = in[3]->dims[0];
  a.positions = in[4]->dims[0];
  a.types = in[5] ? in[5]->dims[0] : 0;
  a.positionOffset = attrs.positionOffset;
  a.maxSeqLen = attrs.maxSeqLen;
  a.minSeqLen = attrs.minSeqLen;
  a.epsilon = static_cast<float>(attrs.epsilon);
  a.deviceError = args.env.deviceError;
  a.multiProcessors = args.env.multiProcessors;
  a.stream = args.env.stream;
  launchPackedEmbLayerNorm(a);
}

}  // namespace inferrt::bert_cuda
