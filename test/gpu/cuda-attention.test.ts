/**
 * GPU suite, the fused Attention layer on CUDA vs the CPU reference kernel (the oracle): networks of one
 * `Attention` layer (q, k, v, mask?) built through the generic addLayer API, run by a CPU engine and a CUDA engine
 * with the same config, outputs compared.
 *
 * The cases reach both CUDA paths (attention_flash.cu / attention.cu):
 * - the tensor-core path: fp16 engines (precision ['fp16']: q, k, v and the mask stored as fp16) and fp16 network
 *   inputs, with D = Dv in {32, 64, 128};
 * - the generic path: every fp32 engine (strict fp32 and TF32: attention math stays plain fp32 in both), fp16 with
 *   D = 80 or Dv != D.
 * Covered: Sq / Sk in {1, 7, 64, 65, 384, 512} (partial tiles on both axes), both storage layouts of each of q, k,
 * v and out, masks [B, 1, 1, Sk], [Sq, Sk], [B, H, Sq, Sk], [B, 1, Sq, 1] and [Sk] (fp32 in fp32 engines and with fp16 inputs, fp16 in
 * fp16 engines), no mask, scattered -inf logits, a fully -inf row (NaN at the same positions as the CPU's, or 0 with
 * zero_nan_rows), a whole masked key tile before far-negative logits, -FLT_MAX mask values, alpha != 1
 * and a grid of many CTAs. Every case asserts the layer runs on 'cuda' (no CPU fallback).
 * Skipped, with the reason, where the addon has no CUDA part or no GPU is visible.
 */
import { describe, expect, it } from 'vitest';
import {
  halfBitsToFloat, tensor, toFloat16Bits, type BuilderConfigOptions, type DType, type Engine, type NetworkDefinition, type Tensor,
} from '../../lib/index.js';
import { randomFloats } from '../api/helpers.js';
import { checkAgreement, cudaSkipReason, describeFallback, fallbackLayers, reportSkipped, type Tolerance, loadNetwork } from './helpers.js';

/**
 * fp32 engines (strict and TF32) vs the CPU's fp32: the same fp32 math in another order (dot products, an online
 * softmax that rescales partial sums per key chunk instead of a max pass first, expf within 2 ulp). With the
 * logits here (|logit| below about 10) each output carries a relative error of a few 2^-24 times sqrt(Sk):
 * about 1e-6 at Sk = 512. Bounds: relative L2 ≤ 1e-5, worst element ≤ 5e-5 · max|cpu| (+1e-6).
 */
const FP32_TOL: Tolerance = { relL2: 1e-5, maxRel: 5e-5, absFloor: 1e-6 };
/**
 * fp16 vs the CPU's fp16 emulation: both see the same fp16-rounded q, k, v and mask and accumulate in fp32; the
 * tensor-core path also rounds the softmax weights P to fp16 before P·V (relative error ≤ 2^-11 per weight, which
 * averages out over the keys) and both round the output once to fp16 (one ulp, 2^-11 ≈ 4.9e-4 relative, where the
 * two land on different sides of a rounding boundary). Expected relative L2 ≈ 3e-4. Bounds: relative L2 ≤ 3e-3
 * (≈ 6 ulp), worst element ≤ 1e-2 · max|cpu| (+1e-4).
 */
const FP16_TOL: Tolerance = { relL2: 3e-3, maxRel: 1e-2, absFloor: 1e-4 };

type Mode = [label: string, config: BuilderConfigOptions, tol: Tolerance];
const FP32: Mode = ['strict fp32', { strictFp32: true }, FP32_TOL];
const TF32: Mode = ['tf32', {}, FP32_TOL];
const FP16: Mode = ['fp16', { precision: ['fp16'] }, FP16_TOL];
/** fp16 network inputs in a TF32 engine take the tensor-core path, which rounds P to fp16: the fp16 bounds. */
const TF32_HALF_INPUTS: Mode = ['tf32', {}, FP16_TOL];
/**
 * fp16 network inputs in a strict fp32 engine: exact fp32 math on both sides, but the output is fp16, rounded once
 * from two fp32 results a few 2^-24 apart, which land on different sides of a rounding boundary now and then: one
 * fp16 ulp (2^-10 relative) at such elements. Bounds: relative L2 ≤ 1e-3, worst element ≤ 2e-3 · max|cpu| (+1e-6).
 */
const FP32_HALF_INPUTS: Mode = ['strict fp32', { strictFp32: true }, { relL2: 1e-3, maxRel: 2e-3, absFloor: 1e-6 }];

