// Tensor-core path of the fused Attention layer (FlashAttention-2 style): fp16 q / k / v / out, D = Dv in
// {32, 64, 128}, sm_80+ (mma.sync m16n8k16, ldmatrix, cp.async), every row start 16-byte aligned.
//
// Work split. A CTA (kWarps = 4 warps) takes kBlockM = 64 query rows of one (b, h); warp w owns rows 16w..16w+15
// of that tile. It walks the keys in tiles of kBlockN = 64: K and V tiles are staged in shared memory by cp.async,
// double-buffered (tile t + 1 loads while tile t is used). Per key tile each warp computes its 16 x 64 block of
// S = Q K^T on the tensor cores (fp32 accumulators), turns it into logits alpha * S + mask (fp32), updates the
// online softmax in registers, rounds P to fp16 in registers and accumulates O += P V (fp32 registers). No S x S
// matrix ever reaches global memory. At the end O is divided by the row sum, staged through the warp's own rows
// of the Q buffer and written with 16-byte stores.
//
// Fragment layouts of mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 (PTX ISA, "Matrix Fragments for
// mma.m16n8k16 with floating point type"); g = lane / 4 (groupID), t = lane % 4 (threadID_in_group); each .f16x2
// register holds two elements, the lower column (or k) index in the low half:
//   A (16 x 16, row): a[0] = A[g][2t, 2t+1]     a[1] = A[g+8][2t, 2t+1]
//                     a[2] = A[g][2t+8, 2t+9]   a[3] = A[g+8][2t+8, 2t+9]
//   B (16 x 8, col):  b[0] = B[2t, 2t+1][g]   b[1] = B[2t+8, 2t+9][g]
//   C/D (16 x 8 f32): c[0] = C[g][2t]  c[1] = C[g][2t+1]  c[2] = C[g+8][2t]  c[3] = C[g+8][2t+1]
// ldmatrix.m8n8.x4 (.b16): lanes 8m..8m+7 give the row addresses of matrix m; lane l receives, for each matrix m,
// M[l / 4][2 (l % 4), +1] in register m (with .trans: M[2 (l % 4), +1][l / 4]), i.e. exactly the "g, 2t" pattern.
// So:
//   Q (A of S = Q K^T): row = 16w + (l & 15), col = 16 ks + 8 (l >> 4) gives a[0..3] for k-step ks.
//   K (B of S, B[d][key] = K[key][d], K rows in smem): row = key 16 np + 8 (l >> 4) + (l & 7), col = 16 ks +
//     8 ((l >> 3) & 1) gives b[0], b[1] of key n-tile 2 np and b[0], b[1] of n-tile 2 np + 1.
//   V (B of O += P V, B[key][c] = V[key][c]; .trans): row = key 16 kk + (l & 15), col = 16 np + 8 (l >> 4)
//     gives b[0], b[1] of column n-tile 2 np and of n-tile 2 np + 1.
//   P (A of P V): the C fragments of S n-tiles 2 kk and 2 kk + 1 hold P[g][16 kk + 2t, +1], P[g+8][...],
//     P[g][16 kk + 8 + 2t, +1], P[g+8][...]: packed to fp16 pairs in that order they are a[0..3] of k-step kk.
// Each thread thus holds rows g and g + 8 of its warp's 16 rows: row max and sum are reduced over the quad (the 4
// lanes with the same g) with __shfl_xor_sync 1 and 2.
//
// Shared memory: rows of D halves padded to D + 8 (a 16-byte skew per row), so the 8 row addresses of an ldmatrix
// phase and the 16-byte cp.async stores of a row hit distinct banks. Q: 64 rows; K, V: 2 x 64 rows each; D = 64:
// 45 KiB, D = 128: 85 KiB (opt-in above 48 KiB). Mask tiles: 2 x 64 rows (or 2 x 1) of 64 + 8 values, so the
// pairs a warp reads (rows g, keys 2 tq + 8 n) fall in distinct banks: 18 KiB in fp16, 36 KiB in fp32.
// Registers: S 32 floats, O D / 2 floats per thread; Q fragments stay in registers for D <= 64 and are re-read from
// shared memory per key tile for D = 128.
//
// Mask: the kernel is instantiated per mask dtype (none, fp32, fp16) and per mask form: one mask row shared by
// every query row (a key-padding mask [B, 1, 1, Sk]) or a row per query (e.g. the [B, 1, Sq, Sk] mask of an eager
// BERT export). The mask values of a key tile are staged in shared memory together with its K and V (cp.async, 16
// bytes per copy, when the mask's rows allow it; plain loads otherwise), so each thread reads its values as pairs
// from shared memory instead of issuing a global load per value (that made a full mask cost 40% of the kernel).
//
// Softmax arithmetic, per score: the logit, the row max, p = 2^((x - m) c) by ex2.approx, the row sum. Without a mask
// the logits are in base 2 (x = alpha log2 e s, c = 1: one multiply); with one they stay in natural units (x =
// alpha s + mask, one fma; c = log2 e), so a mask value such as -FLT_MAX (PyTorch's finfo.min) is never multiplied
// by log2 e into -inf (that would turn a row masked with it everywhere into NaN, where Softmax gives equal weights),
// and x - m never overflows. Keys past Sk are set to -inf on the last, partial key tile only.
//
// Packed sequences (cuSeqlens): the grid covers maxSeqLen query rows per (b, h); a CTA whose tile starts past its
// sequence's length exits at once (before any barrier, so the whole CTA), and Sq = Sk = that length below.
//
// Padding: key rows past Sk are zero-filled in shared memory (never loaded) and their logits are set to -inf, so
// they add nothing (P = 0 times a zero V row). Query rows past Sq are zero-filled, read the last row's mask values
// (in bounds) and are never stored. Online softmax guard: while a row's running max is -inf, exp uses 0 as the max
// (P = 0; the rescale of the previous max, -inf, is 0); a row whose logits are all -inf ends with max -inf and is
// stored as NaN (as Softmax gives).
//
// Measured (H100, bench/probes/attention-variants.ts, B 64, H 16, S 384, D 64, alpha 1/8), before -> after the mask
// staging, the fma logits, the partial-tile instantiation and the fixed-offset tile loads: no mask 0.25 -> 0.21 ms,
// mask [B, 1, 1, S] fp16 0.27 -> 0.18 ms, mask [B, 1, S, S] fp16 0.35 -> 0.22 ms; with the natural-unit exponent of
// masked scores (one more multiply each) 0.19 and 0.23 ms. Two m-tiles per warp (K / V fragments reused for 32 query
// rows) took 255 registers (8 warps per SM) and was no faster.
#include <cuda_fp16.h>
#include <math_constants.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels/attention_common.cuh"
#include "backend/cuda/kernels/int8_quantize.cuh"

