/**
 * INT8 calibration statistics (lib/int8/statistics.ts, native/int8/): thresholds of hand-computed histograms, the
 * entropy rule against an independent double-precision reference written here from its definition, and histogram
 * collection against a plain JS binning.
 */
import { describe, expect, it } from 'vitest';
import { addon } from '../../lib/binding.js';
import { floatToHalfBits, halfBitsToFloat } from '../../lib/dtypes.js';
import { AmaxHistogram, entropyAmax, minMaxAmax, percentileAmax } from '../../lib/index.js';
import { scaleOfAmax } from '../../lib/int8/scale-bits.js';
import { thrown } from '../inferrt-errors.js';
import { seededUniform } from '../seeded-uniform.js';

const rng = seededUniform;

/** The distance between x and the next double above it. */
function ulp(x: number): number {
  const b = new Float64Array([Math.abs(x)]);
  const u = new BigUint64Array(b.buffer);
  u[0] = u[0]! + 1n;
  return b[0]! - Math.abs(x);
}

/**
 * The entropy rule from its definition, written independently of the native code: candidates i of kept bins, P the
 * clipped histogram with the outliers in its last bin, Q the clipped histogram (no outliers) merged into levels of
 * floor(i / quantBins) consecutive bins (the last level also takes the remainder) and spread over P's nonzero bins,
 * KL(P‖Q) over P > 0 (infinite where Q = 0), the first minimum, threshold (i + 0.5)·w capped at the range.
 */
function referenceEntropyAmax(counts: number[], w: number, quantBins: number): number {
  const n = counts.length;
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  let bestI = -1;
  let bestKl = Infinity;
  for (let i = quantBins; i <= n; i++) {
    const outliers = counts.slice(i).reduce((a, b) => a + b, 0);
    const p = counts.slice(0, i);
    p[i - 1] = p[i - 1]! + outliers;
    const members: number[][] = Array.from({ length: quantBins }, () => []);
    const merged = Math.floor(i / quantBins);
    for (let j = 0; j < i; j++) members[Math.min(Math.floor(j / merged), quantBins - 1)]!.push(j);
    const q = new Array<number>(i).fill(0);
    for (const bins of members) {
      const mass = bins.reduce((a, j) => a + counts[j]!, 0);
      const nonzero = bins.filter((j) => p[j]! > 0);
      for (const j of nonzero) q[j] = mass / nonzero.length;
    }
    const sp = p.reduce((a, b) => a + b, 0);
    const sq = q.reduce((a, b) => a + b, 0);
    let kl = 0;
    for (let j = 0; j < i; j++) {
      if (p[j]! === 0) continue;
      if (q[j]! === 0) {
        kl = Infinity;
        break;
      }
      kl += (p[j]! / sp) * Math.log(p[j]! / sp / (q[j]! / sq));
    }
    if (kl < bestKl) {
      bestKl = kl;
      bestI = i;
    }
  }
  return Math.min((bestI + 0.5) * w, n * w);
}

/** Plain binning at a given range: bin j holds |x| in (j·w, (j+1)·w], bin 0 also 0; the rule is checked on each value. */
function referenceCounts(values: number[], bins: number, range: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  const w = range / bins;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    const a = Math.abs(v);
    const j = a === 0 ? 0 : Math.min(bins - 1, Math.max(0, Math.ceil(a / w) - 1));
    if (a > 0) expect(j * w < a && a <= (j + 1) * w, `${a} in bin ${j} of width ${w}`).toBe(true);
    counts[j]!++;
  }
  return counts;
}

const randomFloats = (r: () => number, n: number, scale: number): Float32Array =>
  Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale * r());

describe('minMaxAmax / scaleOfAmax', () => {
  it('the max |x| seen is the threshold; scale = amax / 127', () => {
    const h = new AmaxHistogram({ bins: 8 });
    h.add(new Float32Array([0.5, -3, 2, NaN, -Infinity]));
    expect(h.minMaxAmax()).toBe(3);
    expect(minMaxAmax(2.5)).toBe(2.5);
    expect(scaleOfAmax(127)).toBe(1);
    expect(scaleOfAmax(2.54)).toBe(Math.fround(2.54 / 127));  // the float32 scale a calibration cache stores
    expect(scaleOfAmax(0)).toBe(0);
  });
});

