// The packed-sequence rewrite (TensorRT-style variable-sequence-length BERT): with config.packed set, a network
// recognized as a BERT / RoBERTa encoder (bert_encoder_match.cc) is rebuilt from the BERT plugins over packed
// tokens — no padding anywhere: every token of every request in one [T, H] activation, cu_seqlens telling where
// each sequence starts. Q, K and V become one GEMM; attention runs per sequence (PackedAttention); the residual
// layer norms are SkipLayerNorm; the intermediate dense + GELU is FullyConnected. A pooler (dense + tanh over each
// sequence's first token) is kept, reading the first tokens through cu_seqlens.
#include <string>

#include "builder/bert_encoder_match.h"
#include "builder/passes.h"
#include "ir/error.h"

namespace inferrt {

namespace {

// [K, Na] and [K, Nb] ... side by side: [K, sum N].
TensorPtr concatColumns(const std::vector<TensorPtr>& parts) {
  const int64_t rows = parts[0]->dims()[0];
  int64_t cols = 0;
  for (const TensorPtr& p : parts) cols += p->dims()[1];
  Tensor out(DType::Float32, {rows, cols});
  int64_t at = 0;
  for (const TensorPtr& p : parts) {
    const int64_t n = p->dims()[1];
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < n; ++c) out.data<float>()[r * cols + at + c] = p->data<float>()[r * n + c];
    at += n;
  }
  return std::make_shared<const Tensor>(std::move(out));
}

// Biases of the parts one after another (a missing bias is zeros of its part's width).
TensorPtr concatBiases(const std::vector<DenseWeights>& parts) {
  int64_t total = 0;
  for (const DenseWeights& p : parts) total += p.weight->dims()[1];
  Tensor out(DType::Float32, {total});
  int64_t at = 0;
  for (const DenseWeights& p : parts) {
    const int64_t n = p.weight->dims()[1];
    if (p.bias)
      for (int64_t c = 0; c < n; ++c) out.data<float>()[at + c] = p.bias->data<float>()[c];
    at += n;
  }
  return std::make_shared<const Tensor>(std::move(out));
}

TensorPtr int64Vector(std::initializer_list<int64_t> values) {
  Tensor t(DType::Int64, {static_cast<int64_t>(values.size())});
  int64_t i = 0;
  for (int64_t v : values) t.data<int64_t>()[i++] = v;
  return std::make_shared<const Tensor>(std::move(t));
}

class PackedBuilder {
 public:
  PackedBuilder(const Network& source, const BertEncoderMatch& m, const PackedSequenceOptions& options)
      : source_(source), m_(m), options_(options) {}

  Network build() {
    ids_ = out_.addInput("input_ids", DType::Int32, {kDynamic});
    if (m_.tokenTypeInput) segments_ = out_.addInput("segment_ids", DType::Int32, {kDynamic});
    cuSeqlens_ = out_.addInput("cu_seqlens", DType::Int32, {kDynamic});
    int x = embeddings();
    for (size_t i = 0; i < m_.layers.size(); ++i) x = encoderLayer(m_.layers[i], x, i);
    const TensorInfo& last = source_.tensor(m_.lastHidden);
    if (last.isOutput) {
      out_.renameTensor(x, last.name);
      out_.markOutput(x);
    }
    if (m_.firstTokenGather >= 0) pooler(x);
    return std::move(out_);
  }

 private:
  int constant(const std::string& name, TensorPtr value) {
    std::string unique = name;
    for (int i = 1; out_.findTensor(unique) >= 0; ++i) unique = name + "_" + std::to_string(i);
    return out_.addConstant(unique, std::move(value));
  }

  int layer(const std::string& kind, const std::string& name, const std::vector<int>& inputs, const Attributes& attrs) {
    return out_.addLayer(kind, out_.uniqueLayerName(name), inputs, attrs, 1)[0];
  }

