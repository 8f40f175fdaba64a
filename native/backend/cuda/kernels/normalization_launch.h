// Host launchers of Normalization (layer / instance / batch): plain C++ parameters only (see reduction_launch.h).
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace inferrt::cudakernels {

constexpr int kMaxNormDims = 8;

// How a scale / bias element is found for element k of row r ([rows, n] view of x).
enum class NormParamMode : int32_t {
  Absent,      // the fallback value
  ByColumn,    // data[k]: the parameter spans exactly the normalized dims
  ByChannel,   // data[r % channels]: per-channel (instance mode, rows = N * C)
  General,     // data[sum(coord_d * strides_d)] for element r * n + k decoded over x's dims
};

struct NormParam {
  const void* data = nullptr;
  bool half = false;  // float16 data, else float32
  NormParamMode mode = NormParamMode::Absent;
  float fallback = 0;
  int64_t channels = 1;  // ByChannel
  int rank = 0;          // General: x's dims and the parameter's broadcast strides (0 on broadcast dims)
  int64_t dims[kMaxNormDims] = {}, strides[kMaxNormDims] = {};
};

// Layer and instance modes: statistics per row of x seen as [rows, n].
struct RowNormLaunch {
  bool half = false;  // x and y are float16, else float32
  const void* x = nullptr;
  const void* skip = nullptr;  // layer mode, optional: x's dtype and dims, x + skip (rounded to x's dtype) is normalized
  // SkipLayerNorm (with skip): (x + skip) + skipBias[k] is normalized as computed in fp32, never rounded to x's
  // dtype; skipBias ([n], x's dtype) is optional. Off: the fused residual Add's rounding above.
  bool skipSumFp32 = false;
  const void* skipBias = nullptr;
  void* y = nullptr;
  // Layer mode with output_scale: y's int8 values, quantized from y as stored (QuantizeLinear's rounding), else null.
  // qReciprocal: 1 / qScale where multiplying by it quantizes every fp16 value alike (half rows only), else 0.
  int8_t* q = nullptr;
  float qScale = 1.0f, qReciprocal = 0.0f;
  int64_t rows = 0, n = 0;
  double eps = 1e-5;
  NormParam scale, bias;
  void* mean = nullptr;  // optional [rows] outputs (layer mode), float32 or (stored by an fp16 layer) float16
  void* invStd = nullptr;
  bool statsHalf = false;
  int multiProcessors = 0;
  cudaStream_t stream = nullptr;
};
void launchRowNorm(const RowNormLaunch& a);

// Batch mode (inference): per-channel mean / var / scale / bias over x as [batch, channels, spatial].
struct BatchNormLaunch {
  bool half = false;
  const void* x = nullptr;
  void* y = nullptr;
  int64_t batch = 0, channels = 0, spatial = 0;
  double eps = 1e-5;
  NormParam scale, bias, mean, var;  // Absent or ByChannel-style per-channel vectors [channels]
  void* scratch = nullptr;           // batchNormScratchBytes(channels) bytes
  int multiProcessors = 0;
  cudaStream_t stream = nullptr;
};
size_t batchNormScratchBytes(int64_t channels);
void launchBatchNorm(const BatchNormLaunch& a);

}  // namespace inferrt::cudakernels