type MaskKind = 'none' | 'batch' | 'square' | 'full' | 'rows' | 'keys';  // [B, 1, 1, Sk], [Sq, Sk], [B, H, Sq, Sk], [B, 1, Sq, 1], [Sk]
type Layout = [q: number, k: number, v: number, out: number];

interface AttentionCase {
  name: string;
  b: number;
  h: number;
  sq: number;
  sk: number;
  d: number;
  dv?: number;             // default d
  layout?: Layout;         // default [0, 0, 0, 0]
  alpha?: number;          // default 1 (the attribute is left out)
  mask?: MaskKind;         // default 'none'
  negInf?: 'some' | 'row'; // some: scattered -inf logits (never a whole row); row: also one fully -inf row
  halfInputs?: boolean;    // q, k, v float16 network inputs with a float32 mask, in an fp32 engine
  zeroNanRows?: boolean;   // attribute zero_nan_rows = 1: the fully -inf rows come out 0 instead of NaN
  // The first 64 keys (one whole key tile of the flash kernel) masked in every row, the others kept: 'negInf'
  // with -inf there and -200 + small offsets elsewhere (every logit far below 0), 'floatMin' with -FLT_MAX
  // (PyTorch's finfo(float32).min) there and also in the mask's whole last row (equal weights: the mean of V).
  firstTile?: 'negInf' | 'floatMin';
  modes: Mode[];
}

const cases: AttentionCase[] = [
  { name: 'BERT-like: S 64, D 64, padding mask [B, 1, 1, S], alpha 1/8', b: 2, h: 4, sq: 64, sk: 64, d: 64, alpha: 0.125, mask: 'batch', modes: [FP32, FP16] },
  { name: 'partial tiles: Sq 65, Sk 65, D 64, all layouts 1, mask [B, H, Sq, Sk] with a -inf row', b: 2, h: 3, sq: 65, sk: 65, d: 64, layout: [1, 1, 1, 1], alpha: 0.125, mask: 'full', negInf: 'row', modes: [FP32, FP16] },
  { name: 'one query, one key: Sq 1, Sk 1, D 64, no mask', b: 2, h: 2, sq: 1, sk: 1, d: 64, modes: [FP32, FP16] },
  { name: 'Sq 7, Sk 384, D 128, layouts [0, 1, 0, 1], mask [Sq, Sk] with a -inf row', b: 2, h: 2, sq: 7, sk: 384, d: 128, layout: [0, 1, 0, 1], alpha: 0.09, mask: 'square', negInf: 'row', modes: [FP32, FP16] },
  { name: 'Sq 384, Sk 7, D 32, layouts [1, 0, 1, 0], mask [B, H, Sq, Sk], alpha 0.3', b: 2, h: 2, sq: 384, sk: 7, d: 32, layout: [1, 0, 1, 0], alpha: 0.3, mask: 'full', negInf: 'some', modes: [FP32, FP16] },
  { name: 'Sq 512, Sk 512, D 128, mask [B, 1, 1, Sk] with scattered -inf', b: 1, h: 2, sq: 512, sk: 512, d: 128, alpha: 0.088, mask: 'batch', negInf: 'some', modes: [FP32, TF32, FP16] },
  { name: 'D 80 (generic fp16 path): Sq 65, Sk 130, layouts [0, 0, 1, 1], mask [B, H, Sq, Sk]', b: 2, h: 2, sq: 65, sk: 130, d: 80, layout: [0, 0, 1, 1], alpha: 0.11, mask: 'full', modes: [FP32, FP16] },
  { name: 'Dv 32 != D 64 (generic path), layouts [1, 1, 0, 0], mask [Sq, Sk]', b: 2, h: 2, sq: 64, sk: 65, d: 64, dv: 32, layout: [1, 1, 0, 0], alpha: 0.125, mask: 'square', modes: [FP32, FP16] },
  { name: 'one query row over many key tiles: Sq 1, Sk 512, D 64, alpha 1', b: 3, h: 2, sq: 1, sk: 512, d: 64, mask: 'square', negInf: 'some', modes: [FP32, FP16] },
  { name: 'many CTAs: B 4, H 16, S 384, D 64, all layouts 1, mask [B, 1, 1, S]', b: 4, h: 16, sq: 384, sk: 384, d: 64, layout: [1, 1, 1, 1], alpha: 0.125, mask: 'batch', modes: [FP32, FP16] },
  { name: 'fp16 inputs with an fp32 mask [B, H, Sq, Sk] (strict fp32: generic path; TF32: tensor cores reading the fp32 mask)', b: 2, h: 2, sq: 64, sk: 65, d: 64, alpha: 0.125, mask: 'full', negInf: 'row', halfInputs: true, modes: [FP32_HALF_INPUTS, TF32_HALF_INPUTS] },
  { name: 'fp16 inputs, D 32, Sq 7 / Sk 64, mask [B, 1, 1, Sk]', b: 2, h: 3, sq: 7, sk: 64, d: 32, alpha: 0.2, mask: 'batch', halfInputs: true, modes: [FP32_HALF_INPUTS] },
  { name: 'zero_nan_rows: fully -inf rows give 0 (both paths), S 65, D 64, mask [B, H, Sq, Sk]', b: 2, h: 2, sq: 65, sk: 65, d: 64, alpha: 0.125, mask: 'full', negInf: 'row', zeroNanRows: true, modes: [FP32, FP16] },
  // A per-row constant alone changes no softmax: the -inf row (NaN in every head) checks that each row reads its own value.
  { name: 'mask [B, 1, Sq, 1] (one value per query row, broadcast over keys) with a -inf row, Sq 65, Sk 130, D 64', b: 2, h: 2, sq: 65, sk: 130, d: 64, alpha: 0.125, mask: 'rows', negInf: 'row', modes: [FP32, FP16] },
  { name: 'full mask [B, H, Sq, Sk] with whole 16-byte mask rows: Sq 128, Sk 128, D 64', b: 1, h: 2, sq: 128, sk: 128, d: 64, alpha: 0.125, mask: 'full', modes: [FP32, FP16] },
  { name: 'mask [Sk] (one row for all), Sk 65: whole 16-byte chunks and a partial one, D 64', b: 2, h: 2, sq: 70, sk: 65, d: 64, alpha: 0.125, mask: 'keys', modes: [FP32, FP16] },
  { name: 'first key tile all -inf, every later logit near -200: Sq 65, Sk 130, mask [B, 1, 1, Sk]', b: 2, h: 2, sq: 65, sk: 130, d: 64, alpha: 0.125, mask: 'batch', firstTile: 'negInf', modes: [FP32, FP16] },
  { name: 'fp32 mask with -FLT_MAX: the first key tile and one whole row (equal weights there), Sq 65, Sk 130', b: 2, h: 2, sq: 65, sk: 130, d: 64, alpha: 0.125, mask: 'full', firstTile: 'floatMin', halfInputs: true, modes: [FP32_HALF_INPUTS, TF32_HALF_INPUTS] },
  { name: 'fp16 inputs, D 128, Sq 130 / Sk 65, no mask, layouts [1, 0, 0, 1]', b: 2, h: 2, sq: 130, sk: 65, d: 128, layout: [1, 0, 0, 1], alpha: 0.088, halfInputs: true, modes: [FP32_HALF_INPUTS] },
];

