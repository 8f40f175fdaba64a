// CPU kernel of MatMul (numpy matmul with transA/transB). Each output row accumulates in double (float
// inputs) or wrapping uint64 (integer inputs) with an i-k-j loop over a contiguous copy of B, so the inner
// loop is a unit-stride axpy the compiler vectorizes. A fused alpha, bias and activation (builder scale and GEMM
// fusions) are applied in fp32 to the rounded product, as the unfused Mul, Add and Activation layers would.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "backend/cpu/broadcast.h"
#include "backend/cpu/kernel_registry.h"
#include "backend/cpu/math_common.h"
#include "backend/cpu/math_scalar_ops.h"

namespace inferrt {

namespace {

// One operand seen as a stack of matrices: element (r, c) of matrix b is at b * size + r * rowStride + c * colStride.
struct MatrixView {
  Dims batch;
  int64_t rows = 1, cols = 1;
  int64_t rowStride = 0, colStride = 1;
  int64_t size = 1;  // elements per stored matrix
};

MatrixView viewOperand(const Dims& d, bool transpose, bool isA) {
  MatrixView v;
  if (d.size() == 1) {  // A: [K] -> [1, K]; B: [K] -> [K, 1]; transposition is a no-op
    v.rows = isA ? 1 : d[0];
    v.cols = isA ? d[0] : 1;
    v.rowStride = v.cols;
    v.size = d[0];
    return v;
  }
  if (d.size() < 2) fail(ErrorCode::ShapeMismatch, "MatMul operand must have rank >= 1");
  v.batch.assign(d.begin(), d.end() - 2);
  v.rows = d[d.size() - 2];
  v.cols = d[d.size() - 1];
  v.rowStride = v.cols;
  v.size = v.rows * v.cols;
  if (transpose) {
    std::swap(v.rows, v.cols);
    std::swap(v.rowStride, v.colStride);
  }
  return v;
}

// C[M, N] = A[M, K] * B[K, N] for one matrix pair; `packedB` must hold B row-major contiguous.
template <typename T, typename Acc>
void multiply(const T* a, const MatrixView& va, const T* packedB, int64_t n, T* c, std::vector<Acc>& acc) {
  const int64_t m = va.rows, k = va.cols;
  for (int64_t i = 0; i < m; ++i) {
    std::fill(acc.begin(), acc.end(), Acc(0));
    Acc* row = acc.data();
    for (int64_t p = 0; p < k; ++p) {
      const Acc av = static_cast<Acc>(a[i * va.rowStride + p * va.colStride]);
      const T* b = packedB + p * n;
      for (int64_t j = 0; j < n; ++j) row[j] += av * static_cast<Acc>(b[j]);
    }
    for (int64_t j = 0; j < n; ++j) c[i * n + j] = static_cast<T>(row[j]);
  }
}

template <typename T, typename Acc>
void batchedMatMul(const T* a, const MatrixView& va, const T* b, const MatrixView& vb, const Dims& outBatch, T* c) {
  const int64_t m = va.rows, n = vb.cols;
  const bool contiguousB = vb.colStride == 1 && vb.rowStride == n;
  std::vector<T> packed(contiguousB ? 0 : static_cast<size_t>(vb.rows * n));
  std::vector<Acc> acc(static_cast<size_t>(n));
  int64_t packedIndex = -1;  // which B matrix `packed` holds: broadcast weights are packed once
  BroadcastWalker walk(outBatch, {va.batch, vb.batch});
  walk.forEach([&](int64_t i, const int64_t* off) {
    const T* bm = b + off[1] * vb.size;
    if (!contiguousB && packedIndex != off[1]) {
      for (int64_t r = 0; r < vb.rows; ++r)
        for (int64_t j = 0; j < n; ++j) packed[r * n + j] = bm[r * vb.rowStride + j * vb.colStride];
      packedIndex = off[1];
    }
    multiply<T, Acc>(a + off[0] * va.size, va, contiguousB ? bm : packed.data(), n, c + i * m * n, acc);
  });
}

// The fp32 epilogue the builder's fusions attach to a MatMul: alpha, a bias along the last dim, an activation.
struct Epilogue {
  float alpha = 1.0f;
  bool hasActivation = false;
  Activation activation{};
  bool any(const Tensor* bias) const { return bias || hasActivation || alpha != 1.0f; }
};

Epilogue readEpilogue(const Layer& layer) {
  Epilogue e;
  e.alpha = static_cast<float>(layer.attrs.getFloat("alpha", 1.0));
  e.hasActivation = fusedActivation(layer.attrs, &e.activation);
  return e;
}

// out[..., j] = act(alpha * out[..., j] + bias[j]) over the fp32 output before it is stored.
void applyEpilogue(const Epilogue& e, const Tensor* bias, float* out, int64_t numel, int64_t n) {
  Tensor b32;
  if (bias) {
    if (!isFloat(bias->dtype()) || bias->rank() != 1 || bias->numel() != n)
      fail(ErrorCode::ShapeMismatch, "MatMul bias must be float [", n, "], got ", dtypeName(bias->dtype()), " ",
           dimsToString(bias->dims()));
    b32 = toFloat32(*bias);
  }
  const float* pb = bias ? b32.data<float>() : nullptr;
  for (int64_t row = 0; row < (n > 0 ? numel / n : 0); ++row) {
    float* o = out + row * n;
    for (int64_t j = 0; j < n; ++j) {
      float v = e.alpha * o[j];  // exact when alpha is 1
      if (pb) v = v + pb[j];
      if (e.hasActivation) v = static_cast<float>(applyActivation(e.activation, v));
      o[j] = v;
    }
  }
}

void runMatMul(const Layer& layer, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  const Tensor& a = *inputs[0];
  const Tensor& b = *inputs[1];
  Tensor& out = outputs[0];
  if (a.dtype() != b.dtype())
    fail(ErrorCode::DTypeMismatch, "MatMul inputs differ in dtype: ", dtypeName(a.dtype()), " vs ",
         dtypeName(b.dtype()));
  const MatrixView va = viewOperand(a.dims(), layer.attrs.getInt("transA", 0) != 0, true);
  const MatrixView vb = viewOperand(b.dims(), layer.attrs.getInt("transB", 0) != 0, false);
  if (va.cols != vb.rows)
    fail(ErrorCode::ShapeMismatch, "MatMul inner dims differ: ", va.cols, " vs ", vb.rows, " (A ",
         dimsToString(a.dims()), ", B ", dimsToString(b.dims()), ")");
  const Dims outBatch = broadcastDims(va.batch, vb.batch);
  Dims expected = outBatch;
  if (a.rank() > 1) expected.push_back(va.rows);
  if (b.rank() > 1) expected.push_back(vb.cols);
  requireKernelOutput(out, a.dtype(), expected, "MatMul output");

  const Epilogue epilogue = readEpilogue(layer);
  const Tensor* bias = inputs.size() > 2 ? inputs[2] : nullptr;
  if (isFloat(a.dtype())) {
    const Tensor a32 = toFloat32(a), b32 = toFloat32(b);
    FloatOutput o(out);
    batchedMatMul<float, double>(a32.data<float>(), va, b32.data<float>(), vb, outBatch, o.data());
    if (epilogue.any(bias)) applyEpilogue(epilogue, bias, o.data(), out.numel(), vb.cols);
    o.commit();
  } else if (epilogue.any(bias)) {
    fail(ErrorCode::DTypeMismatch, "MatMul alpha, bias and activation need float inputs, got ", dtypeName(a.dtype()));
  } else if (a.dtype() == DType::Int32) {
    batchedMatMul<int32_t, uint64_t>(a.data<int32_t>(), va, b.data<int32_t>(), vb, outBatch, out.data<int32_t>());
  } else if (a.dtype() == DType::Int64) {
    batchedMatMul<int64_t, uint64_t>(a.data<int64_t>(), va, b.data<int64_t>(), vb, outBatch, out.data<int64_t>());
  } else {
    fail(ErrorCode::DTypeMismatch, "MatMul does not support ", dtypeName(a.dtype()));
  }
}

}  // namespace

void registerMatMulKernels() { registerCpuKernel({"MatMul", runMatMul}); }

}  // namespace inferrt
