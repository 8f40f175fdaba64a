// Kernels of Cast, as the CPU reference (backend/cpu/generator.cc): the source reads as float (float types;
// fp16 decodes exactly) or int64 (integers; bool as 0/1) and converts once: float -> int truncates toward zero
// and saturates (NaN -> 0), int -> int wraps, int -> float rounds to nearest (int64 -> fp16 rounds twice, via
// float, as the CPU does), anything -> bool is x != 0 (NaN -> true).
#include <type_traits>

#include "backend/cuda/kernels/elementwise_device.cuh"

namespace inferrt::cudakernels {

namespace {

using namespace ew;

template <EwType E>
struct Storage;
template <>
struct Storage<EwType::F32> {
  using type = float;
};
template <>
struct Storage<EwType::F16> {
  using type = __half;
};
template <>
struct Storage<EwType::I8> {
  using type = int8_t;
};
template <>
struct Storage<EwType::U8> {
  using type = uint8_t;
};
template <>
struct Storage<EwType::I32> {
  using type = int32_t;
};
template <>
struct Storage<EwType::I64> {
  using type = int64_t;
};
template <>
struct Storage<EwType::Bool> {
  using type = uint8_t;
};
template <EwType E>
using StorageT = typename Storage<E>::type;

template <EwType From>
__device__ __forceinline__ auto readSource(const StorageT<From>* p, int64_t i) {
  if constexpr (From == EwType::F32 || From == EwType::F16) return load(p, i);  // float
  else if constexpr (From == EwType::Bool) return static_cast<int64_t>(p[i] != 0);
  else return static_cast<int64_t>(p[i]);
}

template <EwType To, typename V>
__device__ __forceinline__ void writeDest(StorageT<To>* p, int64_t i, V v) {
  using T = StorageT<To>;
  if constexpr (To == EwType::F32) p[i] = static_cast<float>(v);
  else if constexpr (To == EwType::F16) store(p, i, static_cast<float>(v));
  else if constexpr (To == EwType::Bool) p[i] = v != 0;
  else if constexpr (std::is_same_v<V, float>) p[i] = saturateToInt<T>(static_cast<double>(v));
  else p[i] = static_cast<T>(v);  // modular, as C and numpy do
}

template <EwType From, EwType To>
__global__ void castKernel(const StorageT<From>* x, StorageT<To>* y, int64_t n) {
  for (int64_t i = firstIndex(); i < n; i += gridStep()) writeDest<To>(y, i, readSource<From>(x, i));
}

// fn(std::integral_constant<EwType, t>{}) for a known type; false otherwise.
template <typename Fn>
bool dispatchConst(EwType t, Fn&& fn) {
  switch (t) {
    case EwType::F32: fn(std::integral_constant<EwType, EwType::F32>{}); return true;
    case EwType::F16: fn(std::integral_constant<EwType, EwType::F16>{}); return true;
    case EwType::I8: fn(std::integral_constant<EwType, EwType::I8>{}); return true;
    case EwType::U8: fn(std::integral_constant<EwType, EwType::U8>{}); return true;
    case EwType::I32: fn(std::integral_constant<EwType, EwType::I32>{}); return true;
    case EwType::I64: fn(std::integral_constant<EwType, EwType::I64>{}); return true;
    case EwType::Bool: fn(std::integral_constant<EwType, EwType::Bool>{}); return true;
  }
  return false;
}

}  // namespace

bool launchEwCast(EwType from, EwType to, const void* x, void* y, int64_t n, cudaStream_t stream,
                  int multiProcessors) {
  if (from == to) return false;
  const unsigned grid = gridFor(n, multiProcessors);
  bool knownTo = false;
  const bool knownFrom = dispatchConst(from, [&](auto f) {
    knownTo = dispatchConst(to, [&](auto t) {
      constexpr EwType kFrom = decltype(f)::value, kTo = decltype(t)::value;
      if constexpr (kFrom != kTo)
        castKernel<kFrom, kTo><<<grid, kBlock, 0, stream>>>(static_cast<const StorageT<kFrom>*>(x),
                                                            static_cast<StorageT<kTo>*>(y), n);
    });
  });
  return knownFrom && knownTo;
}

}  // namespace inferrt::cudakernels
