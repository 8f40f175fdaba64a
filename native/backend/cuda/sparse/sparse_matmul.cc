#include "backend/cuda/sparse/sparse_matmul.h"

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_stream.h"
#include "backend/cuda/device_memory.h"
#include "backend/cuda/scoped_device.h"
#include "ir/error.h"
#include "ir/gemm_layers.h"
#include "ir/half.h"
#include "ir/ops/shape_helpers.h"

namespace inferrt::sparselt {

SparseMatMul sparseMatMulOf(const Layer& layer, const Dims& a, const Dims& b, bool hasBias) {
  SparseMatMul out;
  const GemmActivation act = gemmActivationOf(layer);
  if (act == GemmActivation::Gelu || act == GemmActivation::GeluTanh) out.geluAfter = act;
  out.shape.relu = act == GemmActivation::Relu;
  out.shape.bias = hasBias;
  if (layer.attrs.getInt("transA", 0) != 0) {
    out.reason = "A is transposed";
    return out;
  }
  if (b.size() != 2 || a.empty()) {
    out.reason = "weight is not 2-D";
    return out;
  }
  const bool transB = layer.attrs.getInt("transB", 0) != 0;
  out.shape.k = a.back();
  out.shape.m = a.size() == 1 ? 1 : volume(Dims(a.begin(), a.end() - 1));
  out.shape.n = transB ? b[0] : b[1];
  if ((transB ? b[1] : b[0]) != out.shape.k) {
    out.reason = "inner dims differ";
    return out;
  }
  out.reason = unsupportedReason(out.shape);
  return out;
}

SparseMatMul sparseConvolutionOf(const Layer& layer, const Dims& x, const Dims& w, bool hasBias, bool hasResidual) {
  SparseMatMul out;
  const std::string act = layer.attrs.getString("activation", "none");
  out.shape.relu = act == "relu";
  out.shape.bias = hasBias;
  out.shape.residual = hasResidual;
  if (layer.attrs.getInt("channels_last", 0) != 1 || x.size() != 4 || w.size() != 4) {
    out.reason = "only channels-last 2-D convolutions are GEMMs here";
    return out;
  }
  if (w[1] != 1 || w[2] != 1 || layer.attrs.getInt("group", 1) != 1 || w[3] != x[3]) {
    out.reason = "only 1x1 convolutions without groups are plain GEMMs (" + dimsToString(w) + " weights)";
    return out;
  }
  const Dims spatial{x[1], x[2]};
  const SpatialWindow win = resolveWindow(layer.attrs, spatial, Dims{1, 1}, false);
  for (size_t i = 0; i < 2; ++i)
    if (win.strides[i] != 1 || win.padBegin[i] != 0 || win.padEnd[i] != 0) {
      out.reason = "a strided or padded 1x1 convolution is not a plain GEMM";
      return out;
    }
  out.shape.m = x[0] * x[1] * x[2];
  out.shape.n = w[0];
  out.shape.k = x[3];
  out.reason = unsupportedReason(out.shape);
  return out;
}

SparseMatMul sparseQuantizedMatMulOf(const Dims& a, const Dims& w) {
  SparseMatMul out;
  out.shape.type = SparseType::Int8;
  if (w.size() != 2 || a.empty()) {
    out.reason = "weight is not 2-D";
    return out;
  }
  out.shape.m = volume(Dims(a.begin(), a.end() - 1));
  out.shape.n = w[0];
  out.shape.k = a.back();
  if (w[1] != out.shape.k) {
    out.reason = "inner dims differ";
    return out;
  }
  out.reason = unsupportedReason(out.shape);
  return out;
}

std::vector<uint16_t> sparseWeightLayout(const Tensor& b, bool transB) {
  if (b.rank() != 2 || (b.dtype() != DType::Float32 && b.dtype() != DType::Float16))
    fail(ErrorCode::Internal, "sparse weight must be a 2-D float tensor");
  const int64_t rows = b.dims()[0], cols = b.dims()[1];
  const int64_t n = transB ? rows : cols, k = transB ? cols : rows;
  auto half = [&](int64_t i) -> uint16_t {
    return b.dtype() == DType::Float16 ? b.data<uint16_t>()[i] : floatToHalf(b.data<float>()[i]);
  };
  std::vector<uint16_t> out(static_cast<size_t>(n * k));
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c) out[static_cast<size_t>(r * k + c)] = half(transB ? r * cols + c : c * cols + r);
  return out;
}