namespace inferrt::cudakernels {

namespace {

using attention_detail::HeadRange;
using attention_detail::gridSeqK;
using attention_detail::gridSeqQ;
using attention_detail::headRange;

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kBlockM = kWarps * 16;  // query rows per CTA
constexpr int kBlockN = 64;           // keys per tile
constexpr float kLog2e = 1.4426950408889634f;

template <int D>
struct FlashShape {
  static constexpr int kLd = D + 8;  // halves per shared-memory row (16-byte skew)
  static constexpr int kTileHalves = kBlockN * kLd;
  static constexpr size_t kSmemBytes = static_cast<size_t>(kBlockM + 4 * kBlockN) * kLd * sizeof(__half);
};

// The staged mask of one key tile: kRows rows (kBlockM: a row per query; 1: one row for all) of kLd values.
template <typename MaskT, bool kRowPerQuery>
struct MaskTile {
  static constexpr int kRows = kRowPerQuery ? kBlockM : 1;
  static constexpr int kLd = kBlockN + 8;  // see the top of the file: conflict-free pair reads
  static constexpr int kTileValues = kRows * kLd;
  static constexpr size_t kBytes = 2 * kTileValues * sizeof(MaskT);  // double-buffered like K and V
};
template <bool kRowPerQuery>
struct MaskTile<void, kRowPerQuery> {
  static constexpr size_t kBytes = 0;
};

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800

__device__ inline uint32_t smemAddr(const void* p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }

__device__ inline void cpAsync16(void* dst, const void* src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smemAddr(dst)), "l"(src));
}
__device__ inline void cpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ inline void cpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ inline void ldmatrixX4(uint32_t (&r)[4], const __half* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smemAddr(p)));
}
__device__ inline void ldmatrixX4Trans(uint32_t (&r)[4], const __half* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smemAddr(p)));
}

