// The CPU reference backend's kernel table: one entry per layer kind. Kernels are fp32-exact and simple;
// they are the oracle the CUDA backend is tested against.
#pragma once
#include <string>
#include <vector>

#include "ir/network.h"

namespace inferrt {

// `outputs` arrive allocated with the dtype/dims the shape rule gave for these concrete inputs (unless the
// kernel registered viewOutputs, then they arrive empty and the kernel sets them, e.g. to a reshaped view of
// an input). `inputs[i]` is null for an absent optional input. Float16 tensors hold raw fp16 bits: convert
// with toFloat32/fromFloat32 (ir/tensor.h) and compute in fp32.
using CpuKernel = void (*)(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs);

struct CpuKernelDef {
  const char* kind;
  CpuKernel run;
  bool viewOutputs = false;
};

void registerCpuKernel(const CpuKernelDef& def);
const CpuKernelDef* findCpuKernel(const std::string& kind);  // null: the CPU backend does not support it

// Family registration (native/backend/cpu/*.cc); the names match the schema families in ir/op_registry.h.
void registerElementwiseKernels();
void registerPointwiseKernels();
void registerReductionKernels();
void registerNormalizationKernels();
void registerMatMulKernels();
void registerAttentionKernels();
void registerConvolutionKernels();
void registerShapeKernels();
void registerIndexingKernels();
void registerGeneratorKernels();
void registerQuantizationKernels();
void registerPluginKernels();
void registerQuantizedLayerKernels();

}  // namespace inferrt
