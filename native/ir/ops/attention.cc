// Shape rule of Attention: one fused scaled-dot-product attention, softmax(alpha · q·kᵀ + mask) · v per batch and
// head. q [B, H, Sq, D], k [B, H, Sk, D], v [B, H, Sk, Dv] -> out [B, H, Sq, Dv], each stored as its layout entry
// says (attention_geometry.h). Unlike MatMul, B and H never broadcast: they must be equal in q, k and v. Unknown
// dims (build time) pass; they are checked again on the concrete dims at run time. With output_scale s (the
// builder's INT8 output fusion) out is int8: saturate(round-half-even(o / s)), o the output as stored (rounded to
// q's dtype, or to fp16 in an fp16 layer).
#include <initializer_list>
#include <string>
#include <vector>

#include "ir/ops/attention_geometry.h"
#include "ir/ops/shape_helpers.h"

namespace inferrt {

namespace {

const char* const kNames[] = {"q", "k", "v"};
const char* const kAxes[] = {"B", "H", "S", "D"};

// "k dims [2, 8, 16, 64]", with the stored order spelled out for layout 1.
std::string describe(const std::vector<TensorDesc>& in, size_t i, int64_t layout) {
  return std::string(kNames[i]) + " dims " + dimsToString(in[i].dims) + (layout == 1 ? " (layout 1: [B, S, H, D])" : "");
}

// Throws ShapeMismatch when logical dim `axis` of operands i and j is known in both and differs.
void requireSameDim(const std::vector<TensorDesc>& in, const std::vector<Dims>& logical, const AttentionAttrs& a,
                    size_t i, size_t j, size_t axis, const char* axisName) {
  const int64_t di = logical[i][axis], dj = logical[j][axis];
  if (di >= 0 && dj >= 0 && di != dj)
    fail(ErrorCode::ShapeMismatch, describe(in, i, a.layout[i]), " do not match ", kNames[j], "'s ", axisName, "=", dj);
}

int64_t firstKnown(std::initializer_list<int64_t> dims) {
  for (int64_t d : dims)
    if (d >= 0) return d;
  return kDynamic;
}

void checkMask(const TensorDesc& mask, DType qType, const Dims& scores) {
  if (mask.dtype != DType::Float32 && mask.dtype != qType)
    fail(ErrorCode::DTypeMismatch, "mask (input 3) has dtype ", dtypeName(mask.dtype), ", expected float32 or q's ",
         dtypeName(qType));
  if (mask.dims.size() > 4)
    fail(ErrorCode::ShapeMismatch, "mask ", dimsToString(mask.dims), " has rank ", mask.dims.size(),
         "; it must broadcast to the scores [B, H, Sq, Sk] = ", dimsToString(scores));
  const size_t lead = 4 - mask.dims.size();
  for (size_t i = 0; i < mask.dims.size(); ++i) {
    const int64_t md = mask.dims[i], sd = scores[lead + i];
    if (md >= 0 && sd >= 0 && md != 1 && md != sd)  // never enlarges the scores; unknown dims: at run time
      fail(ErrorCode::ShapeMismatch, "mask ", dimsToString(mask.dims), " does not broadcast to the scores [B, H, Sq, Sk] = ",
           dimsToString(scores));
  }
}

std::vector<TensorDesc> inferAttention(const Layer& layer, const std::vector<TensorDesc>& in) {
  const AttentionAttrs a = readAttentionAttrs(layer.attrs);
  const DType type = in[0].dtype;
  if (type != DType::Float32 && type != DType::Float16)
    fail(ErrorCode::DTypeMismatch, "q has dtype ", dtypeName(type), ", expected float32 or float16");
  for (size_t i = 1; i < 3; ++i)
    if (in[i].dtype != type)
      fail(ErrorCode::DTypeMismatch, kNames[i], " has dtype ", dtypeName(in[i].dtype), " but q has ", dtypeName(type),
           "; q, k and v must match");
  std::vector<Dims> logical;
  for (size_t i = 0; i < 3; ++i) {
    if (in[i].dims.size() != 4)
      fail(ErrorCode::ShapeMismatch, kNames[i], " must have rank 4 (", a.layout[i] == 1 ? "[B, S, H, D]" : "[B, H, S, D]",
           "), got ", dimsToString(in[i].dims));
    logical.push_back(attentionSwapForLayout(in[i].dims, a.layout[i]));
  }
  for (size_t j : {size_t{1}, size_t{2}})
    for (size_t axis : {size_t{0}, size_t{1}}) requireSameDim(in, logical, a, j, 0, axis, kAxes[axis]);
  requireSameDim(in, logical, a, 1, 0, 3, "D");   // q·kᵀ contracts D
  requireSameDim(in, logical, a, 2, 1, 2, "Sk");  // p·v contracts Sk
  const int64_t b = firstKnown({logical[0][0], logical[1][0], logical[2][0]});
  const int64_t h = firstKnown({logical[0][1], logical[1][1], logical[2][1]});
  const int64_t sk = firstKnown({logical[1][2], logical[2][2]});
  if (hasInput(in, 3)) checkMask(in[3], type, {b, h, logical[0][2], sk});
  const Dims out = {b, h, logical[0][2], logical[2][3]};
  if (!layer.attrs.has("output_scale")) return {makeDesc(type, attentionSwapForLayout(out, a.layout[3]))};
  requireScaleAttribute(layer, "output_scale");
  return {makeDesc(DType::Int8, attentionSwapForLayout(out, a.layout[3]))};
}

}  // namespace

void registerAttentionSchemas() { registerOpSchema({"Attention", 3, 4, 1, 1, inferAttention}); }

}  // namespace inferrt
