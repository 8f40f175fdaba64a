// Recognizing a BERT / RoBERTa / DistilBERT encoder in the fused network (builder/bert_encoder_match.h). Every step
// either takes a layer whose meaning is certain (a MatMul with constant weights, a layer-mode Normalization, an
// Attention reading [B, S, heads, D] views) or evaluates the subgraph on probe inputs (encoder_probes.h); anything
// else ends the match with a reason naming the layer, so the build log can say why the engine stays padded.
#include "builder/bert_encoder_match.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "builder/encoder_probes.h"
#include "builder/fusion_rewriter.h"
#include "ir/error.h"

namespace inferrt {

namespace {

constexpr int64_t kProbeBatch = 2, kProbeLength = 6;
// The longest probe (when the engine's sequences may be that long): a [1, 1, 192, 192] mask stays under the probe's
// per-layer evaluation limit.
constexpr int64_t kLongProbe = 192;

struct NoMatch {
  std::string reason;
};

template <typename... Parts>
[[noreturn]] void noMatch(const Parts&... parts) {
  std::ostringstream s;
  (s << ... << parts);
  throw NoMatch{s.str()};
}

class EncoderMatcher {
 public:
  EncoderMatcher(const Network& network, int64_t longProbe)
      : net_(network),
        graph_(network),
        idsInput_(inputNamed("input_ids")),
        maskInput_(inputNamed("attention_mask")),
        typeInput_(inputNamed("token_type_ids")),
        probes_(network, idsInput_, maskInput_, typeInput_),
        longProbe_(longProbe) {}

  BertEncoderMatch run() {
    if (idsInput_ < 0) noMatch("the network has no input named 'input_ids'");
    const TensorInfo& ids = net_.tensor(idsInput_);
    if (ids.dims.size() != 2 || (ids.dtype != DType::Int64 && ids.dtype != DType::Int32))
      noMatch("input 'input_ids' is ", dtypeName(ids.dtype), " ", dimsToString(ids.dims), ", expected int64 or int32 [batch, sequence]");
    for (int in : net_.inputs())
      if (in != idsInput_ && in != maskInput_ && in != typeInput_)
        noMatch("input '", net_.tensor(in).name, "' is not one of input_ids, attention_mask, token_type_ids");
    BertEncoderMatch m;
    int x = matchEmbeddings(m);
    // Longer probes than the position table allows would fail on exports that slice buffers of that length.
    longProbe_ = std::max(kProbeLength, std::min(longProbe_, m.positionEmbeddings->dims()[0] - m.positionOffset));
    while (!denseReaders(x).empty()) x = matchLayer(m, x);
    if (m.layers.empty()) noMatch("no encoder layer reads the embeddings' LayerNorm output '", net_.tensor(x).name, "'");
    m.lastHidden = x;
    matchOutputs(m, x);
    checkMasks();
    return m;
  }

 private:
  int inputNamed(const char* name) const {
    for (int in : net_.inputs())
      if (net_.tensor(in).name == name) return in;
    return -1;
  }

  const Layer& producerOf(int t, const char* kind, const char* what) const {
    const int p = net_.tensor(t).producer;
    if (p < 0 || net_.layers()[p].kind != kind)
      noMatch(what, " '", net_.tensor(t).name, "' is not written by a ", kind, " layer");
    return net_.layers()[p];
  }

  // Readers of `t` other than Shape layers (shape subgraphs of the padded form, gone once the network is packed).
  std::vector<int> valueReaders(int t) const {
    std::vector<int> out;
    for (int l : graph_.readers(t))
      if (net_.layers()[l].kind != "Shape") out.push_back(l);
    return out;
  }

  // The one layer reading `t` (Shape layers aside), of `kind`.
  const Layer& soleReader(int t, const char* kind) const {
    const std::vector<int> r = valueReaders(t);
    if (r.size() != 1 || net_.layers()[r[0]].kind != kind || net_.tensor(t).isOutput)
      noMatch("'", net_.tensor(t).name, "' should be read only by one ", kind, " layer, found ", describeReaders(t));
    return net_.layers()[r[0]];
  }

