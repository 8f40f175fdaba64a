/**
 * Shared by the BERT plugin tests (CPU backend): build and run a network in one call, seeded data, packed
 * sequence offsets, and an element-wise comparison that names the first element out of tolerance.
 */
import { expect } from 'vitest';
import { Builder, Runtime, packSequences, type BuilderConfigOptions, type NetworkDefinition, type Tensor, type TensorInput } from '../../lib/index.js';
import { seededUniform } from '../seeded-uniform.js';

/** The sequence lengths the packed BERT path must handle, one at a time and mixed. */
export const LENGTHS = [1, 2, 63, 64, 65, 384, 512];

/** fp32 or an fp16 build (the CPU backend emulates fp16 by rounding what fp16 layers read and write). */
export type BuildPrecision = 'fp32' | 'fp16';

export function configFor(precision: BuildPrecision, extra: BuilderConfigOptions = {}): BuilderConfigOptions {
  return { ...extra, precision: precision === 'fp16' ? ['fp16'] : [] };
}

/** Builds `define`'s network on the CPU backend, runs it once on `feeds` and returns its outputs. */
export async function runNetwork(
  define: (network: NetworkDefinition) => void,
  feeds: Record<string, TensorInput>,
  options: BuilderConfigOptions = {},
): Promise<Record<string, Tensor>> {
  const builder = new Builder({ backend: 'cpu' });
  using network = builder.createNetwork();
  define(network);
  using engine = await Runtime.load(await builder.build(network, builder.createConfig(options)));
  using ctx = engine.createContext();
  return ctx.infer(feeds);
}

/** `n` seeded uniform floats in [-scale, scale). */
export function randomFloats(n: number, seed: number, scale = 1): Float32Array {
  const next = seededUniform(seed);
  return Float32Array.from({ length: n }, () => (2 * next() - 1) * scale);
}

/** `n` seeded ints in [0, limit). */
export function randomInts(n: number, seed: number, limit: number): Int32Array {
  const next = seededUniform(seed);
  return Int32Array.from({ length: n }, () => Math.floor(next() * limit));
}

/**
 * cu_seqlens of sequences of `lengths`: packSequences' offsets when every length is at least 1 (it rejects empty
 * requests), else the running sum (the plugins accept empty sequences).
 */
export function offsetsOf(lengths: readonly number[]): Int32Array {
  if (lengths.every((n) => n > 0)) return packSequences(lengths.map((n) => ({ inputIds: new Int32Array(n) }))).cuSeqlens;
  const cu = new Int32Array(lengths.length + 1);
  lengths.forEach((n, b) => (cu[b + 1] = cu[b]! + n));
  return cu;
}

/** Fails naming the first element where |actual - expected| > atol + rtol * |expected| (NaN never passes). */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      expect.fail(`element ${i}: got ${a}, expected ${e} (|diff| ${Math.abs(a - e)} > ${atol} + ${rtol} * |expected|)`);
    }
  }
}

/** The largest |actual - expected| (for tests that also pin down how close two paths are). */
export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < actual.length; i++) m = Math.max(m, Math.abs(actual[i]! - expected[i]!));
  return m;
}
