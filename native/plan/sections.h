// Section tags and versions of the plan body (plan.h describes the layout). A section's payload changes
// only with a new section version; a new kind of data gets a new tag.
#pragma once
#include <cstdint>

namespace inferrt {
namespace plan_sections {

constexpr char kMagic[8] = {'I', 'N', 'F', 'E', 'R', 'R', 'T', '\0'};

// Tensors: u32 count, each: str name, u8 dtype, dims, u8 flags (kFlag*), i32 producer.
constexpr char kTensors[5] = "TNSR";
// Layers: u32 count, each: str kind, str name, u32 n + i32 inputs, u32 n + i32 outputs, u8 precision,
// u32 attr count, each: str key, u8 type (kAttr*), value (i64 | f64 | str | u32 n + i64s | u32 n + f64s).
constexpr char kLayers[5] = "LAYR";
// Weights: u32 count, each: u32 tensor index, u64 byte length, bytes (row-major, little-endian).
constexpr char kWeights[5] = "WGHT";
// I/O: u32 n + u32 input tensor indices, u32 n + u32 output tensor indices (in order).
constexpr char kIO[5] = "IOTS";
// Profiles: u32 count, each: u32 entries, each: str input name, dims min, dims opt, dims max.
constexpr char kProfiles[5] = "PROF";
// Build config: u8 flags (bit 0 fp16, 1 int8, 2 tf32, 3 sparse weights), u64 workspace bytes, str backend.
constexpr char kBuildConfig[5] = "BCFG";
// Tactics (optional: CUDA plans built with tactic timing): u32 count, each: u32 layer index, str GEMM key,
// 8 x u64 cuBLASLt algorithm words, u64 cuBLASLt version, f64 median ms, str description. Layers strictly
// ascending; each names a MatMul layer.
constexpr char kTactics[5] = "TCTC";
// Sparsity (optional: builds with sparseWeights): u32 count, each: u32 layer index, u8 flags (bit 0 eligible: its
// constant weights are 2:4 along the reduction dimension, bit 1 sparse: it runs the sparse kernel at the GEMM its
// tactic was timed for, bit 2 any shape: at every shape the kernel tiles, as 'force' builds ask), str note,
// f64 dense ms, f64 sparse ms, str GEMM key, u64 cuSPARSELt version, i32 algorithm config id, i32 split-K,
// i32 split-K mode, i32 split-K buffers, u64 n + compressed weight bytes. Layers strictly ascending; each names a
// MatMul, QuantizedMatMul or Convolution layer; sparse implies eligible; times finite and >= 0.
constexpr char kSparsity[5] = "SPRS";
// cuDNN plan choices (optional: CUDA INT8 builds, cudnn_choices.h): u64 cuDNN version, str GPU name, u32 count, each:
// u32 n + i64 problem key words (n >= 1), u64 configuration index, u64 configuration count, str JSON. Problems
// distinct; index < count.
constexpr char kCudnnChoices[5] = "CDNN";

constexpr uint32_t kSectionVersion = 1;  // of every section above, for format version 1

constexpr uint8_t kFlagInput = 1, kFlagOutput = 2, kFlagConstant = 4;
constexpr uint8_t kSparsityEligible = 1, kSparsitySparse = 2, kSparsityAnyShape = 4;
constexpr uint8_t kAttrInt = 0, kAttrFloat = 1, kAttrString = 2, kAttrInts = 3, kAttrFloats = 4;

}  // namespace plan_sections
}  // namespace inferrt
