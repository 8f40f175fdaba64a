#include "backend/cpu/executor.h"

#include <new>

#include "backend/cpu/kernel_registry.h"
#include "ir/error.h"
#include "ir/half.h"

namespace inferrt {

TensorPtr roundedToHalf(const Tensor& t) {
  Tensor out(DType::Float32, t.dims());
  const float* src = t.data<float>();
  float* dst = out.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) dst[i] = roundToHalf(src[i]);
  return std::make_shared<const Tensor>(std::move(out));
}

namespace {

int64_t totalElements(const std::vector<TensorDesc>& descs) {
  int64_t total = 0;
  for (const TensorDesc& d : descs) {
    if (!d.present) continue;
    if (!isStatic(d.dims)) return -1;
    total += volume(d.dims);
  }
  return total;
}

}  // namespace

std::vector<TensorPtr> runCpuLayer(const Layer& layer, const std::vector<TensorPtr>& inputs,
                                   const std::vector<TensorDesc>& outDescs) {
  const CpuKernelDef* kernel = findCpuKernel(layer.kind);
  if (!kernel)
    fail(ErrorCode::UnsupportedOp, "layer '", layer.name, "' (", layer.kind, "): the CPU backend has no kernel for ",
         layer.kind);
  std::vector<const Tensor*> in(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) in[i] = inputs[i].get();
  std::vector<Tensor> out(outDescs.size());
  try {
    if (!kernel->viewOutputs)
      for (size_t i = 0; i < outDescs.size(); ++i) out[i] = Tensor(outDescs[i].dtype, outDescs[i].dims);
    kernel->run(layer, in, out);
    for (size_t i = 0; i < out.size(); ++i) {
      // A kernel must produce exactly what the shape rule promised: consumers size their reads by it.
      if (!out[i].defined() || out[i].dtype() != outDescs[i].dtype || out[i].dims() != outDescs[i].dims)
        fail(ErrorCode::Internal, "kernel output ", i, " is ", out[i].defined() ? dtypeName(out[i].dtype()) : "unset",
             " ", dimsToString(out[i].dims()), ", the shape rule says ", dtypeName(outDescs[i].dtype), " ",
             dimsToString(outDescs[i].dims));
    }
  } catch (const Error& e) {
    fail(e.code(), "layer '", layer.name, "' (", layer.kind, "): ", e.what());
  } catch (const std::bad_alloc&) {
    fail(ErrorCode::OutOfMemory, "layer '", layer.name, "' (", layer.kind, "): out of host memory");
  } catch (const std::exception& e) {
    fail(ErrorCode::Internal, "layer '", layer.name, "' (", layer.kind, "): ", e.what());
  }
  std::vector<TensorPtr> result(out.size());
  for (size_t i = 0; i < out.size(); ++i) result[i] = std::make_shared<const Tensor>(std::move(out[i]));
  return result;
}

std::vector<TensorDesc> evaluateLayer(const Layer& layer, const std::vector<TensorDesc>& inputs, int64_t maxElements) {
  std::vector<TensorDesc> out = inferLayerShapes(layer, inputs);
  bool allKnown = true;
  for (const TensorDesc& d : out) allKnown = allKnown && d.value;
  if (allKnown) return out;
  for (const TensorDesc& d : inputs)
    if (d.present && !d.value) return out;
  const int64_t inCount = totalElements(inputs), outCount = totalElements(out);
  if (inCount < 0 || outCount < 0 || inCount > maxElements || outCount > maxElements) return out;
  if (!findCpuKernel(layer.kind)) return out;
  std::vector<TensorPtr> values(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) values[i] = inputs[i].present ? inputs[i].value : nullptr;
  std::vector<TensorPtr> results = runCpuLayer(layer, values, out);
  for (size_t i = 0; i < out.size(); ++i) out[i].value = results[i];
  return out;
}

std::vector<TensorDesc> inputDescs(const Layer& layer, const std::vector<TensorInfo>& tensors) {
  std::vector<TensorDesc> descs(layer.inputs.size());
  for (size_t i = 0; i < layer.inputs.size(); ++i) {
    const int t = layer.inputs[i];
    if (t < 0) {
      descs[i].present = false;
      continue;
    }
    descs[i].dtype = tensors.at(t).dtype;
    descs[i].dims = tensors.at(t).dims;
    descs[i].value = tensors.at(t).value;
  }
  return descs;
}