  std::string describeReaders(int t) const {
    std::string s;
    for (int l : valueReaders(t))
      s += (s.empty() ? "" : ", ") + net_.layers()[l].name + " (" + net_.layers()[l].kind + ")";
    if (net_.tensor(t).isOutput) s += std::string(s.empty() ? "" : ", ") + "the network output";
    return s.empty() ? "none" : s;
  }

  // MatMul layers reading `t` as their a operand.
  std::vector<int> denseReaders(int t) const {
    std::vector<int> out;
    for (int l : valueReaders(t))
      if (net_.layers()[l].kind == "MatMul" && net_.layers()[l].inputs[0] == t) out.push_back(l);
    return out;
  }

  TensorPtr constantOf(int t) const {
    if (t < 0) return nullptr;
    const TensorInfo& info = net_.tensor(t);
    if (info.producer >= 0 || !info.value || info.value->dtype() != DType::Float32) return nullptr;
    return info.value;
  }

  TensorPtr vectorOf(int t, int64_t length, const std::string& what) const {
    TensorPtr v = constantOf(t);
    if (!v || v->rank() != 1 || (length > 0 && v->dims()[0] != length))
      noMatch(what, " is not a float32 constant [", length, "]");
    return v;
  }

  // y = x · W + b of a MatMul layer with constant weights, no transposed a, alpha 1 and `activation`.
  DenseWeights denseOf(int l, const std::string& activation) const {
    const Layer& layer = net_.layers()[l];
    const std::string what = "MatMul '" + layer.name + "'";
    if (layer.attrs.getInt("transA", 0) != 0 || layer.attrs.getFloat("alpha", 1.0) != 1.0)
      noMatch(what, " has transA or alpha set");
    if (layer.attrs.getString("activation", "none") != activation)
      noMatch(what, " has activation '", layer.attrs.getString("activation", "none"), "', expected '", activation, "'");
    TensorPtr w = constantOf(layer.inputs[1]);
    if (!w || w->rank() != 2) noMatch(what, " has no constant float32 2-D weight");
    if (layer.attrs.getInt("transB", 0) != 0) w = std::make_shared<const Tensor>(transposed(*w));
    DenseWeights d;
    d.weight = w;
    d.name = layer.name;
    if (layer.inputs.size() > 2 && layer.inputs[2] >= 0)
      d.bias = vectorOf(layer.inputs[2], w->dims()[1], what + "'s bias");
    return d;
  }

  static Tensor transposed(const Tensor& w) {
    const int64_t rows = w.dims()[0], cols = w.dims()[1];
    Tensor t(DType::Float32, {cols, rows});
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) t.data<float>()[c * rows + r] = w.data<float>()[r * cols + c];
    return t;
  }

  LayerNormWeights normOf(const Layer& n, int64_t hidden) const {
    const std::string what = "Normalization '" + n.name + "'";
    if (n.attrs.getString("mode", "") != "layer") noMatch(what, " is not a layer norm");
    const int64_t rank = static_cast<int64_t>(net_.tensor(n.inputs[0]).dims.size());
    const int64_t axis = n.attrs.getInt("axis", -1);
    if (axis != -1 && axis != rank - 1) noMatch(what, " normalizes from axis ", axis, ", not the last");
    for (size_t i = 3; i < 5 && i < n.inputs.size(); ++i)
      if (n.inputs[i] >= 0) noMatch(what, " has mean / variance inputs");
    for (size_t o = 1; o < n.outputs.size(); ++o)
      if (!valueReaders(n.outputs[o]).empty() || net_.tensor(n.outputs[o]).isOutput)
        noMatch(what, "'s statistics outputs are used");
    LayerNormWeights w;
    w.gamma = vectorOf(n.inputs[1], hidden, what + "'s scale");
    if (n.inputs.size() > 2 && n.inputs[2] >= 0) w.beta = vectorOf(n.inputs[2], hidden, what + "'s bias");
    else w.beta = std::make_shared<const Tensor>(DType::Float32, Dims{hidden});
    w.epsilon = n.attrs.getFloat("epsilon", 1e-5);
    w.name = n.name;
    return w;
  }

