// The timing cache (TensorRT's timing cache, trtexec --timingCacheFile): cuBLASLt algorithm choices measured by
// earlier builds, reused instead of timing again. A small text file:
//   inferrt-timing-cache 1
//   <device name> TAB <sm_XY> TAB <cuBLASLt version> TAB <GEMM key> TAB <algorithm: 128 hex digits> TAB <ms>
// one entry per line (blank lines are ignored). The algorithm is the 8 words of a cublasLtMatmulAlgo_t, each as
// 16 hex digits, most significant first. Entries of other devices or cuBLASLt versions are kept and written
// back, never used. CPU code: no CUDA types here.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "plan/tactics.h"

namespace inferrt {

struct TimingCacheKey {
  std::string device;  // the GPU's name, as the CUDA runtime reports it
  std::string arch;    // "sm_90"
  uint64_t cublasLtVersion = 0;
  std::string gemmKey;
  bool operator<(const TimingCacheKey& o) const {
    return std::tie(device, arch, cublasLtVersion, gemmKey) < std::tie(o.device, o.arch, o.cublasLtVersion, o.gemmKey);
  }
};

struct TimingCacheEntry {
  GemmAlgoWords algo{};
  double timeMs = 0;
};

class TimingCache {
 public:
  const TimingCacheEntry* find(const TimingCacheKey& key) const;
  // Adds or replaces the entry for `key`.
  void put(const TimingCacheKey& key, const TimingCacheEntry& entry) { entries_[key] = entry; }
  const std::map<TimingCacheKey, TimingCacheEntry>& entries() const { return entries_; }

 private:
  std::map<TimingCacheKey, TimingCacheEntry> entries_;
};

// Parses a timing cache's text; `file` names it in errors: INVALID_ARGUMENT "timing cache 'f' line 3: ...".
// A later line for the same key replaces an earlier one.
TimingCache parseTimingCache(const std::string& text, const std::string& file);
// The text form (header, then entries sorted by key; times with the fewest digits that read back exactly).
std::string serializeTimingCache(const TimingCache& cache);

// Reads `path`; a missing file is an empty cache. INVALID_ARGUMENT for an unreadable or malformed file.
TimingCache readTimingCacheFile(const std::string& path);
// Writes `cache` to a temporary file beside `path`, then renames it over `path`, so a reader never sees half a
// file. INVALID_ARGUMENT naming the path when it cannot be written.
void writeTimingCacheFile(const std::string& path, const TimingCache& cache);

// The algorithm column: 128 lowercase hex digits; reading accepts either case and nothing else.
std::string gemmAlgoToHex(const GemmAlgoWords& algo);
bool gemmAlgoFromHex(const std::string& hex, GemmAlgoWords* out);

// What a device is called in the file: its name with tabs and line breaks made spaces.
std::string timingCacheDeviceName(const std::string& name);

}  // namespace inferrt
