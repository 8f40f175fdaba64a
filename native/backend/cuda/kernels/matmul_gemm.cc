#include "backend/cuda/kernels/matmul_gemm.h"

#include <algorithm>
#include <string>

#include "ir/error.h"
#include "ir/gemm_layers.h"

namespace inferrt::cudakernels {

namespace {

// The single stride of a strided-batched GEMM over outBatch, or -1 when the operand broadcasts only partly.
int64_t uniformStride(const MatMulOperand& v, const Dims& outBatch) {
  if (volume(v.batch) == 1) return 0;
  const size_t lead = outBatch.size() - v.batch.size();
  for (size_t i = 0; i < outBatch.size(); ++i)
    if ((i < lead ? 1 : v.batch[i - lead]) != outBatch[i]) return -1;
  return v.size;
}

uint32_t alignmentOfElements(int64_t elements, size_t elemBytes) {
  return cublaslt::alignmentOf(static_cast<uint64_t>(elements) * elemBytes);
}

}  // namespace

MatMulOperand viewMatMulOperand(const Dims& d, bool transpose, bool isA) {
  MatMulOperand v;
  if (d.size() == 1) {
    v.rows = isA ? 1 : d[0];
    v.cols = isA ? d[0] : 1;
    v.ld = v.cols;
    v.size = d[0];
    return v;
  }
  v.batch.assign(d.begin(), d.end() - 2);
  const int64_t r = d[d.size() - 2], c = d.back();
  v.ld = c;
  v.size = r * c;
  v.trans = transpose;
  v.rows = transpose ? c : r;
  v.cols = transpose ? r : c;
  return v;
}

std::vector<int64_t> matMulBatchStrides(const MatMulOperand& v, const Dims& outBatch) {
  std::vector<int64_t> strides(outBatch.size(), 0);
  const size_t lead = outBatch.size() - v.batch.size();
  int64_t step = v.size;
  for (size_t i = v.batch.size(); i-- > 0;) {
    if (v.batch[i] != 1) strides[lead + i] = step;
    step *= v.batch[i];
  }
  return strides;
}

MatMulGemm deriveMatMulGemm(const Layer& layer, const Dims& a, const Dims& b, bool hasBias, bool half, bool allowTf32,
                            const GemmBaseAlignment& align) {
  const MatMulOperand va = viewMatMulOperand(a, layer.attrs.getInt("transA", 0) != 0, true);
  const MatMulOperand vb = viewMatMulOperand(b, layer.attrs.getInt("transB", 0) != 0, false);
  const Dims outBatch = broadcastDims(va.batch, vb.batch);
  const GemmActivation act = gemmActivationOf(layer);

  MatMulGemm g;
  cublaslt::GemmShape& s = g.shape;
  s.half = half;
  s.allowTf32 = allowTf32;
  s.transA = va.trans;
  s.transB = vb.trans;
  s.m = va.rows;
  s.n = vb.cols;
  s.k = va.cols;
  s.lda = va.ld;
  s.ldb = vb.ld;
  s.ldd = s.n;
  // alpha scales the product inside the GEMM (before any epilogue), as act(alpha·AB + bias) asks. Exact GELU: the
  // GEMM adds the bias, our kernel then applies exact-erf GELU in place (see MatMulGemm::gelu); tanh GELU is
  // cuBLASLt's epilogue (ours where cuBLASLt has no fused algorithm: gemmShapesToTry).
  g.gelu = act == GemmActivation::Gelu;
  using cublaslt::GemmEpilogue;
  if (act == GemmActivation::Relu) s.epilogue = hasBias ? GemmEpilogue::ReluBias : GemmEpilogue::Relu;
  else if (act == GemmActivation::GeluTanh) s.epilogue = hasBias ? GemmEpilogue::GeluBias : GemmEpilogue::Gelu;
  else s.epilogue = hasBias ? GemmEpilogue::Bias : GemmEpilogue::None;

  const int64_t outVolume = volume(outBatch);
  if (volume(vb.batch) == 1 && !va.trans && !va.batch.empty()) {
    s.m *= volume(va.batch);  // [batch..., M, K] x [K, N]: one [batch * M, K] x [K, N] GEMM
  } else if (outVolume > 1) {
    const int64_t strideA = uniformStride(va, outBatch), strideB = uniformStride(vb, outBatch);
    if (strideA >= 0 && strideB >= 0) {
      s.batch = outVolume;
      s.strideA = strideA;
      s.strideB = strideB;
      s.strideD = s.m * s.n;
    } else {
      const std::vector<int64_t> sa = matMulBatchStrides(va, outBatch), sb = matMulBatchStrides(vb, outBatch);
      g.aOffsets.assign(static_cast<size_t>(outVolume), 0);
      g.bOffsets.assign(static_cast<size_t>(outVolume), 0);
      for (int64_t z = 0; z < outVolume; ++z) {
        int64_t rest = z;
        for (size_t d = outBatch.size(); d-- > 0;) {
          const int64_t i = rest % outBatch[d];
          rest /= outBatch[d];
          g.aOffsets[z] += i * sa[d];
          g.bOffsets[z] += i * sb[d];
        }
      }
    }
  }

  // Alignment of every pointer and stride cuBLASLt will see: base + offset is aligned to at least the smaller
  // of the two alignments (exactly that for the 256-aligned bases the runtime allocates).
  const size_t elem = half ? 2 : 4;
  s.alignA = std::min(align.a, alignmentOfElements(s.strideA, elem));
  s.alignB = std::min(align.b, alignmentOfElements(s.strideB, elem));
  s.alignD = std::min(align.out, alignmentOfElements(s.strideD, elem));
  for (size_t z = 0; z < g.aOffsets.size(); ++z) {
    s.alignA = std::min(s.alignA, alignmentOfElements(g.aOffsets[z], elem));
    s.alignB = std::min(s.alignB, alignmentOfElements(g.bOffsets[z], elem));
    s.alignD = std::min(s.alignD, alignmentOfElements(static_cast<int64_t>(z) * s.m * s.n, elem));
  }
  s.alignBias = hasBias ? align.bias : 256;
  return g;
}

std::vector<cublaslt::GemmShape> gemmShapesToTry(const MatMulGemm& g) {
  std::vector<cublaslt::GemmShape> shapes{g.shape};
  if (g.shape.epilogue != cublaslt::GemmEpilogue::None) {
    shapes.push_back(g.shape);
    shapes.back().epilogue = cublaslt::GemmEpilogue::None;
  }
  return shapes;
}

}  // namespace inferrt::cudakernels