SparseGemmShape weightShapeOf(const Layer& layer, const Tensor& weight) {
  SparseGemmShape shape;
  shape.m = 16;
  const Dims& d = weight.dims();
  if (layer.kind == "Convolution") {
    shape.n = d.empty() ? 0 : d[0];
    shape.k = shape.n > 0 ? weight.numel() / shape.n : 0;
  } else if (layer.kind == "QuantizedMatMul") {
    shape.type = SparseType::Int8;
    if (d.size() == 2) {
      shape.n = d[0];
      shape.k = d[1];
    }
  } else if (d.size() == 2) {
    const bool transB = layer.attrs.getInt("transB", 0) != 0;
    shape.n = transB ? d[0] : d[1];
    shape.k = transB ? d[1] : d[0];
  }
  return shape;
}

std::vector<uint8_t> compressLayerWeight(const Handle& handle, const SparseGemmShape& shape, const Layer& layer,
                                         const Tensor& weight) {
  if (layer.kind == "QuantizedMatMul") {
    // Already the GEMM's int8 [n, k], row-major: compressed as it is.
    if (weight.dtype() != DType::Int8 || weight.rank() != 2 || shape.type != SparseType::Int8 ||
        weight.dims()[0] != shape.n || weight.dims()[1] != shape.k)
      fail(ErrorCode::Internal, "sparse weight of QuantizedMatMul '", layer.name, "' must be int8 [", shape.n, ", ",
           shape.k, "], got ", dtypeName(weight.dtype()), " ", dimsToString(weight.dims()));
    return compressWeight(handle, shape, weight.raw());
  }
  // MatMul: B is [k, n] ([n, k] with transB); a 1x1 channels-last Convolution's [n, 1, 1, k] filter is [n, k].
  const bool conv = layer.kind == "Convolution";
  const Tensor b = conv ? weight.reshaped({weight.dims()[0], weight.numel() / std::max<int64_t>(weight.dims()[0], 1)})
                        : weight;
  const std::vector<uint16_t> layout = sparseWeightLayout(b, conv || layer.attrs.getInt("transB", 0) != 0);
  return compressWeight(handle, shape, layout.data());
}

void uploadPadded(void* at, size_t capacity, const void* host, size_t bytes, cudaStream_t stream) {
  if (capacity < paddedCompressedBytes(bytes))
    fail(ErrorCode::Internal, "sparse GEMM operand of ", bytes, " bytes in a device buffer of ", capacity,
         " bytes: no room for its ", kCompressedWeightSlackBytes, " bytes of slack");
  uint8_t* base = static_cast<uint8_t*>(at);
  const size_t zeroFrom = host ? bytes : 0;
  if (host && bytes > 0) INFERRT_CUDA_CHECK(cudaMemcpyAsync(base, host, bytes, cudaMemcpyHostToDevice, stream));
  INFERRT_CUDA_CHECK(cudaMemsetAsync(base + zeroFrom, 0, capacity - zeroFrom, stream));
  INFERRT_CUDA_CHECK(cudaStreamSynchronize(stream));  // `host` may go, and work on other streams may read `at`
}

std::unique_ptr<DeviceMemory> devicePadded(const void* host, size_t bytes, int device, cudaStream_t stream) {
  auto memory = std::make_unique<DeviceMemory>(paddedCompressedBytes(bytes), device);
  uploadPadded(memory->data(), memory->size(), host, bytes, stream);
  return memory;
}

