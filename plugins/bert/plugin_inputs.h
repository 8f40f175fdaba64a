// Input checks shared by the BERT plugins' shape rules: each names the plugin and the input ("PackedAttention
// input 1 (cu_seqlens) has dtype int64, expected int32"). Dims may be kDynamic at build time. Header-only.
#pragma once
#include <initializer_list>
#include <string>
#include <vector>

#include "ir/ops/shape_helpers.h"

namespace inferrt {

// Throws DTypeMismatch unless input i is one of `allowed`, and ShapeMismatch unless it has rank `rank`.
inline void requirePluginInput(const char* plugin, const std::vector<TensorDesc>& in, size_t i, const char* name,
                               std::initializer_list<DType> allowed, size_t rank) {
  const TensorDesc& d = in[i];
  bool ok = false;
  for (DType t : allowed) ok = ok || d.dtype == t;
  if (!ok)
    fail(ErrorCode::DTypeMismatch, plugin, " input ", i, " (", name, ") has dtype ", dtypeName(d.dtype),
         ", expected ", dtypeList(allowed));
  if (d.dims.size() != rank)
    fail(ErrorCode::ShapeMismatch, plugin, " input ", i, " (", name, ") must have rank ", rank, ", got shape ",
         dimsToString(d.dims));
}

// Throws DTypeMismatch unless input i has input j's dtype (the plugins' float tensors share one dtype).
inline void requireSameFloat(const char* plugin, const std::vector<TensorDesc>& in, size_t i, const char* name,
                             size_t j, const char* nameJ) {
  if (in[i].dtype != in[j].dtype)
    fail(ErrorCode::DTypeMismatch, plugin, " input ", i, " (", name, ") has dtype ", dtypeName(in[i].dtype),
         " but input ", j, " (", nameJ, ") has ", dtypeName(in[j].dtype), "; the float inputs must share one dtype");
}

// Merges two views of one dim, throwing ShapeMismatch "<plugin> <what>: a vs b" when both are known and differ.
inline int64_t unifyPluginDim(const char* plugin, int64_t a, int64_t b, const std::string& what) {
  return unifyDim(a, b, (std::string(plugin) + " " + what).c_str());
}

}  // namespace inferrt