describe('percentileAmax', () => {
  // counts [1, 2, 3, 4], w = 0.5: cumulative 1, 3, 6, 10 of 10; edges 0.5, 1, 1.5, 2.
  const counts = [1, 2, 3, 4];
  it('returns the upper edge of the first bin whose cumulative count reaches the percentile', () => {
    expect(percentileAmax(counts, 0.5, 100)).toBe(2);
    expect(percentileAmax(counts, 0.5, 60)).toBe(1.5); // 6 of 10 reached exactly at bin 2
    expect(percentileAmax(counts, 0.5, 59.9)).toBe(1.5);
    expect(percentileAmax(counts, 0.5, 30)).toBe(1); // 3 of 10 reached exactly at bin 1
    expect(percentileAmax(counts, 0.5, 30.1)).toBe(1.5);
    expect(percentileAmax(counts, 0.5, 0.001)).toBe(0.5);
    expect(percentileAmax(new Float64Array([0, 0, 5, 5]), 0.5, 0.001)).toBe(1.5); // leading empty bins skipped
  });
  it('99.99% of 10000 values keeps one outlier out', () => {
    const c = new Array<number>(10).fill(0);
    c[0] = 9999;
    c[9] = 1;
    expect(percentileAmax(c, 1, 99.99)).toBe(1);
    expect(percentileAmax(c, 1, 99.995)).toBe(10);
  });
  it('an empty histogram gives 0', () => {
    expect(percentileAmax([0, 0, 0], 1, 99)).toBe(0);
  });
});

describe('entropyAmax: hand-computed histograms', () => {
  it('4 bins, 2 levels: the full range wins when clipping costs more', () => {
    // counts [4, 2, 0, 2], w = 1.
    // i=2: P = [4, 4]/8, Q = [4, 2]/6: KL = .5 ln(.75) + .5 ln(1.5) = 0.0589.
    // i=3: levels {0} {1,2}: P = [4, 2, 2]/8, Q = [4, 1, 1]/6: KL = .5 ln(.75) + .5 ln(1.5) = 0.0589 (a tie, not less).
    // i=4: P = [4,2,0,2]/8, Q = [3,3,0,2]/8: KL = .5 ln(4/3) + .25 ln(2/3) = 0.0425  <- least; (4.5)·1 capped at 4.
    expect(entropyAmax([4, 2, 0, 2], 1, 2)).toBe(4);
  });
  it('4 bins, 2 levels: a clipped candidate wins and sits half a bin above its kept bins', () => {
    // counts [8, 1, 1, 1], w = 0.25.
    // i=2: P = [8, 3]/11, Q = [8, 1]/9: KL = (8/11) ln(.8182) + (3/11) ln(2.4545) = 0.0990.
    // i=3: levels {0} {1,2}: P = [8, 1, 2]/11, Q = [8, 1, 1]/10: KL = (9/11) ln(.9091) + (2/11) ln(1.8182) = 0.0307  <- least
    //      (an even split, levels {0,1} {2}, would give Q = [4.5, 4.5, 1]/10 and KL 0.3124: i = 2 would win).
    // i=4: levels {0,1} {2,3}: P = [8,1,1,1]/11, Q = [4.5,4.5,1,1]/11: KL = (8/11) ln(8/4.5) + (1/11) ln(1/4.5) = 0.2818.
    expect(entropyAmax([8, 1, 1, 1], 0.25, 2)).toBe(3.5 * 0.25);
  });
  it('mass in the low bins only: the threshold cuts just above the mass', () => {
    // No outliers for any i >= 128; i = 128 maps each bin to its own level (Q = P, KL = 0); larger i tie at 0 up to
    // 255 (one bin per level where the mass is) and merge bins 0 and 1 (different counts) from 256 on: the first wins.
    const counts = new Array<number>(2048).fill(0);
    for (let j = 0; j < 40; j++) counts[j] = 1000 - 20 * j;
    const w = 0.01;
    const amax = entropyAmax(counts, w);
    expect(amax).toBe(128.5 * w);
    expect(amax).toBeLessThan(0.07 * 2048 * w);
  });
  it('a uniform histogram keeps the full range', () => {
    // i = 2048: 16 equal bins per level, Q = P exactly (KL = 0); every i < 2048 piles the rest into P[i-1].
    const w = 1 / 2048;
    expect(entropyAmax(new Array<number>(2048).fill(100), w)).toBe(2048 * w);
    expect(entropyAmax(new Array<number>(256).fill(7), 0.5, 16)).toBe(128);
  });
  it('a long sparse tail of outliers is clipped well below the max', () => {
    // Bulk: a decaying bump over bins 0..119 (~1.4M values); tail: one value every 16 bins up to the last bin.
    const counts = new Array<number>(2048).fill(0);
    for (let j = 0; j < 120; j++) counts[j] = Math.round(40000 * Math.exp(-j / 30));
    for (let j = 127; j < 2048; j += 16) counts[j] = 1;
    const w = 1e-3;
    const amax = entropyAmax(counts, w);
    expect(amax).toBeLessThan(0.25 * 2048 * w);
    expect(amax).toBe(referenceEntropyAmax(counts, w, 128));
  });
  it('an empty histogram gives 0; all mass in bin 0 gives the first candidate', () => {
    expect(entropyAmax(new Array<number>(256).fill(0), 1, 16)).toBe(0);
    const zeros = new Array<number>(256).fill(0);
    zeros[0] = 10;
    expect(entropyAmax(zeros, 1, 16)).toBe(16.5);
  });
});