CpuExecutor::CpuExecutor(const Network& network) : network_(network), lastUse_(network.tensors().size(), -1) {
  const auto& layers = network.layers();
  for (size_t l = 0; l < layers.size(); ++l)
    for (int t : layers[l].inputs)
      if (t >= 0) lastUse_[t] = static_cast<int>(l);
  for (int t : network.outputs()) lastUse_[t] = static_cast<int>(layers.size());  // kept to the end
}

std::vector<TensorPtr> CpuExecutor::run(const std::vector<TensorPtr>& inputs) const {
  const auto& tensors = network_.tensors();
  const auto& layers = network_.layers();
  if (inputs.size() != network_.inputs().size())
    fail(ErrorCode::Internal, "executor got ", inputs.size(), " inputs for ", network_.inputs().size());
  std::vector<TensorPtr> live(tensors.size());
  std::vector<bool> halfRounded(tensors.size(), false);  // float32 values already fp16-representable
  std::vector<TensorPtr> halfCopy(tensors.size());       // fp16-rounded copies of fp32 values, for fp16 readers
  for (size_t t = 0; t < tensors.size(); ++t) live[t] = tensors[t].value;
  for (size_t i = 0; i < inputs.size(); ++i) live[network_.inputs()[i]] = inputs[i];

  for (size_t l = 0; l < layers.size(); ++l) {
    const Layer& layer = layers[l];
    const bool half = layer.precision == LayerPrecision::Float16;
    std::vector<TensorPtr> in(layer.inputs.size());
    std::vector<TensorDesc> descs(layer.inputs.size());
    for (size_t i = 0; i < layer.inputs.size(); ++i) {
      const int t = layer.inputs[i];
      if (t < 0) {
        descs[i].present = false;
        continue;
      }
      if (!live[t]) fail(ErrorCode::Internal, "layer '", layer.name, "' reads tensor '", tensors[t].name, "' before it is computed");
      in[i] = live[t];
      // An fp16 layer reads fp16: an fp32 producer's values are rounded once, as a reformat would.
      if (half && in[i]->dtype() == DType::Float32 && !halfRounded[t] && !tensors[t].isConstant) {
        if (!halfCopy[t]) halfCopy[t] = roundedToHalf(*in[i]);
        in[i] = halfCopy[t];
      }
      descs[i].dtype = in[i]->dtype();
      descs[i].dims = in[i]->dims();
      descs[i].value = in[i];
    }
    // The shape rule on concrete inputs gives the output dims (and checks them: a kernel never sees a bad shape).
    std::vector<TensorDesc> outDescs = inferLayerShapes(layer, descs);
    for (size_t o = 0; o < outDescs.size(); ++o) {
      const TensorInfo& info = tensors[layer.outputs[o]];
      if (!isStatic(outDescs[o].dims) || outDescs[o].dtype != info.dtype)
        fail(ErrorCode::Internal, "layer '", layer.name, "' output ", o, " resolved to ", dtypeName(outDescs[o].dtype), " ",
             dimsToString(outDescs[o].dims), " at run time, expected ", dtypeName(info.dtype));
    }
    std::vector<TensorPtr> out = runCpuLayer(layer, in, outDescs);
    for (size_t o = 0; o < out.size(); ++o) {
      const int t = layer.outputs[o];
      live[t] = half && out[o]->dtype() == DType::Float32 ? roundedToHalf(*out[o]) : out[o];
      halfRounded[t] = half;
    }
    // Free what no later layer reads (views keep shared storage alive as long as they need it).
    for (int t : layer.inputs)
      if (t >= 0 && lastUse_[t] == static_cast<int>(l) && !tensors[t].value) {
        live[t].reset();
        halfCopy[t].reset();
      }
    for (int t : layer.outputs)
      if (lastUse_[t] < 0) live[t].reset();
  }
  std::vector<TensorPtr> outputs;
  for (int t : network_.outputs()) {
    if (!live[t]) fail(ErrorCode::Internal, "output '", tensors[t].name, "' was not computed");
    outputs.push_back(live[t]);
  }
  return outputs;
}

}  // namespace inferrt
