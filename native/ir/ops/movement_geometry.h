// Geometry of the data-movement layers (Reshape, Slice, Split, Pad, Range, ...), shared by their shape rules
// (native/ir/ops/{shape,indexing,generator}.cc) and CPU kernels so that both read attributes and value inputs
// the same way. Every function validates its arguments and throws inferrt::Error naming what is wrong; dims
// may hold kDynamic (build time), which propagates to kDynamic results where a value cannot be derived.
#pragma once
#include <cstdint>
#include <vector>

#include "ir/attributes.h"
#include "ir/dims.h"
#include "ir/dtype.h"
#include "ir/error.h"
#include "ir/op_registry.h"

namespace inferrt {

// Checks that input `index` is a 1-D integer tensor (int32/int64) — a shape, axes, pads, ... vector.
void requireShapeVector(const TensorDesc& desc, size_t index, const char* what);
// Its length, which decides an output rank and so must be known even at build time (UnsupportedOp if not).
int64_t shapeVectorLength(const TensorDesc& desc, size_t index, const char* what);
// Checks that input `index` holds exactly one integer or float element (rank 0 or [1]) where known.
void requireOneElement(const TensorDesc& desc, size_t index, const char* what);

// Gather / GatherElements: index `v` (at flat `position` of the indices) along `axis` of size `n`, negative
// counting from the end. Out of range throws InvalidArgument naming the index and the dim.
inline int64_t gatherIndex(int64_t v, int64_t n, int64_t position, int64_t axis) {
  if (v < -n || v >= n) {
    if (n == 0) fail(ErrorCode::InvalidArgument, "indices[", position, "] = ", v, " indexes axis ", axis,
                     ", which is empty");
    fail(ErrorCode::InvalidArgument, "indices[", position, "] = ", v, " is out of range for axis ", axis, " of size ",
         n, " (valid: ", -n, " to ", n - 1, ")");
  }
  return v < 0 ? v + n : v;
}

// Rejects outputs whose byte size would not fit in memory arithmetic (guards the allocation size itself).
void requireAllocatable(DType dtype, const Dims& dims, const char* what);

// Reshape: 0 copies the input dim (unless allowZero), one -1 is inferred. With kDynamic input dims the -1 is
// still inferred when the unknown dims are exactly the ones copied by 0 (e.g. [-1, 8, 64] -> [0, 8, -1]).
Dims reshapeDims(const Dims& in, const std::vector<int64_t>& shape, bool allowZero);

// Squeeze with explicit axes (hasAxes) or of every size-1 dim.
Dims squeezeDims(const Dims& in, const std::vector<int64_t>& axes, bool hasAxes);
// Unsqueeze: axes index the output (rank in.size() + axes.size()).
Dims unsqueezeDims(const Dims& in, const std::vector<int64_t>& axes);
// Flatten at axis in [-rank, rank].
Dims flattenDims(const Dims& in, int64_t axis);
// The Transpose permutation: the 'perm' attribute (validated) or the reversed dims.
std::vector<int64_t> transposePerm(const Attributes& attrs, int64_t rank);
// Shape's [start, end) after ONNX clamping; end <= start gives an empty range.
void shapeRange(const Attributes& attrs, int64_t rank, int64_t* start, int64_t* end);
// Expand: bidirectional broadcast of `in` with the requested shape (values >= 0).
Dims expandDims(const Dims& in, const std::vector<int64_t>& shape);
// Tile: one repeat (>= 0) per dim.
Dims tileDims(const Dims& in, const std::vector<int64_t>& repeats);

// Per input dim: first index, step and element count of a Slice. Dims the slice does not touch have
// start 0, step 1, count = dim. count is kDynamic where the dim is unknown.
struct SliceGeometry {
  std::vector<int64_t> start, step, count;
};
// `axes` / `steps` may be null (defaults: 0..n-1 and 1s). Clamps like ONNX Slice-13, negative steps and
// INT64_MIN/INT64_MAX sentinels included.
SliceGeometry sliceGeometry(const Dims& in, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
                            const std::vector<int64_t>* axes, const std::vector<int64_t>* steps);
// The normalized, duplicate-free axes a Slice touches (axes input or 0..numStarts-1).
std::vector<int64_t> sliceAxes(const std::vector<int64_t>* axes, size_t numStarts, int64_t rank);

// Split sizes along a dim of size `dim` (kDynamic allowed): the given sizes (checked against dim) or equal
// parts with a smaller last one (opset 18). Entries are kDynamic where unknown.
std::vector<int64_t> splitSizes(int64_t dim, const std::vector<int64_t>* split, size_t numOutputs);

// Pad amounts per input dim (begin and end; negative crops) from pads [begins..., ends...] over `axes`
// (null: all dims).
struct PadGeometry {
  std::vector<int64_t> begin, end;
};
PadGeometry padGeometry(int64_t rank, const std::vector<int64_t>& pads, const std::vector<int64_t>* axes);
// Padded dims (kDynamic where the input dim is); throws ShapeMismatch for a negative result and, when the
// mode replicates input values (reflect, edge), InvalidArgument for padding an axis with nothing left to copy.
Dims paddedDims(const Dims& in, const PadGeometry& pads, bool replicates);

// Range's element count: max(ceil((limit - start) / delta), 0). Integer version is exact for all int64
// values; the float version follows ONNX Runtime (difference in float32, division in double).
int64_t rangeLengthInt(int64_t start, int64_t limit, int64_t delta);
int64_t rangeLengthFloat(float start, float limit, float delta);

}  // namespace inferrt