const numel = (d: readonly number[]): number => d.reduce((a, b) => a * b, 1);

/** Stored dims of a logical [b, h, s, d] tensor in `layout` (0: [B, H, S, D], 1: [B, S, H, D]). */
const stored = (layout: number, b: number, h: number, s: number, d: number): number[] => (layout === 0 ? [b, h, s, d] : [b, s, h, d]);

function maskDims(c: AttentionCase): number[] {
  switch (c.mask) {
    case 'batch': return [c.b, 1, 1, c.sk];
    case 'square': return [c.sq, c.sk];
    case 'full': return [c.b, c.h, c.sq, c.sk];
    case 'rows': return [c.b, 1, c.sq, 1];
    case 'keys': return [c.sk];
    default: return [];
  }
}

/**
 * Additive mask values: small offsets, -10000 at every fourth key from key 1 (padding style), -inf where asked at
 * scattered keys but never key 0 (so no row is all -inf); with 'row', the mask's last row is all -inf (for [B, 1, 1,
 * Sk] that is the last batch entry: all its rows come out NaN).
 */
function maskValues(c: AttentionCase, dims: number[]): Float32Array {
  const sk = dims[dims.length - 1]!;
  const values = Float32Array.from(randomFloats(numel(dims), 71), (v, i) => {
    const key = i % sk;
    if (c.negInf && key % 5 === 3) return -Infinity;
    return key % 4 === 1 ? -10000 : v;
  });
  if (c.negInf === 'row') values.fill(-Infinity, values.length - sk);
  if (c.firstTile) {
    const masked = c.firstTile === 'negInf' ? -Infinity : -3.4028234663852886e38;
    values.forEach((v, i) => { values[i] = i % sk < 64 ? masked : c.firstTile === 'negInf' ? -200 + v : v; });
    if (c.firstTile === 'floatMin') values.fill(masked, values.length - sk);
  }
  return values;
}

