/**
 * Latency statistics.
 *
 * **Percentile method: nearest rank.** The p-th percentile (0 < p ≤ 1) of n sorted values v[1] ≤ … ≤ v[n] is
 * v[⌈p·n⌉]: the smallest value such that at least a fraction p of all values are ≤ it. It is always one of the
 * measured values (no interpolation), so "p99 = 12.3 ms" means at least 99% of the queries took ≤ 12.3 ms. p = 0 is
 * taken as the minimum. Examples with n = 10 values 1..10: p50 → v[5] = 5, p90 → v[9] = 9, p95 → v[10] = 10,
 * p99 → v[10] = 10.
 *
 * MLPerf's loadgen indexes `sorted[floor(p·n)]` (0-based), which is the same rank except when p·n is a whole
 * number, where it picks the next value up (n = 100, p = 0.9: its 91st value, our 90th).
 */

/**
 * The nearest-rank percentile of values already sorted ascending. `p` is a fraction in [0, 1] (0.99 for p99).
 * Returns `NaN` for an empty array.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`p must be a number between 0 and 1, got ${p}`);
  const n = sorted.length;
  if (n === 0) return NaN;
  // p·n carries float error (0.07 · 100 = 7.000000000000001); a relative tolerance far below any real fraction
  // keeps a whole-number rank whole.
  const pn = p * n;
  const rank = Math.max(1, Math.ceil(pn - 1e-12 * Math.max(1, pn)));
  return sorted[Math.min(rank, n) - 1] as number;
}

/** A sorted copy of `values` as a Float64Array (numeric order). */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/**
 * Summary of a set of latencies, in milliseconds. For an empty set every field is 0 and `count` is 0.
 * Percentiles use the nearest-rank method (see the module comment).
 */
export interface LatencyStats {
  /** How many latencies were measured. */
  count: number;
  /** Smallest latency, ms. */
  minMs: number;
  /** Arithmetic mean, ms. */
  meanMs: number;
  /** 50th percentile (median), ms. */
  p50Ms: number;
  /** 90th percentile, ms. */
  p90Ms: number;
  /** 95th percentile, ms. */
  p95Ms: number;
  /** 99th percentile, ms. */
  p99Ms: number;
  /** Largest latency, ms. */
  maxMs: number;
}

const NS_PER_MS = 1e6;

/** Computes {@link LatencyStats} from latencies in nanoseconds, sorted or not. */
export function latencyStats(valuesNs: ArrayLike<number>): LatencyStats {
  const n = valuesNs.length;
  if (n === 0) return { count: 0, minMs: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 };
  const sorted = sortedCopy(valuesNs);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i] as number;
  return {
    count: n,
    minMs: (sorted[0] as number) / NS_PER_MS,
    meanMs: sum / n / NS_PER_MS,
    p50Ms: percentile(sorted, 0.5) / NS_PER_MS,
    p90Ms: percentile(sorted, 0.9) / NS_PER_MS,
    p95Ms: percentile(sorted, 0.95) / NS_PER_MS,
    p99Ms: percentile(sorted, 0.99) / NS_PER_MS,
    maxMs: (sorted[n - 1] as number) / NS_PER_MS,
  };
}
