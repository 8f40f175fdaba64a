/**
 * Weights for the 2:4 sparsity tests: crafted to be 2:4 along one axis (exactly two non-zeros in every four
 * consecutive elements along it), and an independent count of the groups of four that break the pattern.
 */
import { type BuilderConfigOptions, type Engine, type NetworkDefinition, type Plan } from '../../lib/index.js';
import { randomFloats } from '../api/helpers.js';
import { runNetwork } from './network-engine.js';

// The six ways to keep two of four.
const PAIRS = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]] as const;

function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
}

export const numel = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/**
 * Values with no zeros (none closer to 0 than 0.05), then zeroed so that every group of four along `axis` keeps
 * two, which two varying from group to group. Every other zero is -0: it counts as zero too.
 */
export function twoFour(dims: readonly number[], axis: number, seed: number): Float32Array {
  const w = nonZero(numel(dims), seed);
  const st = strides(dims);
  for (let i = 0; i < w.length; i++) {
    const a = Math.floor(i / st[axis]!) % dims[axis]!;
    const vector = i - a * st[axis]!; // the flat index with the axis coordinate set to 0
    const g = Math.floor(a / 4);
    const pair = PAIRS[(vector * 7 + g * 5 + seed) % 6]!;
    if (!(pair as readonly number[]).includes(a % 4)) w[i] = (vector + g) % 2 ? -0 : 0;
  }
  return w;
}

/** Random values in ±[0.05, 1.05): no zeros. */
export function nonZero(n: number, seed: number): Float32Array {
  return randomFloats(n, seed).map((v) => (v < 0 ? v - 0.05 : v + 0.05));
}

/** How many groups of four along `axis` have three or four non-zeros, and how many groups there are. */
export function violations(w: ArrayLike<number>, dims: readonly number[], axis: number, isZero: (v: number) => boolean = (v) => v === 0): { bad: number; groups: number } {
  const st = strides(dims);
  let bad = 0;
  let groups = 0;
  for (let i = 0; i < w.length; i++) {
    const a = Math.floor(i / st[axis]!) % dims[axis]!;
    if (a % 4 !== 0) continue;
    let nz = 0;
    for (let e = 0; e < 4; e++) nz += isZero(w[i + e * st[axis]!]!) ? 0 : 1;
    groups++;
    if (nz > 2) bad++;
  }
  return { bad, groups };
}

/** Builds `define`'s network on the CPU with `config`, loads it and runs it on `feeds`. */
export async function buildAndRun(
  define: (n: NetworkDefinition) => void,
  feeds: Record<string, [Float32Array | Uint16Array, number[]]>,
  config: BuilderConfigOptions = {},
): Promise<{ plan: Plan; engine: Engine; out: Record<string, Float32Array | Uint16Array> }> {
  const { plan, engine, out: result } = await runNetwork(define, feeds, { config });
  const out = Object.fromEntries(Object.entries(result).map(([k, t]) => [k, t.data as Float32Array | Uint16Array]));
  return { plan, engine, out };
}
