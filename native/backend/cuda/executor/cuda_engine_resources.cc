#include "backend/cuda/executor/cuda_engine_resources.h"

#include <cuda_runtime_api.h>

#include <map>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_stream.h"
#include "backend/cuda/scoped_device.h"
#include "backend/cuda/sparse/sparse_matmul.h"
#include "backend/cpu/executor.h"
#include "ir/error.h"
#include "runtime/arena_planner.h"

namespace inferrt {

bool isViewKind(const std::string& kind) {
  return kind == "Reshape" || kind == "Squeeze" || kind == "Unsqueeze" || kind == "Flatten" || kind == "Identity";
}

bool readsOnDevice(const Layer& layer, const CudaKernelDef* kernel, size_t i) {
  if (layer.inputs[i] < 0) return false;
  if (isViewKind(layer.kind)) return i == 0;  // the rest (shape, axes) are read on the host
  return kernel && !(kernel->hostInputMask & (1u << i));
}

DType storageFor(const Layer& layer, DType dtype) {
  return layer.precision == LayerPrecision::Float16 && dtype == DType::Float32 ? DType::Float16 : dtype;
}

DType outputStorageFor(const Layer& layer, DType dtype) {
  if (layer.precision == LayerPrecision::Int8 && dtype == DType::Float32 && layer.attrs.getInt("half_output", 0) == 1)
    return DType::Float16;
  return storageFor(layer, dtype);
}

std::vector<LayerPlacement> planLayerPlacement(const Network& network) {
  std::vector<LayerPlacement> out;
  for (const Layer& layer : network.layers()) {
    LayerPlacement p;
    if (isViewKind(layer.kind) || layer.kind == "Shape") {
      p.onGpu = true;  // no kernel: views alias their input, Shape is known on the host from the dims
    } else if (const CudaKernelDef* k = findCudaKernel(layer.kind)) {
      p.reason = k->supports(layer, inputDescs(layer, network.tensors()));
      p.onGpu = p.reason.empty();
    } else {
      p.reason = "no CUDA kernel for " + layer.kind;
    }
    out.push_back(std::move(p));
  }
  return out;
}

bool cudaSupportsKind(const std::string& kind) {
  return isViewKind(kind) || kind == "Shape" || findCudaKernel(kind) != nullptr;
}

std::string placementSummary(const Network& network) {
  const std::vector<LayerPlacement> placements = planLayerPlacement(network);
  std::map<std::string, int> onCpu;  // "Kind (reason)" -> count
  int onGpu = 0;
  for (size_t l = 0; l < placements.size(); ++l) {
    if (placements[l].onGpu) ++onGpu;
    else ++onCpu[network.layers()[l].kind + " (" + placements[l].reason + ")"];
  }
  std::string line = "backend cuda: " + std::to_string(onGpu) + " of " + std::to_string(placements.size()) +
                     " layers on the GPU";
  if (onCpu.empty()) return line;
  line += "; on the CPU reference kernel (with copies):";
  for (const auto& [what, n] : onCpu) line += " " + what + (n > 1 ? " x" + std::to_string(n) : "") + ";";
  line.pop_back();
  return line;
}

CudaEngineResources::CudaEngineResources(const Network& network, const BuildConfig& config,
                                         const std::vector<LayerTactic>& tactics,
                                         const std::vector<LayerSparsity>& sparsity, int device)
    : device_(device),
      allowTf32_(config.tf32),
      tactics_(tactics),
      tacticOf_(network.layers().size(), -1),
      sparseOf_(network.layers().size(), -1) {
  for (size_t i = 0; i < tactics_.size(); ++i)
    if (tactics_[i].layer < tacticOf_.size()) tacticOf_[tactics_[i].layer] = static_cast<int>(i);
  ScopedDevice on(device);
  INFERRT_CUDA_CHECK(cudaDeviceGetAttribute(&multiProcessors_, cudaDevAttrMultiProcessorCount, device));
  placements_ = planLayerPlacement(network);
  const auto& layers = network.layers();
  const auto& tensors = network.tensors();
  kernels_.assign(layers.size(), nullptr);
  for (size_t l = 0; l < layers.size(); ++l)
    if (placements_[l].onGpu && !isViewKind(layers[l].kind)) kernels_[l] = findCudaKernel(layers[l].kind);

  // Inputs whose values the host needs: walk back from every host-read input of a GPU layer through the layers
  // that compute it (a Shape layer needs only dims, so the walk stops there).
  std::vector<bool> needed(tensors.size(), false);
  std::vector<int> work;
  for (size_t l = 0; l < layers.size(); ++l) {
    if (!placements_[l].onGpu || layers[l].kind == "Shape") continue;
    for (size_t i = 0; i < layers[l].inputs.size(); ++i) {
      const int t = layers[l].inputs[i];
      if (t >= 0 && !readsOnDevice(layers[l], kernels_[l], i) && !needed[t]) {
        needed[t] = true;
        work.push_back(t);
      }
    }
  }
  while (!work.empty()) {
    const int t = work.back();
    work.pop_back();
    const int producer = tensors[t].producer;
    if (producer < 0 || layers[producer].kind == "Shape") continue;
    for (int in : layers[producer].inputs)
      if (in >= 0 && !needed[in]) {
        needed[in] = true;
        work.push_back(in);
      }
  }
  for (int t : network.inputs()) hostValueInputs_.push_back(needed[t]);
  uploadSparseWeights(network, sparsity);

  // Constants that a GPU layer (or a view feeding one) reads from the device go into one block, as the dtype
  // the reading layer wants (fp16 layers get fp16 copies of float32 weights; the builder already rounded them).
  weightOffsets_.assign(tensors.size(), -1);
  halfWeightOffsets_.assign(tensors.size(), -1);
  weightDTypes_.resize(tensors.size());
  for (size_t t = 0; t < tensors.size(); ++t) weightDTypes_[t] = tensors[t].dtype;
  uint64_t total = 0;
  auto reserve = [&](int64_t& offset, uint64_t bytes) {
    if (offset >= 0) return;
    offset = static_cast<int64_t>(total);
    total += (bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
  };
  for (size_t l = 0; l < layers.size(); ++l) {
    if (!placements_[l].onGpu) continue;
    for (size_t i = 0; i < layers[l].inputs.size(); ++i) {
      const int t = layers[l].inputs[i];
      if (!readsOnDevice(layers[l], kernels_[l], i)) continue;
      if (tensors[t].producer >= 0 || !tensors[t].value || tensors[t].isInput) continue;
      const Tensor& v = *tensors[t].value;
      if (storageFor(layers[l], v.dtype()) != v.dtype()) reserve(halfWeightOffsets_[t], static_cast<uint64_t>(v.numel()) * 2);
      else reserve(weightOffsets_[t], v.byteSize());
    }
  }
  if (total == 0) return;
  weights_ = std::make_unique<DeviceMemory>(total, device);
  uint8_t* base = static_cast<uint8_t*>(weights_->data());
  for (size_t t = 0; t < tensors.size(); ++t) {
    if (weightOffsets_[t] >= 0 && tensors[t].value->byteSize() > 0)
      INFERRT_CUDA_CHECK(cudaMemcpy(base + weightOffsets_[t], tensors[t].value->raw(), tensors[t].value->byteSize(),
                                    cudaMemcpyHostToDevice));
    if (halfWeightOffsets_[t] >= 0 && tensors[t].value->numel() > 0) {
      const Tensor half = fromFloat32(*tensors[t].value, DType::Float16);
      INFERRT_CUDA_CHECK(cudaMemcpy(base + halfWeightOffsets_[t], half.raw(), half.byteSize(), cudaMemcpyHostToDevice));
    }
  }
}

// Sparse layers keep their dense weight too (the constants block below): GEMMs other than the one the build timed
// sparse faster for, and row counts the sparse kernel cannot tile (not a multiple of 8, or 16 for int8), run the
// dense GEMM.
void CudaEngineResources::uploadSparseWeights(const Network& network, const std::vector<LayerSparsity>& sparsity) {
  if (!sparselt::available()) return;  // built without cuSPARSELt: every layer runs dense
  const uint64_t version = sparselt::loadedVersion();
  std::unique_ptr<sparselt::Handle> handle;
  std::vector<std::vector<uint8_t>> recompressed;
  std::vector<std::pair<const LayerSparsity*, const std::vector<uint8_t>*>> blobs;  // record, compressed bytes
  recompressed.reserve(sparsity.size());
  for (const LayerSparsity& r : sparsity) {
    const Layer& layer = network.layers()[r.layer];
    if (!r.sparse || !placements_[r.layer].onGpu ||
        (layer.kind != "MatMul" && layer.kind != "QuantizedMatMul" && layer.kind != "Convolution"))
      continue;
    const std::vector<uint8_t>* blob = &r.compressed;
    if (r.cusparseLtVersion != version) {
      // Compressed formats may change between cuSPARSELt versions: compress the plan's dense weight again (a
      // QuantizedMatMul's int8 [N, K] weight as int8).
      const Tensor& w = *network.tensor(layer.inputs[1]).value;
      if (!handle) handle = std::make_unique<sparselt::Handle>(device_);
      try {
        recompressed.push_back(sparselt::compressLayerWeight(*handle, sparselt::weightShapeOf(layer, w), layer, w));
      } catch (const Error& e) {
        if (e.code() == ErrorCode::OutOfMemory) throw;
        continue;  // this library cannot take it: dense
      }
      blob = &recompressed.back();
    }
    blobs.emplace_back(&r, blob);
  }
  if (blobs.empty()) return;
  // One block; each weight at a 256-aligned offset with its zeroed slack (sparse_gemm.h) before the next one, so
  // a kernel that reads a tile past a small weight reads zeros, never its neighbour or past the block.
  uint64_t total = 0;
  std::vector<uint64_t> offsets, spans;
  for (const auto& [record, blob] : blobs) {
    offsets.push_back(total);
    spans.push_back((sparselt::paddedCompressedBytes(blob->size()) + kArenaAlignment - 1) / kArenaAlignment *
                    kArenaAlignment);
    total += spans.back();
  }
  sparseWeights_ = std::make_unique<DeviceMemory>(total, device_);
  uint8_t* base = static_cast<uint8_t*>(sparseWeights_->data());
  CudaStream upload(device_);
  for (size_t i = 0; i < blobs.size(); ++i) {
    const auto& [r, blob] = blobs[i];
    sparselt::uploadPadded(base + offsets[i], spans[i], blob->data(), blob->size(), upload.handle());
    SparseLayerWeights w;
    w.compressed = base + offsets[i];
    w.gemmKey = r->gemmKey;
    w.anyShape = r->anyShape;
    // The algorithm settings are this library version's: another version's configuration ids mean other kernels.
    if (r->cusparseLtVersion == version) {
      w.hasAlgo = true;
      w.algConfigId = r->algConfigId;
      w.splitK = r->splitK;
      w.splitKMode = r->splitKMode;
      w.splitKBuffers = r->splitKBuffers;
    }
    sparseOf_[r->layer] = static_cast<int>(sparse_.size());
    sparse_.push_back(std::move(w));
  }
}

void* CudaEngineResources::weight(int t, DType storage) const {
  if (t < 0 || !weights_) return nullptr;
  const int64_t offset = storage == weightDTypes_[t] ? weightOffsets_[t]
                         : storage == DType::Float16 ? halfWeightOffsets_[t]
                                                     : -1;
  if (offset < 0) return nullptr;
  return static_cast<uint8_t*>(weights_->data()) + offset;
}

std::shared_ptr<CudaEngineResources> loadCudaEngineResources(const Network& network, const BuildConfig& config,
                                                             const std::vector<LayerTactic>& tactics,
                                                             const std::vector<LayerSparsity>& sparsity, int device) {
  return std::make_shared<CudaEngineResources>(network, config, tactics, sparsity, device);
}
const std::vector<LayerPlacement>& layerPlacements(const CudaEngineResources& r) { return r.placements(); }
uint64_t weightDeviceBytes(const CudaEngineResources& r) { return r.weightBytes(); }

}  // namespace inferrt
