/**
 * Shared by the quantization importer tests: typed host tensors of the integer dtypes, seeded data, and the
 * comparison of inferrt's outputs with an oracle's (onnxruntime-node on the same model or on a float reference
 * graph), exact or within a number of integer units.
 */
import { expect } from 'vitest';
import type { DType } from '../../lib/dtypes.js';
import { seededUniform } from '../seeded-uniform.js';
import type { HostTensor } from './run.js';

export const u8 = (dims: number[], v: ArrayLike<number>): HostTensor => ({ dtype: 'uint8', dims, data: Uint8Array.from(v) });
export const i8 = (dims: number[], v: ArrayLike<number>): HostTensor => ({ dtype: 'int8', dims, data: Int8Array.from(v) });
export const i32 = (dims: number[], v: ArrayLike<number>): HostTensor => ({ dtype: 'int32', dims, data: Int32Array.from(v) });

/** `count` seeded integers in [lo, hi]. */
export function seededInts(seed: number, count: number, lo: number, hi: number): number[] {
  const next = seededUniform(seed);
  return Array.from({ length: count }, () => lo + Math.floor(next() * (hi - lo + 1)));
}

/** A seeded integer tensor of `dtype` (int8: [-128, 127], uint8: [0, 255]) and `dims`. */
export function seededInt8s(dtype: 'int8' | 'uint8', dims: number[], seed: number): HostTensor {
  const n = dims.reduce((a, d) => a * d, 1);
  return dtype === 'int8' ? i8(dims, seededInts(seed, n, -128, 127)) : u8(dims, seededInts(seed, n, 0, 255));
}

/**
 * Asserts `ours` equals `theirs` output by output (names, dtypes unless `dtypes` maps a name to ours, dims), each
 * value within `units` (0: exact). Returns how many values differed at all.
 */
export function expectClose(ours: Record<string, HostTensor>, theirs: Record<string, HostTensor>, units = 0, dtypes: Record<string, DType> = {}): number {
  expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
  let differing = 0;
  for (const [name, want] of Object.entries(theirs)) {
    const got = ours[name]!;
    expect(got.dtype, name).toBe(dtypes[name] ?? want.dtype);
    expect(got.dims, name).toEqual(want.dims);
    const a = Array.from(got.data as ArrayLike<number | bigint>, Number);
    const b = Array.from(want.data as ArrayLike<number | bigint>, Number);
    expect(a.length, name).toBe(b.length);
    for (let i = 0; i < b.length; i++) {
      const diff = Math.abs(a[i]! - b[i]!);
      if (diff !== 0) differing++;
      expect(diff, `${name}[${i}]: ${a[i]} vs ${b[i]}`).toBeLessThanOrEqual(units);
    }
  }
  return differing;
}