  // LayerNorm(y + residual): a Normalization with skip, or an Add read only by a Normalization. Returns its
  // output and fills `w`.
  int residualNorm(int y, int residual, int64_t hidden, LayerNormWeights& w) const {
    const std::vector<int> r = valueReaders(y);
    if (r.size() != 1 || net_.tensor(y).isOutput)
      noMatch("'", net_.tensor(y).name, "' should feed only a residual add / layer norm, found ", describeReaders(y));
    const Layer& first = net_.layers()[r[0]];
    const Layer* norm = nullptr;
    if (first.kind == "Normalization") {
      const int skip = first.inputs.size() > 5 ? first.inputs[5] : -1;
      if (!((first.inputs[0] == y && skip == residual) || (first.inputs[0] == residual && skip == y)))
        noMatch("Normalization '", first.name, "' does not add the residual '", net_.tensor(residual).name, "'");
      norm = &first;
    } else if (first.kind == "ElementWise" && first.attrs.getString("op", "") == "add" && first.inputs.size() == 2 &&
               ((first.inputs[0] == y && first.inputs[1] == residual) ||
                (first.inputs[0] == residual && first.inputs[1] == y))) {
      norm = &soleReader(first.outputs[0], "Normalization");
      if (norm->inputs[0] != first.outputs[0] || (norm->inputs.size() > 5 && norm->inputs[5] >= 0))
        noMatch("Normalization '", norm->name, "' does not normalize the residual sum alone");
    } else {
      noMatch("'", net_.tensor(y).name, "' is read by ", first.name, " (", first.kind, "), not a residual layer norm");
    }
    w = normOf(*norm, hidden);
    return norm->outputs[0];
  }

  // The tensor holding GELU(y): y itself when its MatMul fused the GELU, else the output of the one elementwise
  // layer reading y, checked by evaluation to be exact (erf) GELU.
  int geluOf(int y, bool fused) const {
    if (fused) return y;
    const std::vector<int> r = valueReaders(y);
    if (r.size() != 1 || net_.tensor(y).isOutput)
      noMatch("the intermediate dense output '", net_.tensor(y).name, "' should feed only its GELU, found ", describeReaders(y));
    const Layer& g = net_.layers()[r[0]];
    if (g.kind != "Pointwise" && g.kind != "Activation")
      noMatch("'", net_.tensor(y).name, "' is read by ", g.name, " (", g.kind, "), expected GELU");
    const std::string problem = probes_.exactGelu(r[0], y);
    if (!problem.empty()) noMatch(problem);
    return g.outputs[0];
  }

  // The dims of `t` for a [kProbeBatch, kProbeLength] probe: a head split's static sizes when the network's
  // dims are symbolic (its Reshape target is computed from the input's shape).
  Dims probedDims(int t) const {
    Dims d;
    if (!probes_.dims(t, kProbeBatch, kProbeLength, d))
      noMatch("the dims of '", net_.tensor(t).name, "' could not be worked out for a [", kProbeBatch, ", ", kProbeLength, "] input");
    return d;
  }

  void collectSumTerms(int t, std::vector<int>& terms) const {
    const int p = net_.tensor(t).producer;
    const Layer* l = p >= 0 ? &net_.layers()[p] : nullptr;
    const bool sum = l && ((l->kind == "ElementWise" && l->attrs.getString("op", "") == "add" && l->inputs.size() == 2) ||
                           (l->kind == "Pointwise" && probes_.addsInputs(p)));
    if (!sum) {
      terms.push_back(t);
      return;
    }
    for (int in : l->inputs) collectSumTerms(in, terms);
  }

