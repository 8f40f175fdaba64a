// Host launcher of the PackedEmbLayerNorm CUDA kernel (packed_emb_layernorm.cu): plain C++ parameters only, so
// packed_emb_layernorm_cuda.cc compiles without the CUDA device headers.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace inferrt::bert_cuda {

// out[t] = LayerNorm((word[ids[t]] + type[seg[t]]) + position[t - cu[b] + positionOffset]) * gamma + beta for token
// t of sequence b, H = hidden; sums and statistics in fp32, rounded once into out.
struct PackedEmbLayerNormLaunch {
  bool half = false;                    // the float tensors (tables, gamma, beta, out) are float16, else float32
  const int32_t* inputIds = nullptr;    // [tokens]
  const int32_t* segmentIds = nullptr;  // [tokens]; null: every token has type 0
  const int32_t* cuSeqlens = nullptr;   // [batch + 1]
  const void* word = nullptr;           // [vocab, hidden]
  const void* position = nullptr;       // [positions, hidden]
  const void* tokenType = nullptr;      // [types, hidden]; null: no type term (segmentIds are then ignored)
  const void* gamma = nullptr;          // [hidden]
  const void* beta = nullptr;           // [hidden]
  void* out = nullptr;                  // [tokens, hidden]
  int64_t tokens = 0, batch = 0, hidden = 0, vocab = 0, positions = 0, types = 0;
  int64_t positionOffset = 0, maxSeqLen = 0, minSeqLen = 0;
  float epsilon = 1e-12f;
  int32_t* deviceError = nullptr;  // the layer's flag: IndexOutOfRange, InvalidSequenceOffsets
  int multiProcessors = 0;
  cudaStream_t stream = nullptr;
};

// Checks cu_seqlens (launchValidateCuSeqlens), then fills out. A token whose id, segment id or position falls
// outside its table, or that lies in no valid sequence, flags the error and gets a zero row; nothing is read or
// written out of bounds.
void launchPackedEmbLayerNorm(const PackedEmbLayerNormLaunch& a);

// DeviceErrorCode::IndexOutOfRange (cuda_kernel.h, which nvcc does not see; packed_emb_layernorm_cuda.cc asserts it).
constexpr int32_t kIdOutOfRange = 1;

}  // namespace inferrt::bert_cuda