std::vector<uint8_t> compressWeight(const Handle& handle, const SparseGemmShape& shape, const void* weight) {
  ScopedDevice on(handle.device());
  // The weight descriptor depends on n, k and the type only: any m the library tiles serves to make it.
  SparseGemmShape forWeight = shape;
  forWeight.m = 16;
  forWeight.bias = false;
  forWeight.relu = false;
  forWeight.residual = false;
  std::shared_ptr<SparseGemmPlan> plan = planSparseGemm(handle, forWeight, nullptr, nullptr);
  if (!plan) fail(ErrorCode::CudaError, "cuSPARSELt has no plan for the weight of ", sparseGemmKey(shape));
  CudaStream stream(handle.device());
  const size_t bytes = static_cast<size_t>(shape.n * shape.k) * operandBytes(shape.type);
  const std::unique_ptr<DeviceMemory> dense = devicePadded(weight, bytes, handle.device(), stream.handle());
  if (!weightsAreTwoFour(*plan, dense->data(), stream.handle()))
    fail(ErrorCode::InvalidArgument, "cuSPARSELt's prune check rejects the weight of ", sparseGemmKey(shape),
         " as not 2:4 along the reduction dimension");
  const size_t compressedBytes = compressedSize(*plan);
  const std::unique_ptr<DeviceMemory> compressed =
      devicePadded(nullptr, compressedBytes, handle.device(), stream.handle());
  compressWeights(*plan, dense->data(), compressed->data(), stream.handle());
  std::vector<uint8_t> host(compressedBytes);  // the library's bytes only: the slack exists on the device alone
  INFERRT_CUDA_CHECK(cudaMemcpy(host.data(), compressed->data(), host.size(), cudaMemcpyDeviceToHost));
  return host;
}

}  // namespace inferrt::sparselt

namespace inferrt::sparselt {

SparseGemmResult runSparseGemmOnce(int device, const SparseGemmShape& shape, const void* x, const void* w,
                                   int32_t configId) {
  if (shape.bias || shape.residual || shape.relu)
    fail(ErrorCode::InvalidArgument, "runSparseGemmOnce takes no bias, residual or activation");
  const std::string reason = unsupportedReason(shape);
  if (!reason.empty()) fail(ErrorCode::InvalidArgument, "sparse GEMM ", sparseGemmKey(shape), ": ", reason);
  ScopedDevice on(device);
  Handle handle(device);
  const std::vector<uint8_t> compressedHost = compressWeight(handle, shape, w);
  CudaStream stream(device);
  const size_t xBytes = static_cast<size_t>(shape.m * shape.k) * operandBytes(shape.type);
  const size_t yBytes = static_cast<size_t>(shape.m * shape.n) * outputBytes(shape.type);
  // Every operand with zeroed slack after it, as the engine's compressed weights have.
  const std::unique_ptr<DeviceMemory> compressed =
      devicePadded(compressedHost.data(), compressedHost.size(), device, stream.handle());
  const std::unique_ptr<DeviceMemory> xDevice = devicePadded(x, xBytes, device, stream.handle());
  const std::unique_ptr<DeviceMemory> yDevice = devicePadded(nullptr, yBytes, device, stream.handle());
  SparseGemmResult result;
  std::shared_ptr<SparseGemmPlan> plan = planSparseGemm(handle, shape, nullptr, nullptr);
  if (!plan) fail(ErrorCode::CudaError, "cuSPARSELt has no plan for ", sparseGemmKey(shape));
  result.configCount = configCount(*plan);
  if (configId >= 0) {
    const SparseAlgo algo{configId, 1, 0, 1};
    plan = planSparseGemm(handle, shape, &algo, nullptr);
    if (!plan) fail(ErrorCode::CudaError, "cuSPARSELt cannot plan ", sparseGemmKey(shape), " with config ", configId);
  }
  DeviceMemory workspace(sparseWorkspaceSize(*plan), device);
  INFERRT_CUDA_CHECK(cudaMemsetAsync(yDevice->data(), 0xff, yBytes, stream.handle()));  // stale values must not pass
  runSparseGemm(*plan, compressed->data(), xDevice->data(), yDevice->data(), workspace.data(), 1.0f, stream.handle());
  result.y.resize(yBytes);
  INFERRT_CUDA_CHECK(cudaMemcpyAsync(result.y.data(), yDevice->data(), yBytes, cudaMemcpyDeviceToHost, stream.handle()));
  INFERRT_CUDA_CHECK(cudaStreamSynchronize(stream.handle()));
  return result;
}

}  // namespace inferrt::sparselt
