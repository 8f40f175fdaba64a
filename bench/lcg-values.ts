/** Deterministic fp16 benchmark data: lcgFloats (values in [-1, 1)) as fp16 bits. */
import { lcgFloats } from '../examples/seeded-random.js';
import { toFloat16Bits } from '../lib/index.js';

export function halfValues(n: number, seed: number): Uint16Array {
  return toFloat16Bits(lcgFloats(n, seed));
}
