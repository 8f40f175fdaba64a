// Shape rule of MatMul: numpy matmul (1-D operands promoted then squeezed, batch dims broadcast), with
// transA/transB swapping an operand's last two dims first (no-op on 1-D operands). The builder's GEMM fusion
// adds an optional bias (input 2, [N] along the last output dim) and an activation applied after it; its scale
// fusion an alpha scaling the product before them.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "ir/gemm_layers.h"
#include "ir/ops/shape_helpers.h"
#include "ir/ops/shared_shape_rules.h"

namespace inferrt {

namespace {

std::vector<TensorDesc> inferMatMul(const Layer& layer, const std::vector<TensorDesc>& in) {
  requireDType(in[0], 0, {DType::Float32, DType::Float16, DType::Int32, DType::Int64});
  requireSameDType(in, 0, 1);
  for (const char* key : {"transA", "transB"}) {
    const int64_t v = layer.attrs.getInt(key, 0);
    if (v != 0 && v != 1) fail(ErrorCode::InvalidArgument, "attribute '", key, "' must be 0 or 1, got ", v);
  }
  const Dims out = matmulOutputDims(in[0], in[1], layer.attrs.getInt("transA", 0) != 0,
                                    layer.attrs.getInt("transB", 0) != 0);
  const bool vecB = in[1].dims.size() == 1;  // else the output's last dim is N
  const std::string act = layer.attrs.getString("activation", "none");
  if (!isGemmActivation(act))
    fail(ErrorCode::InvalidArgument, "attribute 'activation' must be ", gemmActivationNames(), ", got '", act, "'");
  const double alpha = layer.attrs.getFloat("alpha", 1.0);
  if (!std::isfinite(alpha)) fail(ErrorCode::InvalidArgument, "attribute 'alpha' must be finite, got ", alpha);
  const bool epilogue = hasInput(in, 2) || act != "none" || alpha != 1.0;  // integer products are never scaled
  if (epilogue) requireDType(in[0], 0, {DType::Float32, DType::Float16});
  if (hasInput(in, 2)) {  // broadcast over the last output dim only, so the output shape is unchanged
    requireSameDType(in, 0, 2);
    requireRank(in[2], 2, 1, 1);
    if (vecB) fail(ErrorCode::ShapeMismatch, "a bias needs a matrix B (the output's last dim is N), got B ",
                   dimsToString(in[1].dims));
    unifyDim(in[2].dims[0], out.back(), "bias length vs N");
  }
  return {makeDesc(in[0].dtype, out)};
}

}  // namespace

Dims matmulOutputDims(const TensorDesc& a0, const TensorDesc& b0, bool transA, bool transB) {
  requireRank(a0, 0, 1);
  requireRank(b0, 1, 1);
  Dims a = a0.dims, b = b0.dims;
  if (transA && a.size() >= 2) std::swap(a[a.size() - 1], a[a.size() - 2]);
  if (transB && b.size() >= 2) std::swap(b[b.size() - 1], b[b.size() - 2]);
  const bool vecA = a.size() == 1, vecB = b.size() == 1;
  if (vecA) a.insert(a.begin(), 1);  // [K] -> [1, K]
  if (vecB) b.push_back(1);          // [K] -> [K, 1]
  const int64_t m = a[a.size() - 2], k = a.back(), n = b.back();
  if (k >= 0 && b[b.size() - 2] >= 0 && k != b[b.size() - 2])
    fail(ErrorCode::ShapeMismatch, "inner dims differ: A ", dimsToString(a0.dims), " and B ", dimsToString(b0.dims),
         " (after transA/transB) give K = ", k, " vs ", b[b.size() - 2]);
  Dims out = broadcastDims(Dims(a.begin(), a.end() - 2), Dims(b.begin(), b.end() - 2));
  if (!vecA) out.push_back(m);
  if (!vecB) out.push_back(n);
  return out;
}

void registerMatMulSchemas() { registerOpSchema({"MatMul", 2, 3, 1, 1, inferMatMul}); }

}  // namespace inferrt
