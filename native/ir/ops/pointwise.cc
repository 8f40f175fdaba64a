// Shape rule of Pointwise, the builder's fused chain of float elementwise ops (ir/pointwise_program.h): inputs of
// one float dtype, the program parsed and validated, the output the numpy broadcast of every input.
#include <vector>

#include "ir/ops/shape_helpers.h"
#include "ir/pointwise_program.h"

namespace inferrt {

namespace {

std::vector<TensorDesc> inferPointwise(const Layer& layer, const std::vector<TensorDesc>& in) {
  Dims out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!in[i].present) fail(ErrorCode::InvalidModel, "input ", i, " is missing (every Pointwise input is required)");
    requireDType(in[i], i, {DType::Float32, DType::Float16});
    requireSameDType(in, 0, i);
    out = i == 0 ? in[0].dims : broadcastDims(out, in[i].dims);
  }
  parsePointwiseProgram(layer.attrs.getString("program"), static_cast<int>(in.size()));
  return {makeDesc(in[0].dtype, out)};
}

}  // namespace

void registerPointwiseSchemas() {
  registerOpSchema({"Pointwise", 1, kPointwiseMaxInputs, 1, 1, inferPointwise});
}

}  // namespace inferrt
