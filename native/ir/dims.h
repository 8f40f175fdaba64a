// Tensor dimensions. At build time a dimension may be unknown (kDynamic); at run time all are known.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace inferrt {

using Dims = std::vector<int64_t>;
constexpr int64_t kDynamic = -1;

bool isStatic(const Dims& d);                // no kDynamic entry
int64_t volume(const Dims& d);               // product of dims; requires isStatic
std::string dimsToString(const Dims& d);     // "[2, -1, 8]"
// Normalizes a possibly negative axis against a rank; throws InvalidArgument naming `what` when out of range.
int64_t normalizeAxis(int64_t axis, int64_t rank, const char* what);
// Numpy-style broadcast of two shapes; kDynamic broadcasts against 1 to kDynamic and against n to n.
// Throws ShapeMismatch when two known dims differ and neither is 1.
Dims broadcastDims(const Dims& a, const Dims& b);
// Row-major strides of a static shape (in elements).
std::vector<int64_t> stridesOf(const Dims& d);

}  // namespace inferrt