  // word + position (+ token type) embeddings -> LayerNorm. Returns the LayerNorm's output.
  int matchEmbeddings(BertEncoderMatch& m) {
    const std::vector<int> r = valueReaders(idsInput_);
    int word = -1;
    for (int l : r) {
      const Layer& g = net_.layers()[l];
      if (g.kind == "Gather" && g.inputs[1] == idsInput_ && g.attrs.getInt("axis", 0) == 0 && constantOf(g.inputs[0]))
        word = l;
    }
    if (word < 0) noMatch("no Gather of a constant embedding table reads 'input_ids'");
    const Layer& wordGather = net_.layers()[word];
    m.wordEmbeddings = constantOf(wordGather.inputs[0]);
    if (m.wordEmbeddings->rank() != 2) noMatch("the word embedding table is not 2-D");
    m.hidden = m.wordEmbeddings->dims()[1];
    // The sum's reader is the embeddings' LayerNorm; walk down from the word Gather to it.
    int sum = wordGather.outputs[0];
    for (int step = 0; step < 4; ++step) {
      const std::vector<int> next = valueReaders(sum);
      if (next.size() != 1) noMatch("the word embeddings '", net_.tensor(sum).name, "' are read by ", describeReaders(sum));
      const Layer& l = net_.layers()[next[0]];
      if (l.kind == "Normalization") break;
      if (l.kind != "Pointwise" && l.kind != "ElementWise")
        noMatch("the word embeddings flow into ", l.name, " (", l.kind, "), not a sum and a LayerNorm");
      sum = l.outputs[0];
    }
    const Layer& norm = soleReader(sum, "Normalization");
    if (norm.inputs[0] != sum || (norm.inputs.size() > 5 && norm.inputs[5] >= 0))
      noMatch("Normalization '", norm.name, "' does not normalize the embedding sum");
    std::vector<int> terms;
    collectSumTerms(sum, terms);
    bool havePosition = false;
    for (int t : terms) {
      const int p = net_.tensor(t).producer;
      const Layer* g = p >= 0 ? &net_.layers()[p] : nullptr;
      if (!g || g->kind != "Gather" || g->attrs.getInt("axis", 0) != 0 || !constantOf(g->inputs[0]))
        noMatch("the embedding sum has a term '", net_.tensor(t).name, "' that is not a Gather of a constant table");
      TensorPtr table = constantOf(g->inputs[0]);
      if (table->rank() != 2 || table->dims()[1] != m.hidden)
        noMatch("embedding table of Gather '", g->name, "' is ", dimsToString(table->dims()), ", expected [*, ", m.hidden, "]");
      const int idx = g->inputs[1];
      const std::string what = "Gather '" + g->name + "'";
      if (p == word) continue;
      if (idx == typeInput_ && typeInput_ >= 0 && !m.tokenTypeEmbeddings) {
        m.tokenTypeEmbeddings = table;
        m.tokenTypeInput = true;
        continue;
      }
      int64_t offset = 0;
      EncoderProbes::Indices kind;
      const std::string problem = probes_.classifyIndices(idx, std::max<int64_t>(9, std::min(longProbe_, table->dims()[0])), kind, offset);
      if (!problem.empty()) noMatch("the indices of ", what, " ", problem);
      const bool positions = kind == EncoderProbes::Indices::Positions;
      if (positions && !havePosition) {
        havePosition = true;
        m.positionEmbeddings = table;
        m.positionOffset = offset;
      } else if (!positions && !m.tokenTypeEmbeddings) {
        m.tokenTypeEmbeddings = table;
      } else {
        noMatch("the embedding sum has two ", positions ? "position" : "token type", " terms");
      }
    }
    if (!havePosition) noMatch("the embedding sum has no position embeddings");
    if (terms.size() != (m.tokenTypeEmbeddings ? 3u : 2u)) noMatch("the embedding sum has ", terms.size(), " terms");
    m.embeddingNorm = normOf(norm, m.hidden);
    return norm.outputs[0];
  }

