// CPU reference of PackedEmbLayerNorm v1: the oracle for its CUDA kernel. cu_seqlens and every id are checked
// before any table is read. Per token the embedding sum is formed in float32, (word + type) + position (HF BERT's
// order), its mean and biased variance in double (two passes), and y = (e - mean) / sqrt(var + eps) * gamma + beta
// in double, rounded once to the output dtype. Table rows are read one at a time (float16 decoded per element),
// so a large vocabulary is never copied.
#include <cmath>
#include <cstring>
#include <vector>

#include "packed_emb_layernorm.h"
#include "sequence_offsets.h"
#include "ir/error.h"
#include "ir/half.h"

namespace inferrt {

namespace {

constexpr const char* kPlugin = "PackedEmbLayerNorm";

// Row r of a float32 / float16 [rows, hidden] table, as float32, into dst.
void readRow(const Tensor& table, int64_t r, int64_t hidden, float* dst) {
  if (table.dtype() == DType::Float32) {
    std::memcpy(dst, table.data<float>() + r * hidden, static_cast<size_t>(hidden) * sizeof(float));
    return;
  }
  const uint16_t* src = table.data<uint16_t>() + r * hidden;
  for (int64_t k = 0; k < hidden; ++k) dst[k] = halfToFloat(src[k]);
}

// Every value of `ids` must index a row of `table` (rows [0, limit)).
void checkIds(const Layer& layer, const Tensor& ids, int64_t limit, const char* name, const char* table) {
  const int32_t* p = ids.data<int32_t>();
  for (int64_t t = 0; t < ids.numel(); ++t)
    if (p[t] < 0 || p[t] >= limit)
      fail(ErrorCode::InvalidArgument, kPlugin, " layer '", layer.name, "': ", name, "[", t, "] = ", p[t],
           " is outside [0, ", limit, "), the rows of ", table);
}

// A float32 copy of a [hidden] parameter.
std::vector<float> paramValues(const Tensor& t, int64_t hidden, const char* name) {
  if (t.rank() != 1 || t.dims()[0] != hidden || !isFloat(t.dtype()))
    fail(ErrorCode::ShapeMismatch, kPlugin, " ", name, " is ", dtypeName(t.dtype()), " ", dimsToString(t.dims()),
         ", expected float [", hidden, "]");
  const Tensor f = toFloat32(t);
  return std::vector<float>(f.data<float>(), f.data<float>() + hidden);
}

}  // namespace

void runPackedEmbLayerNormCpu(const Layer& layer, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const PackedEmbLayerNormAttrs attrs = readPackedEmbLayerNormAttrs(layer);
  auto input = [&](size_t i) { return i < in.size() ? in[i] : nullptr; };
  const Tensor *ids = input(0), *segments = input(1), *cu = input(2), *word = input(3), *position = input(4),
               *type = input(5), *gamma = input(6), *beta = input(7);
  if (!ids || !cu || !word || !position || !gamma || !beta)
    fail(ErrorCode::InvalidModel, kPlugin, " needs input_ids, cu_seqlens, word_embeddings, position_embeddings, "
         "gamma and beta");
  // The shape rule checked these on the concrete inputs; what could read out of bounds is checked again.
  if (ids->dtype() != DType::Int32 || ids->rank() != 1 || cu->dtype() != DType::Int32 || cu->rank() != 1 ||
      word->rank() != 2 || !isFloat(word->dtype()))
    fail(ErrorCode::ShapeMismatch, kPlugin, " input_ids, cu_seqlens or word_embeddings has the wrong dtype or rank");
  const int64_t tokens = ids->dims()[0], vocab = word->dims()[0], hidden = word->dims()[1];
  for (const Tensor* table : {position, type})
    if (table && (table->rank() != 2 || table->dims()[1] != hidden || table->dtype() != word->dtype()))
      fail(ErrorCode::ShapeMismatch, kPlugin, " embedding table ", dimsToString(table->dims()), " ",
           dtypeName(table->dtype()), " does not match word_embeddings ", dimsToString(word->dims()), " ",
           dtypeName(word->dtype()));
  if (segments && (!type || segments->dtype() != DType::Int32 || segments->dims() != ids->dims()))
    fail(ErrorCode::ShapeMismatch, kPlugin, " segment_ids must be int32 [", tokens, "] with a token type table");
  if (out.size() != 1 || out[0].dtype() != word->dtype() || out[0].dims() != Dims{tokens, hidden})
    fail(ErrorCode::Internal, kPlugin, " output is not allocated as ", dtypeName(word->dtype()), " [", tokens, ", ",
         hidden, "]");

  const int32_t* offsets = cu->data<int32_t>();
  const int64_t batch = cu->numel() - 1;
  validateSequenceOffsets(kPlugin, layer, offsets, cu->numel(), tokens, attrs.maxSeqLen, attrs.minSeqLen);
  if (attrs.positionOffset > position->dims()[0] - attrs.maxSeqLen)
    fail(ErrorCode::InvalidArgument, kPlugin, " layer '", layer.name, "': position_embeddings has ",
         position->dims()[0], " rows, fewer than position_offset ", attrs.positionOffset, " + max_seq_len ",
         attrs.maxSeqLen);
  checkIds(layer, *ids, vocab, "input_ids", "word_embeddings");
  if (segments) checkIds(layer, *segments, type->dims()[0], "segment_ids", "token_type_embeddings");
  if (type && !segments && type->dims()[0] == 0)
    fail(ErrorCode::InvalidArgument, kPlugin, " layer '", layer.name,
         "': token_type_embeddings has no rows, but without segment_ids every token reads row 0");
  const std::vector<float> g = paramValues(*gamma, hidden, "gamma"), bt = paramValues(*beta, hidden, "beta");

  const int32_t* idp = ids->data<int32_t>();
  const int32_t* segp = segments ? segments->data<int32_t>() : nullptr;
  std::vector<float> e(static_cast<size_t>(hidden)), row(static_cast<size_t>(hidden));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = offsets[b]; t < offsets[b + 1]; ++t) {
      readRow(*word, idp[t], hidden, e.data());
      if (type) {
        readRow(*type, segp ? segp[t] : 0, hidden, row.data());
        for (int64_t k = 0; k < hidden; ++k) e[k] = e[k] + row[k];
      }
      // In range: the sequence is at most max_seq_len long and offset + max_seq_len <= P (checked above).
      readRow(*position, t - offsets[b] + attrs.positionOffset, hidden, row.data());
      double mean = 0, var = 0;
      for (int64_t k = 0; k < hidden; ++k) {
        e[k] = e[k] + row[k];
        mean += e[k];
      }
      mean /= static_cast<double>(hidden);
      for (int64_t k = 0; k < hidden; ++k) var += (e[k] - mean) * (e[k] - mean);
      var /= static_cast<double>(hidden);
      const double inv = 1.0 / std::sqrt(var + attrs.epsilon);
      for (int64_t k = 0; k < hidden; ++k) {
        const float y = static_cast<float>((e[k] - mean) * inv * g[k] + bt[k]);
        if (out[0].dtype() == DType::Float32) out[0].data<float>()[t * hidden + k] = y;
        else out[0].data<uint16_t>()[t * hidden + k] = floatToHalf(y);
      }
    }
  }
}

}  // namespace inferrt
