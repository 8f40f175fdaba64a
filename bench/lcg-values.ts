/** Deterministic benchmark data: values in [-1, 1) from an LCG (fast enough for T x 4096 GEMM activations). */
import { toFloat16Bits } from '../lib/index.js';

export function lcgValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** lcgValues as fp16 bits. */
export function halfValues(n: number, seed: number): Uint16Array {
  return toFloat16Bits(lcgValues(n, seed));
}
