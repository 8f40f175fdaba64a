// CPU kernels of the "Shape" family. Reshape, Squeeze, Unsqueeze and Flatten return views of their input
// (no copy); Transpose, Expand and Tile copy elements as raw bits, so every dtype takes the same path.
#include <cstring>
#include <vector>

#include "backend/cpu/broadcast.h"
#include "backend/cpu/kernel_registry.h"
#include "backend/cpu/math_common.h"
#include "backend/cpu/movement_common.h"
#include "ir/ops/movement_geometry.h"

namespace inferrt {

namespace {

using Inputs = std::vector<const Tensor*>;
using Outputs = std::vector<Tensor>;

void runReshape(const Layer& layer, const Inputs& in, Outputs& out) {
  const bool allowZero = layer.attrs.getInt("allowzero", 0) != 0;
  const Tensor& x = requiredInput(in, 0);
  setView(out, x.reshaped(reshapeDims(x.dims(), readInts(requiredInput(in, 1), "shape"), allowZero)));
}

void runSqueeze(const Layer& layer, const Inputs& in, Outputs& out) {
  const std::vector<int64_t> axes = layer.attrs.getInts("axes", {});
  const Tensor& x = requiredInput(in, 0);
  setView(out, x.reshaped(squeezeDims(x.dims(), axes, !axes.empty())));
}

void runUnsqueeze(const Layer& layer, const Inputs& in, Outputs& out) {
  const Tensor& x = requiredInput(in, 0);
  setView(out, x.reshaped(unsqueezeDims(x.dims(), layer.attrs.getInts("axes"))));
}

void runFlatten(const Layer& layer, const Inputs& in, Outputs& out) {
  const Tensor& x = requiredInput(in, 0);
  setView(out, x.reshaped(flattenDims(x.dims(), layer.attrs.getInt("axis", 1))));
}

void runTranspose(const Layer& layer, const Inputs& in, Outputs& out) {
  const Tensor& x = requiredInput(in, 0);
  const std::vector<int64_t> perm = transposePerm(layer.attrs, x.rank());
  const std::vector<int64_t> inStrides = stridesOf(x.dims());
  Dims dims(perm.size());
  std::vector<int64_t> strides(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    dims[i] = x.dims()[perm[i]];
    strides[i] = inStrides[perm[i]];
  }
  requireKernelOutput(out[0], x.dtype(), dims, "Transpose output");
  stridedCopy(x, 0, strides, out[0]);
}

void runShape(const Layer& layer, const Inputs& in, Outputs& out) {
  const Dims& x = requiredInput(in, 0).dims();
  int64_t start = 0, end = 0;
  shapeRange(layer.attrs, static_cast<int64_t>(x.size()), &start, &end);
  requireKernelOutput(out[0], DType::Int64, {end - start}, "Shape output");
  int64_t* o = out[0].data<int64_t>();
  for (int64_t i = start; i < end; ++i) o[i - start] = x[i];
}

void runExpand(const Layer&, const Inputs& in, Outputs& out) {
  const Tensor& x = requiredInput(in, 0);
  const Dims dims = expandDims(x.dims(), readInts(requiredInput(in, 1), "shape"));
  requireKernelOutput(out[0], x.dtype(), dims, "Expand output");
  stridedCopy(x, 0, broadcastStrides(x.dims(), dims), out[0]);
}

// Output rows (all dims but the last) map to input rows by coordinate modulo the input dims; each row is
// the input row repeated along the last dim.
void runTile(const Layer&, const Inputs& in, Outputs& out) {
  const Tensor& x = requiredInput(in, 0);
  const Dims dims = tileDims(x.dims(), readInts(requiredInput(in, 1), "repeats"));
  requireKernelOutput(out[0], x.dtype(), dims, "Tile output");
  if (out[0].numel() == 0) return;
  const size_t es = dtypeSize(x.dtype());
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(out[0].raw());
  if (dims.empty()) {
    std::memcpy(dst, src, es);
    return;
  }
  const size_t rank = dims.size();
  const std::vector<int64_t> inStrides = stridesOf(x.dims());
  const int64_t inRow = x.dims()[rank - 1], outRow = dims[rank - 1];
  const int64_t rows = out[0].numel() / outRow;
  std::vector<int64_t> coord(rank - 1, 0);
  for (int64_t r = 0; r < rows; ++r) {
    int64_t base = 0;
    for (size_t d = 0; d + 1 < rank; ++d) base += (coord[d] % x.dims()[d]) * inStrides[d];
    uint8_t* row = dst + r * outRow * es;
    for (int64_t k = 0; k < outRow; k += inRow) std::memcpy(row + k * es, src + base * es, inRow * es);
    for (size_t d = rank - 1; d-- > 0;) {
      if (++coord[d] < dims[d]) break;
      coord[d] = 0;
    }
  }
}

}  // namespace

void registerShapeKernels() {
  registerCpuKernel({"Reshape", runReshape, true});
  registerCpuKernel({"Squeeze", runSqueeze, true});
  registerCpuKernel({"Unsqueeze", runUnsqueeze, true});
  registerCpuKernel({"Flatten", runFlatten, true});
  registerCpuKernel({"Transpose", runTranspose});
  registerCpuKernel({"Shape", runShape});
  registerCpuKernel({"Expand", runExpand});
  registerCpuKernel({"Tile", runTile});
}

}  // namespace inferrt
