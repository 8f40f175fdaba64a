// Checks a build config against the network before any pass runs, so a bad profile fails with a message
// about the profile rather than somewhere deep in a pass.
#include <set>

#include "builder/passes.h"
#include "ir/error.h"
#include "runtime/devices.h"
#include "runtime/shape_resolution.h"

namespace inferrt {

namespace {

void checkBackend(const BuildConfig& config) {
  if (config.backend == "cpu") return;
  if (config.backend != "cuda")
    fail(ErrorCode::InvalidArgument, "backend must be 'cpu' or 'cuda', got '", config.backend, "'");
  if (!cudaCompiled())
    fail(ErrorCode::InvalidArgument, "backend 'cuda' is not available: this inferrt was built without the CUDA backend");
  if (cudaDevices().empty())
    fail(ErrorCode::InvalidArgument, "backend 'cuda' is not available: no CUDA device is visible (",
         cudaUnavailableReason(), ")");
}

// Range of input `name` (dims as declared) in profile `p`: ranks match, static dims equal, 1 <= min <= opt <= max.
void checkRange(const TensorInfo& input, const ShapeRange& r, size_t p) {
  const std::string what = "profile " + std::to_string(p) + " input '" + input.name + "'";
  const size_t rank = input.dims.size();
  if (r.min.size() != rank || r.opt.size() != rank || r.max.size() != rank)
    fail(ErrorCode::ShapeMismatch, what, ": the input has rank ", rank, " ", dimsToString(input.dims),
         " but the range has min ", dimsToString(r.min), ", opt ", dimsToString(r.opt), ", max ", dimsToString(r.max));
  for (size_t i = 0; i < rank; ++i) {
    if (r.min[i] < 1 || r.min[i] > r.opt[i] || r.opt[i] > r.max[i])
      fail(ErrorCode::InvalidArgument, what, ": dim ", i, " needs 1 <= min <= opt <= max, got min ", r.min[i], ", opt ",
           r.opt[i], ", max ", r.max[i]);
    const int64_t d = input.dims[i];
    if (d >= 0 && (r.min[i] != d || r.opt[i] != d || r.max[i] != d))
      fail(ErrorCode::ShapeMismatch, what, ": dim ", i, " is static (", d, ") but the range gives min ", r.min[i],
           ", opt ", r.opt[i], ", max ", r.max[i]);
  }
}

OptimizationProfile completeProfile(const Network& network, const OptimizationProfile& given, size_t p) {
  std::string unknown;
  for (const auto& [name, range] : given) {
    const int t = network.findTensor(name);
    if (t < 0 || !network.tensor(t).isInput)
      unknown += (unknown.empty() ? "'" : ", '") + name + (t < 0 ? "'" : "' (not an input)");
  }
  if (!unknown.empty()) {
    std::string inputs;
    for (int t : network.inputs()) inputs += (inputs.empty() ? "" : ", ") + network.tensor(t).name;
    fail(ErrorCode::InvalidArgument, "profile ", p, " names unknown inputs ", unknown, "; the network's inputs are: ", inputs);
  }
  OptimizationProfile out;
  for (int t : network.inputs()) {
    const TensorInfo& input = network.tensor(t);
    auto it = given.find(input.name);
    if (it == given.end()) {
      if (!isStatic(input.dims))
        fail(ErrorCode::InvalidArgument, "profile ", p, " has no range for input '", input.name, "' with dynamic dims ",
             dimsToString(input.dims), "; every profile needs a {min, opt, max} range for each dynamic input");
      out[input.name] = ShapeRange{input.dims, input.dims, input.dims};
      continue;
    }
    checkRange(input, it->second, p);
    out[input.name] = it->second;
  }
  return out;
}

// Runs the shape rules at the profile's min, opt and max shapes: a network that cannot take them fails now.
void checkProfileShapes(const Network& network, const OptimizationProfile& profile, size_t p) {
  const char* points[] = {"min", "opt", "max"};
  for (int k = 0; k < 3; ++k) {
    std::vector<Dims> dims;
    for (int t : network.inputs()) {
      const ShapeRange& r = profile.at(network.tensor(t).name);
      dims.push_back(k == 0 ? r.min : k == 1 ? r.opt : r.max);
    }
    try {
      resolveShapes(network, dims);
    } catch (const Error& e) {
      fail(e.code(), "profile ", p, " ", points[k], " shapes do not fit the network: ", e.what());
    }
  }
}

}  // namespace

std::vector<OptimizationProfile> validateConfig(const Network& network, const BuildConfig& config, BuildLog& log) {
  checkBackend(config);
  network.validate();
  if (network.outputs().empty())
    fail(ErrorCode::InvalidModel, "the network has no outputs; mark at least one with markOutput");
  std::vector<OptimizationProfile> profiles;
  if (config.profiles.empty()) {
    std::string dynamic;
    for (int t : network.inputs())
      if (!isStatic(network.tensor(t).dims))
        dynamic += (dynamic.empty() ? "'" : ", '") + network.tensor(t).name + "' " + dimsToString(network.tensor(t).dims);
    if (!dynamic.empty())
      fail(ErrorCode::InvalidArgument, "inputs ", dynamic, " have dynamic dims: add an optimization profile with a ",
           "{min, opt, max} range for each");
    profiles.push_back(completeProfile(network, {}, 0));
  } else {
    for (size_t p = 0; p < config.profiles.size(); ++p) profiles.push_back(completeProfile(network, config.profiles[p], p));
  }
  for (size_t p = 0; p < profiles.size(); ++p) checkProfileShapes(network, profiles[p], p);
  if (config.int8)
    log.push_back("int8: " + std::to_string(config.int8Scales.size()) + " calibrated tensor scale(s); MatMul and "
                  "Convolution layers whose input has a scale (or the network's own Q/DQ) may run in int8, the rest in " +
                  (config.fp16 ? "fp16 where allowed, else fp32" : "fp32"));
  log.push_back("config: backend " + config.backend + ", " + std::to_string(profiles.size()) + " optimization profile" +
                (profiles.size() == 1 ? "" : "s"));
  return profiles;
}

}  // namespace inferrt