/** Output rows whose logits are all -inf under maskValues' 'row' option (the mask's last row). */
function fullyMaskedRows(c: AttentionCase): number {
  if (c.mask === 'full') return 1;             // (B-1, H-1, Sq-1)
  if (c.mask === 'square') return c.b * c.h;   // row Sq-1 of every (b, h)
  if (c.mask === 'batch') return c.h * c.sq;   // every row of batch entry B-1
  if (c.mask === 'rows') return c.h;           // row Sq-1 of batch entry B-1, in every head
  return 0;
}

const nanCount = (t: Tensor): number =>
  (t.dtype === 'float16' ? Array.from(t.data as Uint16Array, halfBitsToFloat) : Array.from(t.data as Float32Array)).filter(Number.isNaN).length;

async function run(engine: Engine, feeds: Record<string, Tensor>): Promise<Tensor> {
  using ctx = engine.createContext();
  return (await ctx.infer(feeds)).out!;
}

function feedOf(values: Float32Array, dims: number[], dtype: DType): Tensor {
  return dtype === 'float16' ? tensor(toFloat16Bits(values), dims, 'float16') : tensor(values, dims);
}

describe.skipIf(cudaSkipReason !== '')('Attention: CUDA vs CPU', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const dv = c.dv ?? c.d;
      const [lq, lk, lv, lo] = c.layout ?? [0, 0, 0, 0];
      const dims = { q: stored(lq, c.b, c.h, c.sq, c.d), k: stored(lk, c.b, c.h, c.sk, c.d), v: stored(lv, c.b, c.h, c.sk, dv) };
      const mDims = maskDims(c);
      const inputType: DType = c.halfInputs ? 'float16' : 'float32';
      const define = (n: NetworkDefinition): void => {
        const q = n.addInput('q', inputType, dims.q), k = n.addInput('k', inputType, dims.k), v = n.addInput('v', inputType, dims.v);
        const mask = c.mask && c.mask !== 'none' ? n.addInput('mask', 'float32', mDims) : null;
        const attrs: Record<string, number | number[]> = { layout: [lq, lk, lv, lo] };
        if (c.alpha !== undefined) attrs.alpha = c.alpha;
        if (c.zeroNanRows) attrs.zero_nan_rows = 1;
        n.markOutput(n.addLayer('Attention', [q, k, v, mask], attrs).output(), 'out');
      };
      const feeds: Record<string, Tensor> = {
        q: feedOf(randomFloats(numel(dims.q), 11), dims.q, inputType),
        k: feedOf(randomFloats(numel(dims.k), 12), dims.k, inputType),
        v: feedOf(randomFloats(numel(dims.v), 13), dims.v, inputType),
      };
      if (mDims.length) feeds.mask = tensor(maskValues(c, mDims), mDims);
      const problems: string[] = [];
      for (const [label, config, tol] of c.modes) {
        using cpu = await loadNetwork(define, 'cpu', label === 'tf32' ? { strictFp32: true } : config);
        using cuda = await loadNetwork(define, 'cuda', config);
        expect(describeFallback(fallbackLayers(cuda)), label).toBe('none');
        expect(cuda.layers.map((l) => `${l.kind} on ${l.runsOn}`), label).toEqual(['Attention on cuda']);
        const want = await run(cpu, feeds), got = await run(cuda, feeds);
        expect(got.shape, label).toEqual(stored(lo, c.b, c.h, c.sq, dv));
        const problem = checkAgreement(want, got, tol);
        if (problem) problems.push(`${label}: ${problem}`);
        if (c.negInf === 'row' && c.zeroNanRows) {  // the fully masked rows are 0 on both (checkAgreement compared them)
          expect(nanCount(want) + nanCount(got), label).toBe(0);
        } else if (c.negInf === 'row') {  // the fully masked rows exist and are NaN on both (checkAgreement matched them)
          expect(nanCount(want), `${label}: NaN elements in the CPU output`).toBe(fullyMaskedRows(c) * dv);
          expect(nanCount(got), label).toBe(nanCount(want));
        }
      }
      expect(problems).toEqual([]);
    });
  }
});

if (cudaSkipReason !== '') reportSkipped('Attention: CUDA vs CPU', cudaSkipReason);
