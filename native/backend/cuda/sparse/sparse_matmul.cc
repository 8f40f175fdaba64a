#include "backend/cuda/sparse/sparse_matmul.h"

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_stream.h"
#include "backend/cuda/device_memory.h"
#include "backend/cuda/scoped_device.h"
#include "ir/error.h"
#include "ir/half.h"

namespace inferrt::sparselt {

SparseMatMul sparseMatMulOf(const Layer& layer, const Dims& a, const Dims& b, bool hasBias) {
  SparseMatMul out;
  const std::string act = layer.attrs.getString("activation", "none");
  out.gelu = act == "gelu";
  out.shape.relu = act == "relu";
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

std::vector<uint8_t> compressLayerWeight(const Handle& handle, const SparseGemmShape& shape, const Tensor& b,
                                         bool transB) {
  const std::vector<uint16_t> layout = sparseWeightLayout(b, transB);
  return compressWeight(handle, shape, layout.data());
}

std::vector<uint8_t> compressWeight(const Handle& handle, const SparseGemmShape& shape, const void* weight) {
  ScopedDevice on(handle.device());
  // The weight descriptor depends on n, k and the type only: any m the library tiles serves to make it.
  SparseGemmShape forWeight = shape;
  forWeight.m = 16;
  forWeight.bias = false;
  forWeight.relu = false;
  std::shared_ptr<SparseGemmPlan> plan = planSparseGemm(handle, forWeight, nullptr, nullptr);
  if (!plan) fail(ErrorCode::CudaError, "cuSPARSELt has no plan for the weight of ", sparseGemmKey(shape));
  CudaStream stream(handle.device());
  const size_t bytes = static_cast<size_t>(shape.n * shape.k) * operandBytes(shape.type);
  DeviceMemory dense(bytes, handle.device());
  INFERRT_CUDA_CHECK(cudaMemcpy(dense.data(), weight, bytes, cudaMemcpyHostToDevice));
  if (!weightsAreTwoFour(*plan, dense.data(), stream.handle()))
    fail(ErrorCode::InvalidArgument, "cuSPARSELt's prune check rejects the weight of ", sparseGemmKey(shape),
         " as not 2:4 along the reduction dimension");
  DeviceMemory compressed(compressedSize(*plan), handle.device());
  compressWeights(*plan, dense.data(), compressed.data(), stream.handle());
  std::vector<uint8_t> host(compressed.size());
  INFERRT_CUDA_CHECK(cudaMemcpy(host.data(), compressed.data(), host.size(), cudaMemcpyDeviceToHost));
  return host;
}

}  // namespace inferrt::sparselt

namespace inferrt::sparselt {

SparseGemmResult runSparseGemmOnce(int device, const SparseGemmShape& shape, const void* x, const void* w,
                                   int32_t configId) {
  if (shape.bias || shape.relu) fail(ErrorCode::InvalidArgument, "runSparseGemmOnce takes no bias or activation");
  const std::string reason = unsupportedReason(shape);
  if (!reason.empty()) fail(ErrorCode::InvalidArgument, "sparse GEMM ", sparseGemmKey(shape), ": ", reason);
  ScopedDevice on(device);
  Handle handle(device);
  const std::vector<uint8_t> compressedHost = compressWeight(handle, shape, w);
  CudaStream stream(device);
  DeviceMemory compressed(compressedHost.size(), device);
  const size_t xBytes = static_cast<size_t>(shape.m * shape.k) * operandBytes(shape.type);
  const size_t yBytes = static_cast<size_t>(shape.m * shape.n) * outputBytes(shape.type);
  DeviceMemory xDevice(xBytes, device), yDevice(yBytes, device);
  INFERRT_CUDA_CHECK(cudaMemcpy(compressed.data(), compressedHost.data(), compressedHost.size(), cudaMemcpyHostToDevice));
  INFERRT_CUDA_CHECK(cudaMemcpy(xDevice.data(), x, xBytes, cudaMemcpyHostToDevice));
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
  INFERRT_CUDA_CHECK(cudaMemsetAsync(yDevice.data(), 0xff, yBytes, stream.handle()));  // stale values must not pass
  runSparseGemm(*plan, compressed.data(), xDevice.data(), yDevice.data(), workspace.data(), 1.0f, stream.handle());
  result.y.resize(yBytes);
  INFERRT_CUDA_CHECK(cudaMemcpyAsync(result.y.data(), yDevice.data(), yBytes, cudaMemcpyDeviceToHost, stream.handle()));
  INFERRT_CUDA_CHECK(cudaStreamSynchronize(stream.handle()));
  return result;
}

}  // namespace inferrt::sparselt
