// The Pointwise kernel: a small interpreter of the fused program (pointwise_launch.h), one output element per
// evaluation. Each step is its unfused kernel's own scalar math (elementwise_math.cuh: binary ops in fp32 with _rn
// intrinsics, so no FMA contraction; Unary/Activation in double rounded to float), so a float32 chain gives what
// its layers give; fp16 inputs are widened and only the output is rounded to fp16. The program is read from the
// kernel's parameter space (uniform across the grid); the slots live in the thread's local memory.
#include <type_traits>

#include "backend/cuda/kernels/elementwise_device.cuh"
#include "backend/cuda/kernels/elementwise_math.cuh"
#include "backend/cuda/kernels/pointwise_launch.h"

namespace inferrt::cudakernels {

namespace {

using namespace ew;

constexpr int kSlots = kPwMaxInputs + kPwMaxSteps;
constexpr int kVec = 4;  // elements per vector access on the flat path

// One copy per program of the heavy double-precision ops, however many places evaluate a program.
__device__ __noinline__ float unaryStep(EwUnary op, float x) { return static_cast<float>(unaryDouble(op, x)); }
__device__ __noinline__ float activationStep(EwActivation op, double alpha, double beta, float x) {
  if (op == EwActivation::Relu) return x < 0 ? 0.0f : x;  // as the Activation kernel: no double round trip
  return static_cast<float>(activationDouble(op, alpha, beta, x));
}

// Runs the program on the inputs in slot[0, numInputs); returns the last step's result. Inlined, so `p` stays a
// kernel parameter (a reference passed to a real call would copy the struct to local memory).
__device__ __forceinline__ float runProgram(const PwProgram& p, float (&slot)[kSlots]) {
  for (int s = 0; s < p.numSteps; ++s) {
    const PwStep& step = p.steps[s];
    const float x = slot[step.a];
    float r;
    if (step.kind == PwStepKind::Binary) {
      const EwBinary op = static_cast<EwBinary>(step.op);
      const float y = slot[step.b];
      r = op == EwBinary::Pow ? static_cast<float>(powLikeCpu(x, y)) : floatBinary(op, x, y);
    } else if (step.kind == PwStepKind::Unary) {
      r = unaryStep(static_cast<EwUnary>(step.op), x);
    } else {
      r = activationStep(static_cast<EwActivation>(step.op), step.alpha, step.beta, x);
    }
    slot[p.numInputs + s] = r;
  }
  return slot[p.numInputs + p.numSteps - 1];
}

template <typename T>
__device__ __forceinline__ const T* input(const PwIo& io, int k) {
  return static_cast<const T*>(io.inputs[k]);
}

// Four consecutive elements from 4-element-aligned p + i (16 bytes of float, 8 of half).
__device__ __forceinline__ void load4(const float* p, int64_t i, float (&v)[kVec]) {
  const float4 q = *reinterpret_cast<const float4*>(p + i);
  v[0] = q.x;
  v[1] = q.y;
  v[2] = q.z;
  v[3] = q.w;
}
__device__ __forceinline__ void load4(const __half* p, int64_t i, float (&v)[kVec]) {
  const uint2 q = *reinterpret_cast<const uint2*>(p + i);  // little-endian: element i in the low half of q.x
  v[0] = halfToFloat(__ushort_as_half(static_cast<unsigned short>(q.x & 0xffffu)));
  v[1] = halfToFloat(__ushort_as_half(static_cast<unsigned short>(q.x >> 16)));
  v[2] = halfToFloat(__ushort_as_half(static_cast<unsigned short>(q.y & 0xffffu)));
  v[3] = halfToFloat(__ushort_as_half(static_cast<unsigned short>(q.y >> 16)));
}
__device__ __forceinline__ void store4(float* p, int64_t i, const float (&v)[kVec]) {
  *reinterpret_cast<float4*>(p + i) = make_float4(v[0], v[1], v[2], v[3]);
}
__device__ __forceinline__ void store4(__half* p, int64_t i, const float (&v)[kVec]) {
  auto bits = [](float f) { return static_cast<unsigned>(__half_as_ushort(floatToHalf(f))); };
  *reinterpret_cast<uint2*>(p + i) = make_uint2(bits(v[0]) | (bits(v[1]) << 16), bits(v[2]) | (bits(v[3]) << 16));
}

// Inputs indexed through their broadcast strides.
template <typename T>
__global__ void pointwiseBroadcastKernel(PwProgram p, PwIo io, PwGeometry g) {
  float slot[kSlots];
  for (int64_t i = firstIndex(); i < g.numel; i += gridStep()) {
    int64_t off[kPwMaxInputs];
    broadcastOffsets<kPwMaxInputs>(g, i, off);
#pragma unroll
    for (int k = 0; k < kPwMaxInputs; ++k)
      if (k < p.numInputs) slot[k] = load(input<T>(io, k), off[k]);
    store(static_cast<T*>(io.output), i, runProgram(p, slot));
  }
}

// Every input is the output's shape (flat) or one element (bit k of scalarMask): scalars are read once, the
// others at i; with Vectorized, four elements per access, and the last numel % 4 one by one.
template <typename T, bool Vectorized>
__global__ void pointwiseFlatKernel(PwProgram p, PwIo io, int64_t numel, uint32_t scalarMask) {
  float slot[kSlots];
#pragma unroll
  for (int k = 0; k < kPwMaxInputs; ++k)
    if (k < p.numInputs && (scalarMask >> k & 1u)) slot[k] = load(input<T>(io, k), 0);
  int64_t tail = 0;
  if constexpr (Vectorized) {
    const int64_t vectors = numel / kVec;
    for (int64_t v = firstIndex(); v < vectors; v += gridStep()) {
      float in[kPwMaxInputs][kVec];
#pragma unroll
      for (int k = 0; k < kPwMaxInputs; ++k)
        if (k < p.numInputs && !(scalarMask >> k & 1u)) load4(input<T>(io, k), v * kVec, in[k]);
      float out[kVec];
#pragma unroll 1
      for (int j = 0; j < kVec; ++j) {
#pragma unroll
        for (int k = 0; k < kPwMaxInputs; ++k)
          if (k < p.numInputs && !(scalarMask >> k & 1u)) slot[k] = in[k][j];
        out[j] = runProgram(p, slot);
      }
      store4(static_cast<T*>(io.output), v * kVec, out);
    }
    tail = vectors * kVec;
  }
  for (int64_t i = tail + firstIndex(); i < numel; i += gridStep()) {
#pragma unroll
    for (int k = 0; k < kPwMaxInputs; ++k)
      if (k < p.numInputs && !(scalarMask >> k & 1u)) slot[k] = load(input<T>(io, k), i);
    store(static_cast<T*>(io.output), i, runProgram(p, slot));
  }
}

bool alignedTo(const void* ptr, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(ptr) % bytes == 0; }

template <typename T>
void launchFor(const PwProgram& p, const PwIo& io, const PwGeometry& g, cudaStream_t stream, int multiProcessors) {
  bool flat = g.rank == 1;
  uint32_t scalarMask = 0;
  bool aligned = alignedTo(io.output, kVec * sizeof(T));
  for (int k = 0; k < p.numInputs && flat; ++k) {
    if (g.strides[k][0] == 0) scalarMask |= 1u << k;
    else if (g.strides[k][0] == 1) aligned = aligned && alignedTo(io.inputs[k], kVec * sizeof(T));
    else flat = false;
  }
  if (!flat) {
    pointwiseBroadcastKernel<T><<<gridFor(g.numel, multiProcessors), kBlock, 0, stream>>>(p, io, g);
  } else if (aligned && g.numel >= kVec) {
    const unsigned grid = gridFor((g.numel + kVec - 1) / kVec, multiProcessors);
    pointwiseFlatKernel<T, true><<<grid, kBlock, 0, stream>>>(p, io, g.numel, scalarMask);
  } else {
    pointwiseFlatKernel<T, false><<<gridFor(g.numel, multiProcessors), kBlock, 0, stream>>>(p, io, g.numel, scalarMask);
  }
}

}  // namespace

bool launchPointwise(EwType type, const PwProgram& program, const PwIo& io, const PwGeometry& g, cudaStream_t stream,
                     int multiProcessors) {
  if (type == EwType::F32) launchFor<float>(program, io, g, stream, multiProcessors);
  else if (type == EwType::F16) launchFor<__half>(program, io, g, stream, multiProcessors);
  else return false;
  return true;
}

}  // namespace inferrt::cudakernels