  int plugin(const char* pluginName, const std::string& name, const std::vector<int>& inputs, Attributes attrs) {
    attrs.set("plugin_name", std::string(pluginName));
    attrs.set("plugin_version", std::string("1"));
    return layer("Plugin", name, inputs, attrs);
  }

  int dense(const DenseWeights& d, int x, const char* activation = "none") {
    Attributes attrs;
    if (std::string(activation) != "none") attrs.set("activation", std::string(activation));
    const int w = constant(d.name + ".weight", d.weight);
    std::vector<int> inputs{x, w};
    if (d.bias) inputs.push_back(constant(d.name + ".bias", d.bias));
    return layer("MatMul", d.name, inputs, attrs);
  }

  int skipLayerNorm(const LayerNormWeights& n, int x, int skip) {
    Attributes attrs;
    attrs.set("epsilon", n.epsilon);
    return plugin("SkipLayerNorm", n.name, {x, skip, constant(n.name + ".gamma", n.gamma), constant(n.name + ".beta", n.beta)},
                  attrs);
  }

  int embeddings() {
    Attributes attrs;
    attrs.set("epsilon", m_.embeddingNorm.epsilon);
    attrs.set("position_offset", m_.positionOffset);
    attrs.set("max_seq_len", options_.maxSeqLen);
    // Every request has a token: the pooler reads each sequence's first one, and an empty request means nothing.
    attrs.set("min_seq_len", int64_t{1});
    const int types = m_.tokenTypeEmbeddings ? constant("token_type_embeddings", m_.tokenTypeEmbeddings) : -1;
    return plugin("PackedEmbLayerNorm", "embeddings",
                  {ids_, segments_, cuSeqlens_, constant("word_embeddings", m_.wordEmbeddings),
                   constant("position_embeddings", m_.positionEmbeddings), types,
                   constant(m_.embeddingNorm.name + ".gamma", m_.embeddingNorm.gamma),
                   constant(m_.embeddingNorm.name + ".beta", m_.embeddingNorm.beta)},
                  attrs);
  }

  int encoderLayer(const BertLayerWeights& w, int x, size_t index) {
    const std::string prefix = "encoder.layer." + std::to_string(index) + ".";
    DenseWeights qkv;
    qkv.name = prefix + "attention.qkv";
    qkv.weight = concatColumns({w.query.weight, w.key.weight, w.value.weight});
    qkv.bias = concatBiases({w.query, w.key, w.value});
    Attributes attention;
    attention.set("num_heads", w.heads);
    attention.set("alpha", w.alpha);
    attention.set("max_seq_len", options_.maxSeqLen);
    const int context = plugin("PackedAttention", prefix + "attention.packed", {dense(qkv, x), cuSeqlens_}, attention);
    const int x1 = skipLayerNorm(w.attentionNorm, dense(w.attentionOutput, context), x);
    Attributes gelu;
    gelu.set("activation", std::string("gelu"));
    std::vector<int> fc{x1, constant(w.intermediate.name + ".weight", w.intermediate.weight)};
    if (w.intermediate.bias) fc.push_back(constant(w.intermediate.name + ".bias", w.intermediate.bias));
    const int inner = plugin("FullyConnected", w.intermediate.name, fc, gelu);
    return skipLayerNorm(w.outputNorm, dense(w.output, inner), x1);
  }

