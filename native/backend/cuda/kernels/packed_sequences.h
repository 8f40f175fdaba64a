// Packed variable-length sequences on the device (the packed-BERT plugins, Attention with cu_seqlens): T tokens of
// B sequences one after another, sequence b holding tokens cu[b] .. cu[b+1]-1 of an int32 cu_seqlens [B + 1].
// Host side: the launcher of the validation kernel. Device side: packed_sequences.cuh. Plain C++ parameters only.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace inferrt::cudakernels {

// DeviceErrorCode::InvalidSequenceOffsets (cuda_kernel.h, which nvcc does not see; the plugins assert they match).
constexpr int32_t kInvalidSequenceOffsets = 2;

// Checks every entry of cuSeqlens [batch + 1] (device memory) against the rules: cu[0] = 0, never decreasing, no
// sequence longer than maxSeqLen or shorter than minSeqLen, cu[batch] = totalTokens; sets *deviceError (if not already set) to
// kInvalidSequenceOffsets when one fails. Reads only those batch + 1 entries. Kernels that use the offsets stay in
// bounds on their own (sequenceSpan), so they may run after it on the same stream whatever it finds.
void launchValidateCuSeqlens(const int32_t* cuSeqlens, int64_t batch, int64_t totalTokens, int64_t maxSeqLen,
                             int64_t minSeqLen, int32_t* deviceError, int multiProcessors, cudaStream_t stream);

}  // namespace inferrt::cudakernels