describe('entropyAmax against the reference on random histograms', () => {
  const cases = [
    { bins: 256, quantBins: 16, trials: 12 },
    { bins: 300, quantBins: 16, trials: 6 }, // candidates that are not multiples of the level count
    { bins: 2048, quantBins: 128, trials: 3 },
  ];
  for (const { bins, quantBins, trials } of cases) {
    it(`${bins} bins, ${quantBins} levels`, () => {
      const r = rng(bins * 7919 + quantBins);
      for (let t = 0; t < trials; t++) {
        const counts = new Array<number>(bins).fill(0);
        const style = t % 3;
        for (let j = 0; j < bins; j++) {
          if (style === 0) counts[j] = r() < 0.3 ? 0 : Math.floor(r() * 1000); // noisy with holes
          else if (style === 1) counts[j] = Math.floor(5000 * Math.exp(-j / (bins * 0.05)) * (0.5 + r())); // decaying bulk
          else counts[j] = j < bins / 8 ? Math.floor(r() * 3000) : r() < 0.05 ? 1 + Math.floor(r() * 3) : 0; // bulk + sparse tail
        }
        const w = 0.001 + r();
        const expected = referenceEntropyAmax(counts, w, quantBins);
        const got = entropyAmax(Float64Array.from(counts), w, quantBins);
        expect(Math.abs(got - expected), `trial ${t}: ${got} vs ${expected}`).toBeLessThanOrEqual(ulp(expected));
      }
    });
  }
});

