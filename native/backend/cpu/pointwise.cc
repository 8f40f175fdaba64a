// CPU reference kernel of Pointwise (a fused chain of float ElementWise/Unary/Activation ops, ir/pointwise_program.h).
// Each step is the unfused layer's own fp32 operation (math_binary_ops.h, math_scalar_ops.h: binary arithmetic in
// fp32, transcendentals in double rounded to float), so a float32 chain gives the unfused layers' bits exactly;
// inputs are widened to fp32 and the output is rounded to its dtype once. Elements are evaluated a tile at a time,
// step by step, so each step is one tight loop and the program is dispatched once per tile, not per element.
#include <algorithm>
#include <vector>

#include "backend/cpu/broadcast.h"
#include "backend/cpu/kernel_registry.h"
#include "backend/cpu/math_common.h"
#include "ir/pointwise_program.h"

namespace inferrt {

namespace {

constexpr int64_t kTile = 256;

// Runs `program` over `count` elements: row s of `slots` (kTile floats each) holds slot s, the inputs' rows filled.
void evaluateTile(const PointwiseProgram& program, float* slots, int64_t count) {
  for (size_t k = 0; k < program.steps.size(); ++k) {
    const PointwiseStep& step = program.steps[k];
    const float* a = slots + step.a * kTile;
    float* r = slots + (program.numInputs + static_cast<int64_t>(k)) * kTile;
    switch (step.kind) {
      case PointwiseStepKind::Binary: {
        const float* b = slots + step.b * kTile;
        withFloatArithmetic(step.binary, [&](auto fn) {
          for (int64_t j = 0; j < count; ++j) r[j] = fn(a[j], b[j]);
        });
        break;
      }
      case PointwiseStepKind::Unary:
        for (int64_t j = 0; j < count; ++j) r[j] = static_cast<float>(applyUnaryFloat(step.unary, a[j]));
        break;
      case PointwiseStepKind::Activation:
        if (step.activation.op == ActivationOp::Relu) {  // as the Activation kernel: no double round trip
          for (int64_t j = 0; j < count; ++j) r[j] = a[j] < 0 ? 0.0f : a[j];
        } else {
          for (int64_t j = 0; j < count; ++j) r[j] = static_cast<float>(applyActivation(step.activation, a[j]));
        }
        break;
    }
  }
}

void runPointwise(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  const int n = static_cast<int>(inputs.size());
  const PointwiseProgram program = parsePointwiseProgram(layer.attrs.getString("program"), n);
  std::vector<Dims> inDims;
  std::vector<Tensor> in32;  // fp32 views (float32) or widened copies (float16)
  Dims dims;
  for (int k = 0; k < n; ++k) {
    if (!inputs[k]) fail(ErrorCode::Internal, "Pointwise input ", k, " is missing");
    const Tensor& t = *inputs[k];
    if (!isFloat(t.dtype()) || t.dtype() != inputs[0]->dtype())
      fail(ErrorCode::DTypeMismatch, "Pointwise input ", k, " is ", dtypeName(t.dtype()), ", expected ",
           isFloat(inputs[0]->dtype()) ? dtypeName(inputs[0]->dtype()) : "float32 or float16");
    dims = k == 0 ? t.dims() : broadcastDims(dims, t.dims());
    inDims.push_back(t.dims());
    in32.push_back(toFloat32(t));
  }
  Tensor& out = outputs[0];
  requireKernelOutput(out, inputs[0]->dtype(), dims, "Pointwise output");
  std::vector<const float*> px;
  for (const Tensor& t : in32) px.push_back(t.data<float>());
  FloatOutput o(out);
  float* po = o.data();
  std::vector<float> slots(static_cast<size_t>(program.numSlots() * kTile));
  const float* result = slots.data() + (program.numSlots() - 1) * kTile;
  auto flush = [&](int64_t start, int64_t count) {
    evaluateTile(program, slots.data(), count);
    std::copy(result, result + count, po + start);
  };
  const int64_t numel = out.numel();
  bool flat = true;  // every input is the output's shape or a single element
  for (const Tensor& t : in32) flat = flat && (t.dims() == dims || t.numel() == 1);
  if (flat) {
    for (int64_t start = 0; start < numel; start += kTile) {
      const int64_t count = std::min(kTile, numel - start);
      for (int k = 0; k < n; ++k) {
        float* row = slots.data() + k * kTile;
        if (in32[k].numel() == 1) std::fill(row, row + count, px[k][0]);
        else std::copy(px[k] + start, px[k] + start + count, row);
      }
      flush(start, count);
    }
  } else {
    int64_t filled = 0;
    BroadcastWalker walk(dims, inDims);
    walk.forEach([&](int64_t i, const int64_t* off) {
      for (int k = 0; k < n; ++k) slots[k * kTile + filled] = px[k][off[k]];
      if (++filled == kTile) {
        flush(i + 1 - filled, filled);
        filled = 0;
      }
    });
    if (filled) flush(numel - filled, filled);
  }
  o.commit();
}

}  // namespace

void registerPointwiseKernels() { registerCpuKernel({"Pointwise", runPointwise}); }

}  // namespace inferrt
