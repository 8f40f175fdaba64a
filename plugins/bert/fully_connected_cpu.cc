// CPU reference of FullyConnected v1: the oracle for its CUDA implementation. It is the MatMul CPU kernel with
// the GEMM fusion's epilogue (bias and activation attributes), so it rounds exactly as a fused MatMul layer does:
// each output accumulates in double and is rounded to float, then bias and the activation are applied in fp32
// and the result is rounded once to the output dtype.
#include <vector>

#include "fully_connected.h"
#include "backend/cpu/kernel_registry.h"
#include "ir/error.h"

namespace inferrt {

void runFullyConnectedCpu(const Layer& layer, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const std::string activation = fullyConnectedActivation(layer);
  const Tensor* x = in.size() > 0 ? in[0] : nullptr;
  const Tensor* w = in.size() > 1 ? in[1] : nullptr;
  const Tensor* bias = in.size() > 2 ? in[2] : nullptr;
  if (!x || !w) fail(ErrorCode::InvalidModel, "FullyConnected needs x and weight");
  // The MatMul kernel would also broadcast a batched weight; this plugin's weight is one [K, N] matrix.
  if (x->rank() < 1 || w->rank() != 2 || x->dims().back() != w->dims()[0] || !isFloat(x->dtype()) ||
      w->dtype() != x->dtype() || (bias && (bias->rank() != 1 || bias->dims()[0] != w->dims()[1])))
    fail(ErrorCode::ShapeMismatch, "FullyConnected x ", dimsToString(x->dims()), ", weight ", dimsToString(w->dims()),
         bias ? ", bias " + dimsToString(bias->dims()) : std::string(), " do not fit [..., K] x [K, N] (+ [N])");
  const CpuKernelDef* matmul = findCpuKernel("MatMul");
  if (!matmul) fail(ErrorCode::Internal, "FullyConnected: the CPU backend has no MatMul kernel");
  Layer gemm;
  gemm.kind = "MatMul";
  gemm.name = layer.name;
  gemm.precision = layer.precision;
  gemm.attrs.set("activation", activation);
  matmul->run(gemm, {x, w, bias}, out);
}

}  // namespace inferrt
