// An fp16-engine QuantizedMatMul with exact (erf) GELU whose only reader is a one-scale int8 QuantizeLinear (BERT's
// FFN-in: the FFN-out GEMM reads its output in int8) hands the GELU to that QuantizeLinear: the GEMM writes the
// pre-activation in fp16 and the QuantizeLinear applies GELU before quantizing. Runs before the output fusion, which
// would otherwise fold the QuantizeLinear into the GEMM. Why: cuDNN's fused erf GELU costs more than the GEMM's own
// int8 math (H100, 24576 tokens, 1024 -> 4096: 0.351 ms with erf GELU and an int8 output, 0.184 ms with an fp16 one
// and no activation: bench/probes/cudnn-int8-matmul.cc), while a GELU-and-quantize pass is bandwidth-bound. The
// pre-activation is rounded to fp16 on every backend, so the CPU reference computes what CUDA does. Only GEMMs of
// the shapes CUDA runs on cuDNN (cudnnGemmShape): the others keep GELU in the epilogue CUDA runs after cuBLASLt.
#include <set>
#include <vector>

#include "builder/int8_passes.h"

namespace inferrt {

size_t handGeluToQuantizeLinears(Network& network) {
  const std::vector<Layer>& layers = network.layers();
  const std::vector<TensorInfo>& tensors = network.tensors();
  std::vector<std::vector<int>> readers(tensors.size());
  for (size_t l = 0; l < layers.size(); ++l)
    for (int t : layers[l].inputs)
      if (t >= 0) readers[t].push_back(static_cast<int>(l));
  const std::set<int> outputs(network.outputs().begin(), network.outputs().end());
  std::vector<Layer> changed = layers;
  size_t count = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    const Layer& gemm = layers[l];
    if (gemm.kind != "QuantizedMatMul" || gemm.outputs.size() != 1 || gemm.attrs.has("output_scale") ||
        gemm.attrs.getInt("half_output", 0) != 1 || gemm.attrs.getString("activation", "none") != "gelu" ||
        !cudnnGemmShape(gemm, tensors))
      continue;
    const int y = gemm.outputs[0];
    if (outputs.count(y) || readers[y].size() != 1) continue;
    const Layer& q = layers[readers[y][0]];
    if (!oneScaleQuantize(q, y, tensors) || outputs.count(q.outputs[0])) continue;
    changed[l].attrs.erase("activation");
    changed[readers[y][0]].attrs.set("activation", std::string("gelu"));
    ++count;
  }
  if (count) network.assign(network.tensors(), std::move(changed), network.inputs(), network.outputs());
  return count;
}

}  // namespace inferrt