  // One encoder layer reading hidden state `x`; returns its output hidden state.
  int matchLayer(BertEncoderMatch& m, int x) {
    const int64_t hidden = m.hidden;
    const std::vector<int> projections = denseReaders(x);
    if (projections.size() != 3)
      noMatch("hidden state '", net_.tensor(x).name, "' feeds ", projections.size(), " MatMul layers, expected Q, K and V");
    BertLayerWeights w;
    const Layer* attention = nullptr;
    DenseWeights qkv[3];
    bool seen[3] = {false, false, false};
    for (int l : projections) {
      const Layer& view = soleReader(net_.layers()[l].outputs[0], "Reshape");
      const Dims vd = probedDims(view.outputs[0]);
      if (vd.size() != 4 || vd[0] != kProbeBatch || vd[1] != kProbeLength || vd[2] <= 0 || vd[3] <= 0 || vd[2] * vd[3] != hidden)
        noMatch("Reshape '", view.name, "' gives ", dimsToString(vd), ", expected [batch, sequence, heads, head size]");
      const Layer& att = soleReader(view.outputs[0], "Attention");
      if (attention && attention != &att) noMatch("Q, K and V of '", net_.tensor(x).name, "' feed different Attention layers");
      attention = &att;
      int slot = -1;
      for (int i = 0; i < 3; ++i)
        if (att.inputs[i] == view.outputs[0]) slot = i;
      if (slot < 0 || seen[slot]) noMatch("Attention '", att.name, "' reads Reshape '", view.name, "' twice or as its mask");
      seen[slot] = true;
      qkv[slot] = denseOf(l, "none");
      if (qkv[slot].weight->dims()[0] != hidden || qkv[slot].weight->dims()[1] != hidden)
        noMatch("MatMul '", qkv[slot].name, "' has weight ", dimsToString(qkv[slot].weight->dims()), ", expected [", hidden, ", ", hidden, "]");
      if (w.heads && w.heads != vd[2]) noMatch("Q, K and V split into different head counts");
      w.heads = vd[2];
    }
    const std::vector<int64_t> layout = attention->attrs.getInts("layout", {0, 0, 0, 0});
    if (layout != std::vector<int64_t>{1, 1, 1, 1})
      noMatch("Attention '", attention->name, "' reads or writes heads-major tensors (layout ", layout.size() == 4 ? layout[0] : -1, "...)");
    w.alpha = attention->attrs.getFloat("alpha", 1.0);
    w.query = qkv[0];
    w.key = qkv[1];
    w.value = qkv[2];
    if (attention->inputs.size() > 3 && attention->inputs[3] >= 0) masks_.insert(attention->inputs[3]);
    const Layer& merge = soleReader(attention->outputs[0], "Reshape");
    const Dims md = probedDims(merge.outputs[0]);
    if (md.size() != 3 || md[0] != kProbeBatch || md[1] != kProbeLength || md[2] != hidden)
      noMatch("Reshape '", merge.name, "' merges heads into ", dimsToString(md), ", expected [batch, sequence, ", hidden, "]");
    const std::vector<int> outProj = denseReaders(merge.outputs[0]);
    if (outProj.size() != 1 || valueReaders(merge.outputs[0]).size() != 1)
      noMatch("the attention context '", net_.tensor(merge.outputs[0]).name, "' should feed one MatMul, found ", describeReaders(merge.outputs[0]));
    w.attentionOutput = denseOf(outProj[0], "none");
    const int x1 = residualNorm(net_.layers()[outProj[0]].outputs[0], x, hidden, w.attentionNorm);
    checkReaders(x, projections.size() + 1);

    const std::vector<int> up = denseReaders(x1);
    if (up.size() != 1) noMatch("'", net_.tensor(x1).name, "' feeds ", up.size(), " MatMul layers, expected the intermediate dense");
    const bool fusedGelu = net_.layers()[up[0]].attrs.getString("activation", "none") == "gelu";
    w.intermediate = denseOf(up[0], fusedGelu ? "gelu" : "none");
    const int act = geluOf(net_.layers()[up[0]].outputs[0], fusedGelu);
    const std::vector<int> down = denseReaders(act);
    if (down.size() != 1 || valueReaders(act).size() != 1)
      noMatch("the GELU output '", net_.tensor(act).name, "' should feed one MatMul, found ", describeReaders(act));
    w.output = denseOf(down[0], "none");
    const int64_t inner = w.intermediate.weight->dims()[1];
    if (w.intermediate.weight->dims()[0] != hidden || w.output.weight->dims()[0] != inner || w.output.weight->dims()[1] != hidden)
      noMatch("feed-forward weights ", dimsToString(w.intermediate.weight->dims()), " and ", dimsToString(w.output.weight->dims()),
              " do not chain [", hidden, ", I] -> [I, ", hidden, "]");
    const int x2 = residualNorm(net_.layers()[down[0]].outputs[0], x1, hidden, w.outputNorm);
    checkReaders(x1, 2);
    m.layers.push_back(w);
    return x2;
  }

