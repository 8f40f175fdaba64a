// cuBLASLt behind GemmShape at run time: a process-wide cache of algorithm choices (the plan's tactic, checked,
// or the heuristic's), per-caller descriptors, and a lock-free enqueue. Descriptors and heuristic queries are
// built in cublaslt_descriptors.cc, shared with the build-time tuner.
#include "backend/cuda/kernels/cublaslt_gemm.h"

#include <map>
#include <mutex>
#include <string>

#include "backend/cuda/kernels/cublaslt_descriptors.h"
#include "ir/error.h"

namespace inferrt::cublaslt {

namespace {

// An algorithm choice for one (device, GEMM, tactic): immutable once made, shared by every plan for that GEMM.
struct GemmChoice {
  cublasLtMatmulAlgo_t algo{};
  size_t workspace = 0;
  bool fromTactic = false;
};

std::string choiceKey(const GemmShape& s, int device, const GemmTactic* tactic) {
  std::string key = std::to_string(device) + "|" + gemmKey(s);
  if (tactic) {
    key += "|" + std::to_string(tactic->cublasLtVersion);
    for (uint64_t word : tactic->algo) key += "." + std::to_string(word);
  }
  return key;
}

// The tactic when cuBLASLt accepts it for these descriptors here, else the heuristic's first choice; null when
// there is neither.
std::shared_ptr<const GemmChoice> choose(cublasLtHandle_t handle, const GemmDescriptors& d, const GemmShape& s,
                                         const GemmTactic* tactic) {
  auto choice = std::make_shared<GemmChoice>();
  if (tactic) {
    choice->algo = algoFromWords(tactic->algo);
    if (gemmAlgoCheck(handle, d, choice->algo, &choice->workspace)) {
      choice->fromTactic = true;
      return choice;
    }
  }
  const std::vector<cublasLtMatmulHeuristicResult_t> results = gemmHeuristic(handle, d, s, 1);
  if (results.empty()) return nullptr;
  choice->algo = results[0].algo;
  choice->workspace = results[0].workspaceSize;
  return choice;
}

}  // namespace

class GemmPlan {
 public:
  GemmPlan(const GemmShape& shape, std::shared_ptr<const GemmChoice> c) : descriptors(shape), choice(std::move(c)) {}
  GemmDescriptors descriptors;  // this plan's own: runGemm writes the bias pointer into them
  std::shared_ptr<const GemmChoice> choice;
};

std::shared_ptr<GemmPlan> planGemm(const GemmShape& s, void* blasLtHandle, int device, const GemmTactic* tactic) {
  if (!blasLtHandle) fail(ErrorCode::Internal, "MatMul: no cuBLASLt handle");
  const auto handle = static_cast<cublasLtHandle_t>(blasLtHandle);
  // An algorithm from another cuBLASLt version is bytes of another format: never even checked.
  if (tactic && tactic->cublasLtVersion != static_cast<uint64_t>(cublasLtGetVersion())) tactic = nullptr;
  const std::string key = choiceKey(s, device, tactic);

  static std::mutex cacheMutex;
  static std::map<std::string, std::shared_ptr<const GemmChoice>> cache;  // null: cuBLASLt has no algorithm
  bool known = false;
  std::shared_ptr<const GemmChoice> choice;
  {
    std::lock_guard<std::mutex> lock(cacheMutex);
    auto found = cache.find(key);
    if (found != cache.end()) {
      known = true;
      choice = found->second;
    }
  }
  if (known && !choice) return nullptr;
  if (known) return std::make_shared<GemmPlan>(s, std::move(choice));

  // Chosen outside the lock (the heuristic takes a while); two threads may both choose, with the same result.
  auto plan = std::make_shared<GemmPlan>(s, nullptr);
  choice = choose(handle, plan->descriptors, s, tactic);
  {
    std::lock_guard<std::mutex> lock(cacheMutex);
    if (cache.size() >= 4096) cache.clear();  // dynamic shapes must not grow it forever; plans keep their choice
    cache.emplace(key, choice);
  }
  if (!choice) return nullptr;
  plan->choice = std::move(choice);
  return plan;
}

size_t gemmWorkspaceSize(const GemmPlan& plan) { return plan.choice->workspace; }

bool gemmUsesTactic(const GemmPlan& plan) { return plan.choice->fromTactic; }

void runGemm(GemmPlan& plan, void* blasLtHandle, const std::vector<GemmPointers>& calls, void* workspace,
             cudaStream_t stream, float alpha) {
  enqueueGemm(static_cast<cublasLtHandle_t>(blasLtHandle), plan.descriptors, plan.choice->algo, calls, workspace,
              plan.choice->workspace, stream, alpha);
}

}  // namespace inferrt::cublaslt
