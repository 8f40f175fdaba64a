import { describe, expect, it } from 'vitest';
import { latencyStats, percentile } from '../../lib/loadgen/stats.js';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('percentile (nearest rank)', () => {
  it('matches the textbook nearest-rank examples', () => {
    const a = [15, 20, 35, 40, 50];
    expect(percentile(a, 0.05)).toBe(15); // rank ceil(0.25) = 1
    expect(percentile(a, 0.3)).toBe(20); // rank ceil(1.5) = 2
    expect(percentile(a, 0.4)).toBe(20); // rank 2 exactly
    expect(percentile(a, 0.5)).toBe(35); // rank ceil(2.5) = 3
    expect(percentile(a, 1)).toBe(50);
    const b = [3, 6, 7, 8, 8, 10, 13, 15, 16, 20];
    expect(percentile(b, 0.25)).toBe(7); // rank 3
    expect(percentile(b, 0.5)).toBe(8); // rank 5
    expect(percentile(b, 0.75)).toBe(15); // rank 8
    expect(percentile(b, 1)).toBe(20);
  });

  it('picks the exact rank when p·n is whole, despite float error', () => {
    const v = range(100);
    expect(percentile(v, 0.9)).toBe(90);
    expect(percentile(v, 0.99)).toBe(99);
    expect(percentile(v, 0.07)).toBe(7); // 0.07 * 100 = 7.000000000000001 in floats
    expect(percentile(v, 0.29)).toBe(29); // 28.999999999999996
    expect(percentile(v, 0.995)).toBe(100); // rank ceil(99.5)
    expect(percentile(range(1000), 0.999)).toBe(999);
  });

  it('treats p = 0 as the minimum and handles one value', () => {
    expect(percentile([4, 9], 0)).toBe(4);
    expect(percentile([7], 0.99)).toBe(7);
  });

  it('returns NaN for no values and rejects p outside [0, 1]', () => {
    expect(percentile([], 0.5)).toBeNaN();
    expect(() => percentile([1], 1.5)).toThrow(new RangeError('p must be a number between 0 and 1, got 1.5'));
    expect(() => percentile([1], -0.1)).toThrow(RangeError);
  });
});

describe('latencyStats', () => {
  it('summarizes unsorted nanosecond latencies in milliseconds', () => {
    const ns = [7, 3, 10, 1, 5, 9, 2, 8, 4, 6].map((ms) => ms * 1e6);
    expect(latencyStats(ns)).toEqual({
      count: 10,
      minMs: 1,
      meanMs: 5.5,
      p50Ms: 5,
      p90Ms: 9,
      p95Ms: 10,
      p99Ms: 10,
      maxMs: 10,
    });
  });

  it('uses the nearest rank on 200 values', () => {
    const s = latencyStats(range(200).reverse().map((ms) => ms * 1e6));
    expect([s.p50Ms, s.p90Ms, s.p95Ms, s.p99Ms]).toEqual([100, 180, 190, 198]);
  });

  it('gives zeros with count 0 for an empty set', () => {
    expect(latencyStats([])).toEqual({ count: 0, minMs: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 });
  });
});
