// What a sparseWeights build reports before any backend acts on it: which MatMul / Convolution layers have
// constant weights that are 2:4 along their reduction dimension, and why the others are not. The CUDA builder
// then times the eligible ones (selectSparseTactics); on the CPU they all stay dense.
#include "builder/passes.h"
#include "builder/sparse_eligibility.h"

namespace inferrt {

namespace {

constexpr size_t kNamesListed = 10;  // eligible layers named in the summary line
constexpr size_t kNotesListed = 5;   // ineligible layers given a line of their own

std::string nameList(const Network& network, const std::vector<uint32_t>& layers) {
  std::string out;
  for (size_t i = 0; i < layers.size() && i < kNamesListed; ++i) out += (i ? ", " : "") + network.layer(layers[i]).name;
  if (layers.size() > kNamesListed) out += ", and " + std::to_string(layers.size() - kNamesListed) + " more";
  return out;
}

}  // namespace

std::vector<LayerSparsity> reportSparsity(const Network& network, const BuildConfig& config, BuildLog& log) {
  const std::vector<SparseCandidate> candidates = findSparseCandidates(network);
  if (candidates.empty()) {
    log.push_back("sparse weights: no MatMul/Convolution layer has constant float weights; nothing can run sparse");
    return {};
  }
  std::vector<LayerSparsity> records;
  std::vector<uint32_t> eligible;
  std::vector<const SparseCandidate*> dense;
  for (const SparseCandidate& c : candidates) {
    LayerSparsity r;
    r.layer = c.layer;
    r.eligible = c.eligible;
    r.note = c.note;
    // The CUDA builder replaces eligible records with what it timed; elsewhere nothing can run them sparse.
    if (c.eligible && config.backend != "cuda") r.note = "the " + config.backend + " backend has no sparse kernels";
    records.push_back(std::move(r));
    if (c.eligible) eligible.push_back(c.layer);
    else dense.push_back(&c);
  }
  std::string line = "sparse weights: " + std::to_string(eligible.size()) + " of " + std::to_string(candidates.size()) +
                     " MatMul/Convolution layers with constant weights " + (eligible.size() == 1 ? "is" : "are") +
                     " 2:4 along their reduction dimension";
  if (!eligible.empty()) line += " (" + nameList(network, eligible) + ")";
  // The CUDA builder times the eligible layers next and says which went sparse; no other backend has sparse kernels.
  if (config.backend != "cuda" && !eligible.empty())
    line += "; the " + config.backend + " backend has no sparse kernels: " +
            (eligible.size() == 1 ? "it stays dense" : "they stay dense");
  log.push_back(line);
  for (size_t i = 0; i < dense.size() && i < kNotesListed; ++i)
    log.push_back("sparse weights: " + network.layer(dense[i]->layer).name + " stays dense: " + dense[i]->note);
  if (dense.size() > kNotesListed)
    log.push_back("sparse weights: and " + std::to_string(dense.size() - kNotesListed) +
                  " more layers stay dense (inferrt inspect lists them)");
  return records;
}

}  // namespace inferrt
