/**
 * Shared by the Attention tests: scaled-dot-product attention written out from its formula in float64 (no inferrt
 * code), tensor permutation for the stored layouts, and building + running a small network on the CPU backend.
 */
import { expect } from 'vitest';
import { fromFloat16Bits, tensor, toFloat16Bits, type BuilderConfigOptions, type NetworkDefinition, type Tensor } from '../../lib/index.js';
import { runNetwork } from './network-engine.js';

export const volume = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** Transpose in JS: output dim i is input dim perm[i] (ONNX / inferrt Transpose). */
export function permute(data: Float32Array, dims: readonly number[], perm: readonly number[]): Float32Array {
  const outDims = perm.map((p) => dims[p]!);
  const inStrides = dims.map((_, i) => volume(dims.slice(i + 1)));
  const out = new Float32Array(data.length);
  const coord = new Array<number>(dims.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let rest = o, src = 0;
    for (let i = outDims.length - 1; i >= 0; i--) {
      coord[i] = rest % outDims[i]!;
      rest = Math.floor(rest / outDims[i]!);
    }
    for (let i = 0; i < perm.length; i++) src += coord[i]! * inStrides[perm[i]!]!;
    out[o] = data[src]!;
  }
  return out;
}

/** Logical [B, H, S, D] dims stored with `layout` (1: [B, S, H, D]). */
export const storedDims = (logical: readonly number[], layout: number): number[] =>
  layout === 1 ? [logical[0]!, logical[2]!, logical[1]!, logical[3]!] : [...logical];

/** Data of logical [B, H, S, D] `dims` rearranged to the storage order of `layout`. */
export const toLayout = (data: Float32Array, dims: readonly number[], layout: number): Float32Array =>
  layout === 1 ? permute(data, dims, [0, 2, 1, 3]) : data;

/** Values as float16 storage would give them back. */
export const roundHalf = (data: Float32Array): Float32Array => fromFloat16Bits(toFloat16Bits(data));

export interface AttentionData {
  q: Float32Array;  // logical [B, H, Sq, D]
  k: Float32Array;  // logical [B, H, Sk, D]
  v: Float32Array;  // logical [B, H, Sk, Dv]
  dims: { B: number; H: number; Sq: number; Sk: number; D: number; Dv: number };
  mask?: { data: Float32Array; dims: number[] };  // broadcasts to [B, H, Sq, Sk]
  alpha: number;
}

/**
 * softmax_j(alpha · q_i·k_j + mask_ij) · v per batch and head, in float64: logical [B, H, Sq, Dv]. Batch and head
 * dims of size 1 in k or v broadcast (what unfused MatMuls do), so the same function checks those cases too.
 */
export function attentionReference(a: AttentionData, kBatch = a.dims.B, vBatch = a.dims.B): Float32Array {
  const { B, H, Sq, Sk, D, Dv } = a.dims;
  const out = new Float32Array(B * H * Sq * Dv);
  const maskDims = a.mask ? [...new Array<number>(4 - a.mask.dims.length).fill(1), ...a.mask.dims] : [];
  const maskAt = (b: number, h: number, i: number, j: number): number => {
    if (!a.mask) return 0;
    const c = [b, h, i, j].map((x, axis) => (maskDims[axis] === 1 ? 0 : x));
    return a.mask.data[((c[0]! * maskDims[1]! + c[1]!) * maskDims[2]! + c[2]!) * maskDims[3]! + c[3]!]!;
  };
  const logits = new Float64Array(Sk);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const kb = kBatch === 1 ? 0 : b, vb = vBatch === 1 ? 0 : b;
      for (let i = 0; i < Sq; i++) {
        let mx = -Infinity;
        for (let j = 0; j < Sk; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += a.q[((b * H + h) * Sq + i) * D + d]! * a.k[((kb * H + h) * Sk + j) * D + d]!;
          logits[j] = a.alpha * dot + maskAt(b, h, i, j);
          mx = Math.max(mx, logits[j]!);
        }
        let sum = 0;
        for (let j = 0; j < Sk; j++) sum += Math.exp(logits[j]! - mx);  // all -inf: exp(NaN), a NaN row
        for (let c = 0; c < Dv; c++) {
          let acc = 0;
          for (let j = 0; j < Sk; j++) acc += (Math.exp(logits[j]! - mx) / sum) * a.v[((vb * H + h) * Sk + j) * Dv + c]!;
          out[((b * H + h) * Sq + i) * Dv + c] = acc;
        }
      }
    }
  return out;
}

/** Element-wise agreement within `tol` (relative above 1), NaN exactly where the reference has NaN. */
export function expectCloseOrNaN(actual: Float32Array, expected: Float32Array, tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const want = expected[i]!, got = actual[i]!;
    if (Number.isNaN(want) || Number.isNaN(got)) {
      expect(Number.isNaN(got), `element ${i}: got ${got}, expected ${want}`).toBe(Number.isNaN(want));
      continue;
    }
    if (!(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)))) throw new Error(`element ${i}: got ${got}, expected ${want}`);
  }
}

export type Feeds = Record<string, Tensor>;

export interface Built {
  kinds: string[];
  precisions: string[];
  log: string[];
  outputs: Record<string, Float32Array>;
}

/**
 * Builds `define`'s network on the CPU backend with `config` (a profile fixed at the feeds' shapes when `dynamic`)
 * and runs it on `feeds`; float16 outputs come back as float32 values.
 */
export async function buildAndRun(define: (n: NetworkDefinition) => void, feeds: Feeds, config: BuilderConfigOptions = {}, dynamic = false): Promise<Built> {
  const { plan, engine: built, out } = await runNetwork(define, feeds, { config, fixedProfile: dynamic });
  using engine = built;
  return {
    kinds: engine.layers.map((l) => l.kind),
    precisions: engine.layers.map((l) => l.precision),
    log: plan.buildLog.filter((l) => l.startsWith('attention:')),
    outputs: Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.dtype === 'float16' ? fromFloat16Bits(t.data as Uint16Array) : (t.data as Float32Array)])),
  };
}

export const f32 = (data: Float32Array, dims: readonly number[]): Tensor<'float32'> => tensor(data, [...dims]);
