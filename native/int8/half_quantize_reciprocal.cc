#include "int8/half_quantize_reciprocal.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "ir/half.h"

namespace inferrt {

namespace {

// The device's quantizeValue (kernels/int8_quantize.cuh): NaN 0, else clamped, then rounded half to even.
int quantized(float q) {
  if (std::isnan(q)) return 0;
  return static_cast<int>(std::nearbyint(std::fmin(127.0f, std::fmax(-128.0f, q))));
}

bool reciprocalIsExact(float s, float r) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const float x = halfToFloat(static_cast<uint16_t>(bits));
    const volatile float byProduct = x * r, byQuotient = x / s;  // each rounded to float32 once
    if (quantized(byProduct) != quantized(byQuotient)) return false;
  }
  return true;
}

}  // namespace

float halfQuantizeReciprocal(float s) {
  static std::mutex mutex;
  static std::unordered_map<uint32_t, float> known;  // scale bits -> the answer
  uint32_t key;
  std::memcpy(&key, &s, sizeof key);
  std::lock_guard<std::mutex> lock(mutex);
  const auto it = known.find(key);
  if (it != known.end()) return it->second;
  const float r = 1.0f / s;
  const float answer = std::isfinite(r) && r > 0 && reciprocalIsExact(s, r) ? r : 0.0f;
  known.emplace(key, answer);
  return answer;
}

}  // namespace inferrt
