#include "ir/dims.h"

#include <algorithm>
#include <limits>

#include "ir/error.h"

namespace inferrt {

bool isStatic(const Dims& d) {
  return std::none_of(d.begin(), d.end(), [](int64_t x) { return x < 0; });
}

int64_t volume(const Dims& d) {
  int64_t v = 1;
  for (int64_t x : d) {
    if (x < 0) fail(ErrorCode::Internal, "volume() of a shape with unknown dims ", dimsToString(d));
    if (x != 0 && v > std::numeric_limits<int64_t>::max() / x)
      fail(ErrorCode::InvalidArgument, "shape ", dimsToString(d), " has too many elements");
    v *= x;
  }
  return v;
}

std::string dimsToString(const Dims& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(d[i]);
  }
  return s + "]";
}

int64_t normalizeAxis(int64_t axis, int64_t rank, const char* what) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(ErrorCode::InvalidArgument, what, " ", axis, " is out of range for rank ", rank);
  return a;
}

Dims broadcastDims(const Dims& a, const Dims& b) {
  size_t rank = std::max(a.size(), b.size());
  Dims out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t x = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t y = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (x == y) out[i] = x;
    else if (x == 1) out[i] = y;
    else if (y == 1) out[i] = x;
    else if (x == kDynamic) out[i] = y;
    else if (y == kDynamic) out[i] = x;
    else fail(ErrorCode::ShapeMismatch, "shapes ", dimsToString(a), " and ", dimsToString(b), " do not broadcast");
  }
  return out;
}

std::vector<int64_t> stridesOf(const Dims& d) {
  std::vector<int64_t> s(d.size(), 1);
  for (int64_t i = static_cast<int64_t>(d.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * d[i + 1];
  return s;
}

}  // namespace inferrt
