/** Shared by the Pointwise tests (pointwise-fusion, pointwise-layer): float comparisons. */
import { expect } from 'vitest';

/** Same bits (NaN payloads and signed zeros included). */
export function expectSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const b = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++)
    if (a[i] !== b[i]) throw new Error(`${what}[${i}]: ${actual[i]} (0x${a[i]!.toString(16)}), expected ${expected[i]} (0x${b[i]!.toString(16)})`);
}

/** |a - b| <= tol * max(1, |b|), NaN where the reference is NaN. */
export function expectNear(actual: Float32Array, expected: ArrayLike<number>, tol: number, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, b = expected[i]!;
    if (Number.isNaN(b) ? !Number.isNaN(a) : !(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b))))
      throw new Error(`${what}[${i}]: got ${a}, expected ${b} (tol ${tol})`);
  }
}
