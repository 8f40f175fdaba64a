import { describe, expect, it } from 'vitest';
import { PoissonArrivals, Xoshiro128, createRng, exponentialGap } from '../../lib/loadgen/poisson.js';

function meanVar(xs: ArrayLike<number>): { mean: number; variance: number } {
  let sum = 0;
  for (let i = 0; i < xs.length; i++) sum += xs[i] as number;
  const mean = sum / xs.length;
  let sq = 0;
  for (let i = 0; i < xs.length; i++) sq += ((xs[i] as number) - mean) ** 2;
  return { mean, variance: sq / (xs.length - 1) };
}

describe('Xoshiro128 (xoshiro128**)', () => {
  it('matches the reference implementation from state {1, 2, 3, 4}', () => {
    const rng = Xoshiro128.fromState(1, 2, 3, 4);
    const out = Array.from({ length: 6 }, () => rng.nextUint32());
    expect(out).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('seeds through splitmix32 (seed 42, checked against a Python reference)', () => {
    const rng = createRng(42);
    expect(Array.from({ length: 4 }, () => rng.nextUint32())).toEqual([2837322924, 544945897, 479756282, 3500138142]);
  });

  it('is deterministic per seed and differs across seeds', () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const sa = Array.from({ length: 16 }, () => a.nextUint32());
    expect(Array.from({ length: 16 }, () => b.nextUint32())).toEqual(sa);
    expect(Array.from({ length: 16 }, () => c.nextUint32())).not.toEqual(sa);
  });

  it('rejects an all-zero state', () => {
    expect(() => Xoshiro128.fromState(0, 0, 0, 0)).toThrow(RangeError);
  });

  it('gives floats uniform on [0, 1)', () => {
    const rng = createRng(123);
    const xs = new Float64Array(100_000);
    for (let i = 0; i < xs.length; i++) xs[i] = rng.nextFloat();
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const { mean, variance } = meanVar(xs);
    expect(mean).toBeCloseTo(0.5, 2); // sd of the mean ≈ 0.0009
    expect(variance).toBeCloseTo(1 / 12, 2);
    const deciles = new Array<number>(10).fill(0);
    for (const x of xs) deciles[Math.floor(x * 10)]!++;
    for (const count of deciles) expect(Math.abs(count - 10_000)).toBeLessThan(500); // ~5 sd
  });
});

describe('Poisson process', () => {
  it('has exponential gaps: mean 1/λ and variance 1/λ²', () => {
    const rng = createRng(2024);
    const rate = 1000; // per second
    const gaps = new Float64Array(200_000);
    for (let i = 0; i < gaps.length; i++) gaps[i] = exponentialGap(rng, rate);
    const { mean, variance } = meanVar(gaps);
    // sd of the mean ≈ 0.22%, of the variance ≈ 0.63%: bounds are > 4 sd.
    expect(Math.abs(mean / 1e-3 - 1)).toBeLessThan(0.01);
    expect(Math.abs(variance / 1e-6 - 1)).toBeLessThan(0.03);
    // Memorylessness check: P(gap > mean) = e^-1.
    const above = gaps.filter((g) => g > 1e-3).length / gaps.length;
    expect(Math.abs(above - Math.exp(-1))).toBeLessThan(0.005);
  });

  it('generates non-decreasing arrival times whose window counts are Poisson (mean = variance)', () => {
    const arrivals = new PoissonArrivals(5000, 99); // 5 per ms on average
    const windows = 20_000;
    const counts = new Float64Array(windows);
    let prev = 0;
    let monotone = true;
    for (;;) {
      const t = arrivals.next();
      monotone &&= t >= prev;
      prev = t;
      const w = Math.floor(t / 1e6);
      if (w >= windows) break;
      counts[w]!++;
    }
    expect(monotone).toBe(true);
    const { mean, variance } = meanVar(counts);
    expect(Math.abs(mean / 5 - 1)).toBeLessThan(0.02);
    expect(Math.abs(variance / mean - 1)).toBeLessThan(0.05); // index of dispersion 1
  });

  it('is reproducible from a seed and validates its rate', () => {
    const a = new PoissonArrivals(100, 5);
    const b = new PoissonArrivals(100, 5);
    for (let i = 0; i < 100; i++) expect(a.next()).toBe(b.next());
    expect(() => new PoissonArrivals(0, 1)).toThrow(new RangeError('ratePerSecond must be a positive number, got 0'));
  });
});