describe('AmaxHistogram', () => {
  it('bins one batch as the plain reference does, range = the batch max', () => {
    const r = rng(1);
    const data = randomFloats(r, 5000, 3);
    const h = new AmaxHistogram({ bins: 64 });
    h.add(data);
    const max = Math.max(...Array.from(data, Math.abs));
    expect(h.bins).toBe(64);
    expect(h.range).toBe(max);
    expect(h.maxAbs).toBe(max);
    expect(h.binWidth).toBe(max / 64);
    expect(h.count).toBe(5000);
    expect(Array.from(h.counts())).toEqual(referenceCounts(Array.from(data), 64, max));
  });

  it('grows its range by doubling when a later batch is larger (hand-computed)', () => {
    const h = new AmaxHistogram({ bins: 4 });
    h.add(new Float32Array([0.1, -0.5, 1, 0.75])); // range 1, w 0.25: bins 0, 1, 3, 2
    expect(Array.from(h.counts())).toEqual([1, 1, 1, 1]);
    h.add(new Float32Array([3, -1.5])); // range 1 -> 2 -> 4, w 1: the first four in bin 0; 1.5 in bin 1; 3 in bin 2
    expect(h.range).toBe(4);
    expect(h.binWidth).toBe(1);
    expect(h.maxAbs).toBe(3);
    expect(h.count).toBe(6);
    expect(Array.from(h.counts())).toEqual([4, 1, 1, 0]);
    // The same as one pass at the final range.
    const once = new AmaxHistogram({ bins: 4, initialRange: 4 });
    once.add(new Float32Array([0.1, -0.5, 1, 0.75, 3, -1.5]));
    expect(Array.from(once.counts())).toEqual([4, 1, 1, 0]);
  });

  it('a grown histogram equals the reference binning at its final range (random batches, odd bin count)', () => {
    const r = rng(2);
    const batches = [randomFloats(r, 2000, 1), randomFloats(r, 2000, 0.5), randomFloats(r, 2000, 5.3), randomFloats(r, 500, 40)];
    const h = new AmaxHistogram({ bins: 2047 });
    let range = 0;
    const all: number[] = [];
    for (const b of batches) {
      h.add(b);
      const m = Math.max(...Array.from(b, Math.abs));
      if (range === 0) range = m;
      while (range < m) range *= 2;
      all.push(...b);
      expect(h.range).toBe(range);
      expect(Array.from(h.counts())).toEqual(referenceCounts(all, 2047, range));
    }
    expect(h.maxAbs).toBe(Math.max(...all.map(Math.abs)));
  });

  it('survives a jump of many powers of two', () => {
    const h = new AmaxHistogram({ bins: 16 });
    h.add(new Float32Array([1e-30, 0]));
    h.add(new Float32Array([1e30]));
    let range = Math.fround(1e-30);
    while (range < Math.fround(1e30)) range *= 2;
    expect(h.range).toBe(range);
    expect(Array.from(h.counts())).toEqual(referenceCounts([Math.fround(1e-30), 0, Math.fround(1e30)], 16, range));
  });

  it('takes float16 bits and bins them as their float32 values', () => {
    const values = [0.5, -2, 1.25, 65504, -0.0001, 3.14, 0, -7.5];
    const bits = Uint16Array.from(values, floatToHalfBits);
    const h16 = new AmaxHistogram({ bins: 32 });
    h16.add(bits);
    h16.add(new Uint16Array([0x7e00, 0x7c00, 0xfc00])); // NaN, +Inf, -Inf
    const h32 = new AmaxHistogram({ bins: 32 });
    h32.add(Float32Array.from(bits, halfBitsToFloat));
    expect(h16.maxAbs).toBe(65504);
    expect(h16.count).toBe(values.length);
    expect(h16.nanCount).toBe(1);
    expect(h16.infCount).toBe(2);
    expect(Array.from(h16.counts())).toEqual(Array.from(h32.counts()));
    expect(Array.from(h16.counts())).toEqual(referenceCounts(Array.from(bits, halfBitsToFloat), 32, 65504));
  });

  it('counts NaN and Inf and keeps them out of the bins, max and count', () => {
    const h = new AmaxHistogram({ bins: 4 });
    h.add(new Float32Array([1, NaN, Infinity, -Infinity, -2, NaN]));
    expect(h.nanCount).toBe(2);
    expect(h.infCount).toBe(2);
    expect(h.count).toBe(2);
    expect(h.maxAbs).toBe(2);
    expect(h.range).toBe(2);
    expect(Array.from(h.counts())).toEqual([0, 1, 0, 1]);
  });

  it('empty input and all-zero input', () => {
    const h = new AmaxHistogram();
    h.add(new Float32Array(0));
    expect(h.bins).toBe(2048);
    expect(h.count).toBe(0);
    expect(h.range).toBe(0);
    expect(h.counts().every((c) => c === 0)).toBe(true);
    expect(h.entropyAmax()).toBe(0);
    expect(h.percentileAmax(99.99)).toBe(0);
    expect(h.minMaxAmax()).toBe(0);
    h.add(new Float32Array([0, -0, 0]));
    expect(h.range).toBe(0);
    expect(h.counts()[0]).toBe(3);
    expect(h.entropyAmax()).toBe(0);
    h.add(new Float32Array([2])); // the range starts now; the zeros stay in bin 0
    expect(h.range).toBe(2);
    expect(h.counts()[0]).toBe(3);
    expect(h.counts()[2047]).toBe(1);
  });

  it('thresholds from a collected histogram', () => {
    const h = new AmaxHistogram({ bins: 4 });
    h.add(new Float32Array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 1.0])); // w 0.25: [2, 2, 2, 2]
    expect(h.percentileAmax(50)).toBe(0.5);
    expect(h.percentileAmax(100)).toBe(1);
    expect(h.entropyAmax(2)).toBe(1); // uniform: the full range
  });
});