  // The first token of each sequence: rows cu_seqlens[0 .. B-1] of the packed [T, H] activation; then the
  // source's layers after its first-token Gather, copied with their inputs remapped.
  void pooler(int x) {
    const int starts = layer("Slice", "pooler.first_tokens",
                             {cuSeqlens_, constant("pooler.slice_start", int64Vector({0})),
                              constant("pooler.slice_end", int64Vector({-1})), constant("pooler.slice_axis", int64Vector({0}))},
                             {});
    Attributes axis0;
    axis0.set("axis", int64_t{0});
    std::map<int, int> mapped;
    const Layer& gather = source_.layers()[m_.firstTokenGather];
    mapped[gather.outputs[0]] = layer("Gather", gather.name, {x, starts}, axis0);
    const auto& layers = source_.layers();
    for (size_t l = static_cast<size_t>(m_.firstTokenGather) + 1; l < layers.size(); ++l) {
      const Layer& src = layers[l];
      bool reads = false;
      for (int t : src.inputs) reads = reads || mapped.count(t);
      if (!reads) continue;
      std::vector<int> inputs;
      for (int t : src.inputs) {
        if (t < 0) inputs.push_back(-1);
        else if (mapped.count(t)) inputs.push_back(mapped[t]);
        else inputs.push_back(constant(source_.tensor(t).name, source_.tensor(t).value));  // a constant (matched)
      }
      const std::vector<int> outs =
          out_.addLayer(src.kind, out_.uniqueLayerName(src.name), inputs, src.attrs, static_cast<int>(src.outputs.size()));
      for (size_t o = 0; o < outs.size(); ++o) mapped[src.outputs[o]] = outs[o];
    }
    for (int o : source_.outputs()) {
      if (!mapped.count(o)) continue;
      out_.renameTensor(mapped[o], source_.tensor(o).name);
      out_.markOutput(mapped[o]);
    }
  }

  const Network& source_;
  const BertEncoderMatch& m_;
  const PackedSequenceOptions& options_;
  Network out_;
  int ids_ = -1, segments_ = -1, cuSeqlens_ = -1;
};

}  // namespace

bool packBertEncoder(Network& network, BuildConfig& config, BuildLog& log) {
  const PackedSequenceOptions& options = config.packed;
  const BertMatchResult match = matchBertEncoder(network, options.maxSeqLen);
  if (!match.matched) {
    log.push_back("packed sequences: not rewritten, the engine keeps the padded inputs: " + match.reason);
    return false;
  }
  const BertEncoderMatch& m = match.encoder;
  const int64_t positions = m.positionEmbeddings->dims()[0];
  // Not a fallback: the padded engine could not take such sequences either.
  if (m.positionOffset + options.maxSeqLen > positions)
    fail(ErrorCode::InvalidArgument, "packedSequences.maxSequenceLength ", options.maxSeqLen, " needs ",
         m.positionOffset + options.maxSeqLen, " position embeddings (positions start at ", m.positionOffset,
         "), the model has ", positions);
  Network packed = PackedBuilder(network, m, options).build();
  packed.validate();
  network = std::move(packed);
  const auto range = [](int64_t min, int64_t opt, int64_t max) { return ShapeRange{{min}, {opt}, {max}}; };
  OptimizationProfile profile;
  profile["input_ids"] = range(1, options.optTokens, options.maxTokens);
  if (m.tokenTypeInput) profile["segment_ids"] = range(1, options.optTokens, options.maxTokens);
  profile["cu_seqlens"] = range(2, options.optBatch + 1, options.maxBatch + 1);
  const size_t paddedProfiles = config.profiles.size();
  config.profiles = {profile};
  log.push_back("packed sequences: BERT encoder of " + std::to_string(m.layers.size()) + " layers (hidden " +
                std::to_string(m.hidden) + ", " + std::to_string(m.layers.front().heads) +
                " heads) rewritten to packed-token plugins: inputs input_ids [T]" +
                (m.tokenTypeInput ? ", segment_ids [T]" : "") + ", cu_seqlens [B+1]; T <= " +
                std::to_string(options.maxTokens) + ", B <= " + std::to_string(options.maxBatch) +
                ", sequences of 1 to " + std::to_string(options.maxSeqLen) + " tokens; position ids start at " +
                std::to_string(m.positionOffset) + "; the padded profile" + (paddedProfiles > 1 ? "s are" : " is") +
                " replaced by the packed one");
  return true;
}

}  // namespace inferrt