  // `t` is read by exactly `count` layers besides Shape layers (the ones matched) and is no network output.
  void checkReaders(int t, size_t count) const {
    if (valueReaders(t).size() != count || net_.tensor(t).isOutput)
      noMatch("hidden state '", net_.tensor(t).name, "' is also read elsewhere: ", describeReaders(t));
  }

  // The last hidden state may be an output and feed a Gather of each sequence's first token (the pooler); the
  // network's outputs must be it or computed from that Gather alone.
  void matchOutputs(BertEncoderMatch& m, int x) {
    for (int l : valueReaders(x)) {
      const Layer& g = net_.layers()[l];
      const bool gather = g.kind == "Gather" && g.inputs.size() == 2 && g.inputs[0] == x && g.inputs[1] >= 0;
      const Tensor* index = gather ? net_.tensor(g.inputs[1]).value.get() : nullptr;
      const bool firstToken = index && g.attrs.getInt("axis", 0) == 1 && index->numel() == 1 && index->rank() == 0 &&
                              isInteger(index->dtype()) && index->getInt(0) == 0;
      if (!firstToken || m.firstTokenGather >= 0)
        noMatch("the last hidden state '", net_.tensor(x).name, "' is read by ", g.name, " (", g.kind,
                "), which is not a Gather of each sequence's first token");
      m.firstTokenGather = l;
    }
    std::set<int> derived;
    if (m.firstTokenGather >= 0) {
      derived.insert(net_.layers()[m.firstTokenGather].outputs[0]);
      const auto& layers = net_.layers();
      for (size_t l = static_cast<size_t>(m.firstTokenGather) + 1; l < layers.size(); ++l) {
        bool reads = false;
        for (int t : layers[l].inputs) reads = reads || derived.count(t);
        if (!reads) continue;
        for (int t : layers[l].inputs)
          if (t >= 0 && !derived.count(t) && !net_.tensor(t).value)
            noMatch("layer '", layers[l].name, "' after the first-token Gather reads '", net_.tensor(t).name, "', which is not a constant");
        for (int t : layers[l].outputs) derived.insert(t);
      }
    }
    for (int o : net_.outputs())
      if (o != x && !derived.count(o))
        noMatch("output '", net_.tensor(o).name, "' is neither the last hidden state nor computed from its first token");
  }

  // Every attention mask is all zeros for an all-ones attention_mask, short and long: packed sequences need no mask
  // (a causal, banded or windowed mask is not all zeros).
  void checkMasks() const {
    for (int mask : masks_)
      for (const int64_t length : {kProbeLength, longProbe_}) {
        const std::string problem = probes_.maskAllZeros(mask, length == kProbeLength ? kProbeBatch : 1, length);
        if (!problem.empty()) noMatch(problem);
      }
  }

  const Network& net_;
  FusionRewriter graph_;  // read only: who reads each tensor
  int idsInput_ = -1, maskInput_ = -1, typeInput_ = -1;
  EncoderProbes probes_;
  int64_t longProbe_;  // the longest probe: masks and positions must hold there too
  std::set<int> masks_;
};

}  // namespace

BertMatchResult matchBertEncoder(const Network& network, int64_t maxSeqLen) {
  BertMatchResult result;
  try {
    result.encoder = EncoderMatcher(network, std::max<int64_t>(kProbeLength, std::min<int64_t>(maxSeqLen, kLongProbe))).run();
    result.matched = true;
  } catch (const NoMatch& e) {
    result.reason = e.reason;
  } catch (const Error& e) {
    // A layer the matcher read in an unexpected form (an attribute of another type, say): not an encoder it knows.
    result.reason = std::string("the network did not read as an encoder: ") + e.what();
  }
  return result;
}

}  // namespace inferrt
