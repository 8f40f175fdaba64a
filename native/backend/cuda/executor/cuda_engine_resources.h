// Engine-wide CUDA state: where each layer runs and the constants GPU layers read, uploaded once and shared by
// every context of the engine (TensorRT's "weights live in the engine, activations in the context").
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/cuda/device_memory.h"
#include "backend/cuda/kernels/cuda_kernel.h"
#include "runtime/cuda_hooks.h"

namespace inferrt {

// Layer kinds that only relabel their input's bytes: the executor aliases their output to input 0.
bool isViewKind(const std::string& kind);

class CudaEngineResources {
 public:
  CudaEngineResources(const Network& network, const BuildConfig& config, const std::vector<LayerTactic>& tactics,
                      const std::vector<LayerSparsity>& sparsity, int device);

  int device() const { return device_; }
  int multiProcessors() const { return multiProcessors_; }
  bool allowTf32() const { return allowTf32_; }
  const std::vector<LayerPlacement>& placements() const { return placements_; }
  // The GPU kernel of layer `l`, null for views and CPU-placed layers.
  const CudaKernelDef* kernel(size_t l) const { return kernels_[l]; }
  // Device address of constant tensor `t` stored as `storage` (float32 weights of fp16 layers are kept as
  // fp16), or null when no GPU layer reads it that way.
  void* weight(int t, DType storage) const;
  uint64_t weightBytes() const {
    return (weights_ ? weights_->size() : 0) + (sparseWeights_ ? sparseWeights_->size() : 0);
  }
  // Per network input (in input order): whether its values feed what is read on the host (shapes, axes, a
  // Range's limit...). Such inputs ("shape tensors" in TensorRT) are part of a run's signature.
  const std::vector<bool>& hostValueInputs() const { return hostValueInputs_; }
  // The plan's tactic for layer `l` (null when none): its kernel uses it for the GEMM it was timed for.
  const LayerTactic* tactic(size_t l) const { return tacticOf_[l] < 0 ? nullptr : &tactics_[tacticOf_[l]]; }
  // Layer `l`'s compressed 2:4 weight when it runs sparse (null: dense).
  const SparseLayerWeights* sparse(size_t l) const { return sparseOf_[l] < 0 ? nullptr : &sparse_[sparseOf_[l]]; }
  bool hasSparseLayers() const { return !sparse_.empty(); }

 private:
  int device_;
  int multiProcessors_ = 0;
  bool allowTf32_;
  std::vector<LayerPlacement> placements_;
  std::vector<const CudaKernelDef*> kernels_;
  std::vector<int64_t> weightOffsets_;      // per tensor: offset of its own dtype in weights_, -1 when not uploaded
  std::vector<int64_t> halfWeightOffsets_;  // per float32 tensor: offset of its fp16 copy, -1 when none
  std::vector<DType> weightDTypes_;
  std::vector<bool> hostValueInputs_;
  std::unique_ptr<DeviceMemory> weights_;
  std::vector<LayerTactic> tactics_;
  std::vector<int> tacticOf_;  // per layer: index in tactics_, -1 when none
  std::vector<SparseLayerWeights> sparse_;
  std::vector<int> sparseOf_;  // per layer: index in sparse_, -1 when dense
  std::unique_ptr<DeviceMemory> sparseWeights_;

  void uploadSparseWeights(const Network& network, const std::vector<LayerSparsity>& sparsity);
};

// Whether a GPU layer reads input `i` from device memory (not a host input, and present).
bool readsOnDevice(const Layer& layer, const CudaKernelDef* kernel, size_t i);
// How a GPU layer wants a tensor of dtype `dtype` stored: fp16 layers read and write float32 tensors as fp16
// (math still accumulates in fp32 inside the kernels); everything else as its own dtype.
DType storageFor(const Layer& layer, DType dtype);
// How a layer stores its outputs: as storageFor, except INT8 layers with half_output = 1 write fp16.
DType outputStorageFor(const Layer& layer, DType dtype);

}  // namespace inferrt
