#include "builder/timing_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <locale>
#include <sstream>
#include <vector>

#include "ir/error.h"

namespace inferrt {

namespace {

constexpr const char* kHeader = "inferrt-timing-cache";
constexpr int kVersion = 1;
constexpr size_t kFields = 6;

[[noreturn]] void bad(const std::string& file, size_t line, const std::string& why) {
  fail(ErrorCode::InvalidArgument, "timing cache '", file, "' line ", line, ": ", why);
}

std::vector<std::string> splitTabs(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    const size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

bool parseUnsigned(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *out = v;
  return true;
}

// Locale-independent: the file must read the same whatever locale the host process set.
bool parseMs(const std::string& s, double* out) {
  if (s.empty() || s.find_first_not_of("0123456789.eE+-") != std::string::npos) return false;
  std::istringstream in(s);
  in.imbue(std::locale::classic());
  double v = 0;
  in >> v;
  if (in.fail() || in.peek() != std::char_traits<char>::eof() || !std::isfinite(v) || v < 0) return false;
  *out = v;
  return true;
}

std::string formatMs(double v) {
  for (int precision = 1;; ++precision) {
    std::ostringstream out;
    out.imbue(std::locale::classic());
    out.precision(precision);
    out << v;
    double back = 0;
    if (precision >= 17 || (parseMs(out.str(), &back) && back == v)) return out.str();
  }
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool gemmAlgoFromHex(const std::string& s, GemmAlgoWords* out) {
  if (s.size() != 16 * out->size()) return false;
  for (size_t w = 0; w < out->size(); ++w) {
    uint64_t word = 0;
    for (size_t i = 0; i < 16; ++i) {
      const int d = hexDigit(s[w * 16 + i]);
      if (d < 0) return false;
      word = (word << 4) | static_cast<uint64_t>(d);
    }
    (*out)[w] = word;
  }
  return true;
}

std::string gemmAlgoToHex(const GemmAlgoWords& algo) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (uint64_t word : algo)
    for (int shift = 60; shift >= 0; shift -= 4) s += hex[(word >> shift) & 15];
  return s;
}

namespace {

bool isArch(const std::string& s) {
  if (s.size() < 4 || s.compare(0, 3, "sm_") != 0) return false;
  for (size_t i = 3; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

bool hasSpace(const std::string& s) { return s.find_first_of(" \t\r\n") != std::string::npos; }

void parseEntry(const std::string& line, const std::string& file, size_t number, TimingCache& cache) {
  const std::vector<std::string> f = splitTabs(line);
  if (f.size() != kFields)
    bad(file, number, "expected " + std::to_string(kFields) +
                          " tab-separated fields (device, arch, cuBLASLt version, GEMM key, algorithm, ms), got " +
                          std::to_string(f.size()));
  TimingCacheKey key;
  TimingCacheEntry entry;
  key.device = f[0];
  if (key.device.empty()) bad(file, number, "the device name is empty");
  key.arch = f[1];
  if (!isArch(key.arch)) bad(file, number, "the architecture must look like 'sm_90', got '" + f[1] + "'");
  if (!parseUnsigned(f[2], &key.cublasLtVersion))
    bad(file, number, "the cuBLASLt version must be an unsigned integer, got '" + f[2] + "'");
  key.gemmKey = f[3];
  if (key.gemmKey.empty() || hasSpace(key.gemmKey)) bad(file, number, "the GEMM key is empty or has spaces: '" + f[3] + "'");
  if (!gemmAlgoFromHex(f[4], &entry.algo))
    bad(file, number, "the algorithm must be " + std::to_string(16 * entry.algo.size()) + " hex digits, got " +
                          std::to_string(f[4].size()) + " characters");
  if (!parseMs(f[5], &entry.timeMs)) bad(file, number, "the time must be a finite number of ms >= 0, got '" + f[5] + "'");
  cache.put(key, entry);
}

}  // namespace

const TimingCacheEntry* TimingCache::find(const TimingCacheKey& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

TimingCache parseTimingCache(const std::string& text, const std::string& file) {
  TimingCache cache;
  size_t number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1) {
      const std::string prefix = std::string(kHeader) + " ";
      uint64_t version = 0;
      if (line.compare(0, prefix.size(), prefix) != 0 || !parseUnsigned(line.substr(prefix.size()), &version))
        bad(file, 1, "not a timing cache: expected the header '" + std::string(kHeader) + " " +
                         std::to_string(kVersion) + "'");
      if (version != kVersion)
        bad(file, 1, "timing cache version " + std::to_string(version) + " is not the one this inferrt reads (" +
                         std::to_string(kVersion) + ")");
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    parseEntry(line, file, number, cache);
  }
  return cache;  // an empty file (say, one just created with mktemp) is an empty cache
}

std::string serializeTimingCache(const TimingCache& cache) {
  std::string out = std::string(kHeader) + " " + std::to_string(kVersion) + "\n";
  for (const auto& [key, entry] : cache.entries()) {
    out += key.device + "\t" + key.arch + "\t" + std::to_string(key.cublasLtVersion) + "\t" + key.gemmKey + "\t" +
           gemmAlgoToHex(entry.algo) + "\t" + formatMs(entry.timeMs) + "\n";
  }
  return out;
}

TimingCache readTimingCacheFile(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return TimingCache();  // the first build with this cache creates it
    fail(ErrorCode::InvalidArgument, "cannot read timing cache '", path, "': ", std::strerror(errno));
  }
  if (S_ISDIR(info.st_mode)) fail(ErrorCode::InvalidArgument, "cannot read timing cache '", path, "': it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::InvalidArgument, "cannot read timing cache '", path, "': ", std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail(ErrorCode::InvalidArgument, "cannot read timing cache '", path, "': read error");
  return parseTimingCache(text.str(), path);
}

void writeTimingCacheFile(const std::string& path, const TimingCache& cache) {
  static std::atomic<uint64_t> counter{0};
  const std::string temp = path + ".tmp-" + std::to_string(static_cast<long long>(getpid())) + "-" +
                           std::to_string(counter.fetch_add(1));
  const std::string text = serializeTimingCache(cache);
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) fail(ErrorCode::InvalidArgument, "cannot write timing cache '", path, "': ", std::strerror(errno));
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) {
      std::remove(temp.c_str());
      fail(ErrorCode::InvalidArgument, "cannot write timing cache '", path, "': write error");
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(temp.c_str());
    fail(ErrorCode::InvalidArgument, "cannot write timing cache '", path, "': ", std::strerror(err));
  }
}

std::string timingCacheDeviceName(const std::string& name) {
  std::string out = name;
  for (char& c : out)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return out;
}

}  // namespace inferrt