describe('argument errors', () => {
  const invalid = (fn: () => unknown, ...parts: string[]): void => {
    const e = thrown(fn);
    expect(e.code).toBe('INVALID_ARGUMENT');
    for (const p of parts) expect(e.message).toContain(p);
  };
  it('AmaxHistogram', () => {
    invalid(() => new AmaxHistogram({ bins: 0 }), 'options.bins', 'got 0');
    invalid(() => new AmaxHistogram({ bins: 1.5 }), 'options.bins');
    invalid(() => new AmaxHistogram({ bins: 'x' as unknown as number }), 'options.bins', "'x'");
    invalid(() => new AmaxHistogram({ initialRange: -1 }), 'options.initialRange', '-1');
    invalid(() => new AmaxHistogram({ initialRange: NaN }), 'options.initialRange');
    invalid(() => new AmaxHistogram(null as unknown as object), 'options');
    const h = new AmaxHistogram();
    invalid(() => h.add(new Float64Array(3) as unknown as Float32Array), 'AmaxHistogram.add: data', 'Float64Array');
    invalid(() => h.add([1, 2] as unknown as Float32Array), 'AmaxHistogram.add: data', 'an array');
  });
  it('threshold functions', () => {
    invalid(() => entropyAmax([1, -1], 1, 1), 'entropyAmax: counts[1]', '-1');
    invalid(() => entropyAmax([1, NaN], 1, 1), 'entropyAmax: counts[1]');
    invalid(() => entropyAmax([], 1, 1), 'entropyAmax: counts', 'at least 1 bin');
    invalid(() => entropyAmax('abc' as unknown as number[], 1), 'entropyAmax: counts');
    invalid(() => entropyAmax([1, 2], -1, 1), 'entropyAmax: binWidth');
    invalid(() => entropyAmax([1, 2], 1, 0), 'entropyAmax: quantBins');
    invalid(() => entropyAmax([1, 2], 1, 1.5), 'entropyAmax: quantBins');
    invalid(() => entropyAmax([1, 2], 1), 'entropyAmax: quantBins', 'at most the number of bins (2)', '128');
    invalid(() => entropyAmax(new Float64Array(16385), 1), 'entropyAmax: counts', 'at most 16384 bins');
    invalid(() => percentileAmax([1], 1, 0), 'percentileAmax: percentile');
    invalid(() => percentileAmax([1], 1, 100.5), 'percentileAmax: percentile');
    invalid(() => percentileAmax([1], Infinity, 50), 'percentileAmax: binWidth');
    invalid(() => minMaxAmax(-1), 'minMaxAmax: maxAbs');
  });
  it('the native functions check their arguments too', () => {
    invalid(() => addon.int8.entropyThreshold(new Float64Array([1, -1]), 1, 1), 'entropyThreshold: counts[1]');
    invalid(() => addon.int8.entropyThreshold(new Float64Array([1]), 1, 2), 'entropyThreshold', 'quantBins');
    invalid(() => addon.int8.entropyThreshold([1] as unknown as Float64Array, 1, 1), 'entropyThreshold: counts', 'Float64Array');
    invalid(() => addon.int8.entropyThreshold(new Float64Array(16385), 1, 128), 'entropyThreshold: counts', 'at most 16384');
    invalid(() => addon.int8.percentileThreshold(new Float64Array([1]), 1, 0), 'percentileThreshold: percentile');
    invalid(() => new addon.int8.AmaxHistogram(0, 0), 'AmaxHistogram: bins');
    invalid(() => new addon.int8.AmaxHistogram(8, -1), 'AmaxHistogram: initialRange');
  });
});

describe('AmaxHistogram lifetime', () => {
  it('dispose() releases it: later calls throw DisposedError, dispose is idempotent, `using` disposes', () => {
    const h = new AmaxHistogram({ bins: 8 });
    h.add(Float32Array.from([0.5, -1]));
    expect(h.count).toBe(2);
    h.dispose();
    h.dispose();
    expect(() => h.count).toThrow(expect.objectContaining({ code: 'DISPOSED', name: 'DisposedError' }));
    expect(() => h.add(new Float32Array(1))).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    let escaped: AmaxHistogram | undefined;
    {
      using scoped = new AmaxHistogram({ bins: 4 });
      escaped = scoped;
    }
    expect(() => escaped!.counts()).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
  });
});