// c += a * b (16 x 8 x 16, fp16 in, fp32 accumulate).
__device__ inline void mma16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// 2^x by the SFU (ex2.approx.ftz: relative error about 2^-22, far below the fp16 rounding of P; 2^-inf = 0).
__device__ inline float exp2Approx(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

__device__ inline uint32_t packHalf2(float lo, float hi) {
  const __half2 h = __floats2half2_rn(lo, hi);  // .x (lo) in the low 16 bits
  uint32_t u;
  memcpy(&u, &h, sizeof u);
  return u;
}

__device__ inline float2 maskPair(const float* p) { return *reinterpret_cast<const float2*>(p); }
__device__ inline float2 maskPair(const __half* p) { return __half22float2(*reinterpret_cast<const __half2*>(p)); }

// Stages the mask values of key tile [kv0, kv0 + keysLeft) into dst (MaskTile rows). Row r is query row q0 + r
// (clamped to the last one: padded rows read in bounds and are never stored), at element rowBase + row * rowStride
// of `mask`, its keys keyStep apart (1, or 0 for a mask broadcast over keys). `vector`: keyStep is 1 and every row
// start is 16-byte aligned, so whole chunks go by cp.async; the rest (a partial tile's end, other masks) by plain
// loads. Keys past keysLeft are stored as 0 (their logits are set to -inf anyway).
template <typename MaskT, bool kRowPerQuery>
__device__ inline void stageMaskTile(MaskT* dst, const MaskT* mask, int64_t rowBase, int64_t rowStride, int64_t q0,
                                     int64_t seqQ, int64_t kv0, int keysLeft, int keyStep, bool vector) {
  using Tile = MaskTile<MaskT, kRowPerQuery>;
  constexpr int kPerChunk = 16 / static_cast<int>(sizeof(MaskT));
  constexpr int kChunks = kBlockN / kPerChunk;  // per row
  if (vector && keysLeft == kBlockN && q0 + Tile::kRows <= seqQ) {  // every chunk whole: fixed offsets, as loadTile
    constexpr int kRowsPerPass = kThreads / kChunks;
    const int r0 = threadIdx.x / kChunks, col = (threadIdx.x % kChunks) * kPerChunk;
    MaskT* d = dst + r0 * Tile::kLd + col;
    const MaskT* from = mask + rowBase + (q0 + r0) * rowStride + kv0 + col;
#pragma unroll
    for (int r = 0; r < Tile::kRows; r += kRowsPerPass)
      if (Tile::kRows >= kRowsPerPass || r0 < Tile::kRows) cpAsync16(d + r * Tile::kLd, from + r * rowStride);
    return;
  }
  for (int c = threadIdx.x; c < Tile::kRows * kChunks; c += kThreads) {
    const int r = c / kChunks, col = (c % kChunks) * kPerChunk;
    const int64_t row = q0 + r < seqQ ? q0 + r : seqQ - 1;
    const MaskT* src = mask + rowBase + row * rowStride + (kv0 + col) * keyStep;
    MaskT* d = dst + r * Tile::kLd + col;
    if (vector && col + kPerChunk <= keysLeft) {
      cpAsync16(d, src);
    } else {
#pragma unroll
      for (int e = 0; e < kPerChunk; ++e) d[e] = col + e < keysLeft ? src[e * keyStep] : static_cast<MaskT>(0.0f);
    }
  }
}

// Stages 64 rows of D halves (global row r at src + (row0 + r) * stride) into smem rows of kLd halves; rows at or
// past `valid` are zero-filled instead of loaded. Thread t copies the 16-byte chunk t % (D / 8) of rows t / (D / 8)
// + k * kRowsPerPass: its addresses are fixed offsets from one pointer, and a full tile (the usual case) checks no
// row (an earlier loop that divided out each chunk's row and column made a third of the kernel's instructions).
template <int D>
__device__ inline void loadTile(__half* dst, const __half* src, int64_t stride, int64_t row0, int64_t valid) {
  constexpr int kRows = 64, kChunks = D / 8, kRowsPerPass = kThreads / kChunks, kLd = FlashShape<D>::kLd;
  static_assert(kRows == kBlockM && kRows == kBlockN, "Q and K / V tiles have the same row count");
  const int r0 = threadIdx.x / kChunks, col = (threadIdx.x % kChunks) * 8;
  __half* d = dst + r0 * kLd + col;
  const __half* from = src + (row0 + r0) * stride + col;
  if (row0 + kRows <= valid) {
#pragma unroll
    for (int r = 0; r < kRows; r += kRowsPerPass) cpAsync16(d + r * kLd, from + r * stride);
  } else {
#pragma unroll
    for (int r = 0; r < kRows; r += kRowsPerPass) {
      if (row0 + r0 + r < valid) cpAsync16(d + r * kLd, from + r * stride);
      else *reinterpret_cast<uint4*>(d + r * kLd) = make_uint4(0, 0, 0, 0);
    }
  }
}

#endif  // __CUDA_ARCH__ >= 800

// One CTA per (b, h, query tile); blockIdx.x = bh * qTiles + tile, so the tiles of one head run side by side
// and share its K / V in L2. MaskT: float or __half (the mask's dtype), void without a mask; kRowPerQuery: the
// mask has a row per query (else one row for all, maskStride[2] = 0). maskVector: see stageMaskTile.
// D <= 64: registers capped for as many CTAs per SM as shared memory allows for D = 64 on an H100 (4 without a
// staged row per query: 4 was measured faster than 3 without the cap, despite a few spilled bytes); D = 128 keeps
// the compiler's choice (the cap made it 30% slower).
template <int D, typename MaskT>
constexpr int minCtasPerSm(bool rowPerQuery) {
  if (D > 64) return 1;
  if constexpr (std::is_void_v<MaskT>) return 4;
  else return !rowPerQuery ? 4 : sizeof(MaskT) == 2 ? 3 : 2;
}

template <int D, typename MaskT, bool kRowPerQuery>
__global__ void __launch_bounds__(kThreads, minCtasPerSm<D, MaskT>(kRowPerQuery))
    flashAttentionKernel(const AttentionLaunch p, int64_t qTiles, bool maskVector) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using Shape = FlashShape<D>;
  constexpr int kLd = Shape::kLd;
  constexpr int kSteps = D / 16;      // k-steps of S = Q K^T; also column n-tile pairs of O
  constexpr int kNt = kBlockN / 8;    // key n-tiles of S per tile
  constexpr int kOt = D / 8;          // column n-tiles of O
  constexpr bool kQInRegs = D <= 64;  // keep Q fragments in registers (D = 128: re-read them per key tile)
  constexpr bool kMask = !std::is_void_v<MaskT>;
  using MaskValue = std::conditional_t<kMask, MaskT, __half>;  // a placeholder type without a mask
  using Mask = MaskTile<MaskValue, kRowPerQuery>;
  extern __shared__ __align__(16) unsigned char smemRaw[];
  __half* sQ = reinterpret_cast<__half*>(smemRaw);
  __half* sK = sQ + kBlockM * kLd;              // 2 buffers of kBlockN rows
  __half* sV = sK + 2 * Shape::kTileHalves;     // 2 buffers of kBlockN rows
  MaskValue* sMask = reinterpret_cast<MaskValue*>(sV + 2 * Shape::kTileHalves);  // 2 Mask tiles (with a mask)

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane >> 2, tq = lane & 3;
  const int64_t bh = blockIdx.x / qTiles;
  const int64_t b = bh / p.heads, h = bh % p.heads;
  const HeadRange r = headRange(p, b, h);
  const int64_t q0 = (blockIdx.x % qTiles) * kBlockM;
  if (q0 >= r.seqQ || r.seqK <= 0) return;  // uniform per CTA (a shorter sequence, with cu_seqlens)
  const __half* Q = static_cast<const __half*>(p.q) + r.q;
  const __half* K = static_cast<const __half*>(p.k) + r.k;
  const __half* V = static_cast<const __half*>(p.v) + r.v;
  const MaskValue* maskIn = static_cast<const MaskValue*>(p.mask);
  const int maskKeyStep = static_cast<int>(p.maskStride[3]);  // 1, or 0 for a mask broadcast over keys
  const int64_t nTiles = (r.seqK + kBlockN - 1) / kBlockN;
  auto keysOf = [&](int64_t t) {
    return r.seqK - t * kBlockN < kBlockN ? static_cast<int>(r.seqK - t * kBlockN) : kBlockN;
  };
  auto stageTile = [&](int64_t t, int buf) {
    loadTile<D>(sK + buf * Shape::kTileHalves, K, p.kStride.s, t * kBlockN, r.seqK);
    loadTile<D>(sV + buf * Shape::kTileHalves, V, p.vStride.s, t * kBlockN, r.seqK);
    if constexpr (kMask)
      stageMaskTile<MaskValue, kRowPerQuery>(sMask + buf * Mask::kTileValues, maskIn, r.mask, p.maskStride[2], q0,
                                              r.seqQ, t * kBlockN, keysOf(t), maskKeyStep, maskVector);
    cpAsyncCommit();
  };

  loadTile<D>(sQ, Q, p.qStride.s, q0, r.seqQ);
  stageTile(0, 0);

  constexpr float kExpScale = kMask ? kLog2e : 1.0f;       // c above: p = 2^((x - m) c)
  const float logitScale = kMask ? p.alpha : p.alpha * kLog2e;
  float o[kOt][4];
#pragma unroll
  for (int n = 0; n < kOt; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
  float m[2] = {-CUDART_INF_F, -CUDART_INF_F}, l[2] = {0.0f, 0.0f};  // running row max logit; partial row sums
  uint32_t qf[kQInRegs ? kSteps : 1][4];
  const __half* qBase = sQ + (warp * 16 + (lane & 15)) * kLd + 8 * (lane >> 4);

  for (int64_t t = 0; t < nTiles; ++t) {
    const int buf = static_cast<int>(t & 1);
    if (t + 1 < nTiles) {
      stageTile(t + 1, buf ^ 1);
      cpAsyncWait<1>();  // all but the tile just issued have landed
    } else {
      cpAsyncWait<0>();
    }
    __syncthreads();
    const __half* sKt = sK + buf * Shape::kTileHalves;
    const __half* sVt = sV + buf * Shape::kTileHalves;
    if (kQInRegs && t == 0) {
#pragma unroll
      for (int ks = 0; ks < kSteps; ++ks) ldmatrixX4(qf[kQInRegs ? ks : 0], qBase + ks * 16);
    }

    // This tile's S, softmax and P V. A partial tile (the last one of a sequence that is not a multiple of 64 keys)
    // is a separate instantiation, so full tiles carry no key-bound selects (the compiler predicates them otherwise).
    auto processTile = [&](auto partialTile) {
      // S = Q K^T for this warp's 16 rows x 64 keys.
      float s[kNt][4];
#pragma unroll
      for (int n = 0; n < kNt; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
#pragma unroll
      for (int ks = 0; ks < kSteps; ++ks) {
        uint32_t a[4];
        if constexpr (kQInRegs) {
#pragma unroll
          for (int e = 0; e < 4; ++e) a[e] = qf[ks][e];
        } else {
          ldmatrixX4(a, qBase + ks * 16);
        }
#pragma unroll
        for (int np = 0; np < kNt / 2; ++np) {
          uint32_t bk[4];
          ldmatrixX4(bk, sKt + (np * 16 + 8 * (lane >> 4) + (lane & 7)) * kLd + ks * 16 + 8 * ((lane >> 3) & 1));
          mma16816(s[2 * np], a, bk[0], bk[1]);
          mma16816(s[2 * np + 1], a, bk[2], bk[3]);
        }
      }

      // Logits (C elements 2 hr, 2 hr + 1 are rows g (hr = 0) and g + 8 (hr = 1)); -inf past Sk.
#pragma unroll
      for (int hr = 0; hr < 2; ++hr) {
        if constexpr (kMask) {
          const MaskValue* mrow =
              sMask + buf * Mask::kTileValues + (kRowPerQuery ? warp * 16 + g + 8 * hr : 0) * Mask::kLd + 2 * tq;
#pragma unroll
          for (int n = 0; n < kNt; ++n) {
            const float2 mv = maskPair(mrow + n * 8);
            s[n][2 * hr] = fmaf(s[n][2 * hr], logitScale, mv.x);
            s[n][2 * hr + 1] = fmaf(s[n][2 * hr + 1], logitScale, mv.y);
          }
        } else {
#pragma unroll
          for (int n = 0; n < kNt; ++n) {
            s[n][2 * hr] *= logitScale;
            s[n][2 * hr + 1] *= logitScale;
          }
        }
      }
      if constexpr (decltype(partialTile)::value) {
        const int keysLeft = keysOf(t);
#pragma unroll
        for (int n = 0; n < kNt; ++n)
#pragma unroll
          for (int e = 0; e < 4; ++e)
            if (n * 8 + 2 * tq + (e & 1) >= keysLeft) s[n][e] = -CUDART_INF_F;
      }

      // Online softmax update; P replaces the logits in s.
#pragma unroll
      for (int hr = 0; hr < 2; ++hr) {
        float mx = -CUDART_INF_F;
#pragma unroll
        for (int n = 0; n < kNt; ++n) mx = fmaxf(mx, fmaxf(s[n][2 * hr], s[n][2 * hr + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float mPrev = m[hr];
        m[hr] = fmaxf(mPrev, mx);
        const float mUse = m[hr] == -CUDART_INF_F ? 0.0f : m[hr];  // the guard (see the top of the file)
        const float scale = exp2Approx((mPrev - mUse) * kExpScale);
        float sum = 0.0f;
#pragma unroll
        for (int n = 0; n < kNt; ++n) {
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const float pe = exp2Approx((s[n][2 * hr + e] - mUse) * kExpScale);
            s[n][2 * hr + e] = pe;
            sum += pe;
          }
        }
        l[hr] = l[hr] * scale + sum;
#pragma unroll
        for (int n = 0; n < kOt; ++n) {
          o[n][2 * hr] *= scale;
          o[n][2 * hr + 1] *= scale;
        }
      }

      // O += P V: P from the S fragments (see the top of the file), V through ldmatrix.trans.
#pragma unroll
      for (int kk = 0; kk < kNt / 2; ++kk) {
        const uint32_t a[4] = {packHalf2(s[2 * kk][0], s[2 * kk][1]), packHalf2(s[2 * kk][2], s[2 * kk][3]),
                               packHalf2(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                               packHalf2(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
        for (int np = 0; np < kSteps; ++np) {
          uint32_t bv[4];
          ldmatrixX4Trans(bv, sVt + (kk * 16 + (lane & 15)) * kLd + np * 16 + 8 * (lane >> 4));
          mma16816(o[2 * np], a, bv[0], bv[1]);
          mma16816(o[2 * np + 1], a, bv[2], bv[3]);
        }
      }
    };
    if (keysOf(t) < kBlockN) processTile(std::true_type{});
    else processTile(std::false_type{});
    __syncthreads();  // buffer `buf` is refilled by the next iteration's prefetch
  }

  // out = O / row sum, staged in this warp's own 16 rows of sQ (only this warp ever read them).
#pragma unroll
  for (int hr = 0; hr < 2; ++hr) {
    float sum = l[hr];
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    sum += __shfl_xor_sync(0xffffffffu, sum, 2);
    const float inv = m[hr] == -CUDART_INF_F ? CUDART_NAN_F : 1.0f / sum;  // all logits -inf: NaN
    const bool zero = p.zeroNanRows && !(sum > 0.0f);  // a NaN row (sum 0 or NaN) stored as 0
    __half* dst = sQ + (warp * 16 + g + 8 * hr) * kLd + 2 * tq;
#pragma unroll
    for (int n = 0; n < kOt; ++n)
      *reinterpret_cast<__half2*>(dst + n * 8) =
          zero ? __floats2half2_rn(0.0f, 0.0f) : __floats2half2_rn(o[n][2 * hr] * inv, o[n][2 * hr + 1] * inv);
  }
  __syncwarp();
  constexpr int kChunks = D / 8;
  for (int c = lane; c < 16 * kChunks; c += 32) {
    const int rr = c / kChunks, col = (c % kChunks) * 8;
    const int64_t orow = q0 + warp * 16 + rr;
    if (orow >= r.seqQ) continue;
    const __half* staged = sQ + (warp * 16 + rr) * kLd + col;
    const int64_t at = r.out + orow * p.outStride.s + col;
    const uint4 values = *reinterpret_cast<const uint4*>(staged);
    if (p.outScale > 0.0f)  // int8 out: the 8 values quantized, one 8-byte store
      *reinterpret_cast<uint2*>(static_cast<int8_t*>(p.out) + at) = quantizeHalf8(values, p.outReciprocal, p.outScale);
    else
      *reinterpret_cast<uint4*>(static_cast<__half*>(p.out) + at) = values;
  }
#endif  // __CUDA_ARCH__ >= 800
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

template <int D, typename MaskT, bool kRowPerQuery>
void launchFlashKernel(const AttentionLaunch& a, size_t bytes) {
  auto kernel = flashAttentionKernel<D, MaskT, kRowPerQuery>;
  if (bytes > 48 * 1024)
    INFERRT_CUDA_CHECK(
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
  // Whole 16-byte chunks of mask rows by cp.async: keys contiguous, and every row start 16-byte aligned.
  bool maskVector = false;
  if constexpr (!std::is_void_v<MaskT>) {
    constexpr int64_t kPerChunk = 16 / sizeof(MaskT);
    maskVector = a.maskStride[3] == 1 && aligned16(a.mask) && a.maskStride[0] % kPerChunk == 0 &&
                 a.maskStride[1] % kPerChunk == 0 && a.maskStride[2] % kPerChunk == 0;
  }
  const int64_t qTiles = (gridSeqQ(a) + kBlockM - 1) / kBlockM;
  kernel<<<static_cast<unsigned>(a.batch * a.heads * qTiles), kThreads, bytes, a.stream>>>(a, qTiles, maskVector);
  INFERRT_CUDA_CHECK(cudaGetLastError());
}

template <int D, typename MaskT, bool kRowPerQuery>
bool launchFlashIfFits(const AttentionLaunch& a, int smemOptin) {
  const size_t bytes = FlashShape<D>::kSmemBytes + MaskTile<MaskT, kRowPerQuery>::kBytes;
  if (bytes > static_cast<size_t>(smemOptin)) return false;
  launchFlashKernel<D, MaskT, kRowPerQuery>(a, bytes);
  return true;
}

template <int D>
bool launchFlash(const AttentionLaunch& a, int smemOptin) {
  if (!a.mask) return launchFlashIfFits<D, void, false>(a, smemOptin);
  const bool rowPerQuery = a.maskStride[2] != 0;
  if (a.maskHalf)
    return rowPerQuery ? launchFlashIfFits<D, __half, true>(a, smemOptin)
                       : launchFlashIfFits<D, __half, false>(a, smemOptin);
  return rowPerQuery ? launchFlashIfFits<D, float, true>(a, smemOptin)
                     : launchFlashIfFits<D, float, false>(a, smemOptin);
}

bool strideOk(int64_t s) { return s % 8 == 0; }  // 8 halves: every row start stays 16-byte aligned

}  // namespace

bool launchFlashAttention(const AttentionLaunch& a) {
  if (!a.half || a.headDim != a.valueDim || (a.headDim != 32 && a.headDim != 64 && a.headDim != 128)) return false;
  if (a.mask && a.maskStride[3] != 0 && a.maskStride[3] != 1) return false;  // stageMaskTile's key steps
  if (gridSeqK(a) < 1 || !aligned16(a.q) || !aligned16(a.k) || !aligned16(a.v) || !aligned16(a.out)) return false;
  for (const AttentionStrides* s : {&a.qStride, &a.kStride, &a.vStride, &a.outStride})
    if (!strideOk(s->b) || !strideOk(s->h) || !strideOk(s->s)) return false;
  const int64_t blocks = a.batch * a.heads * ((gridSeqQ(a) + kBlockM - 1) / kBlockM);
  if (blocks > 0x7fffffff) return false;
  int major = 0, smemOptin = 0;
  INFERRT_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, a.device));
  INFERRT_CUDA_CHECK(cudaDeviceGetAttribute(&smemOptin, cudaDevAttrMaxSharedMemoryPerBlockOptin, a.device));
  if (major < 8) return false;  // mma.sync m16n8k16 / cp.async need sm_80
  switch (a.headDim) {
    case 32: return launchFlash<32>(a, smemOptin);
    case 64: return launchFlash<64>(a, smemOptin);
    default: return launchFlash<128>(a, smemOptin);
  }
}

}  // namespace inferrt::cudakernels
