/**
 * The standard variable-length mix of the BERT example and benchmark (examples/bert/standard-mix.ts): seeded and
 * deterministic, drawn in the documented order, lengths in [64, 384] (mean near 224), ids in range; padding to the
 * batch's longest and packing hold the same tokens; the throughput summary's arithmetic.
 */
import { describe, expect, it } from 'vitest';
import { InferrtError } from '../../lib/index.js';
import { BENCH_MIX, STANDARD_MIX, mixToJson, packBatch, padBatch, standardMix, tokenCount } from '../../examples/bert/standard-mix.js';
import { percentile, summarize } from '../../examples/bert/throughput.js';
import { seededUniform } from '../seeded-uniform.js';

const mix = standardMix({ batches: BENCH_MIX.batches, batchSize: BENCH_MIX.batchSize });
const lengths = mix.flat().map((r) => r.inputIds.length);

describe('standardMix', () => {
  it('is the same on every call with the same seed, and different with another', () => {
    const again = standardMix({ batches: BENCH_MIX.batches, batchSize: BENCH_MIX.batchSize });
    expect(again.flat().map((r) => Array.from(r.inputIds))).toEqual(mix.flat().map((r) => Array.from(r.inputIds)));
    const other = standardMix({ batches: BENCH_MIX.batches, batchSize: BENCH_MIX.batchSize, seed: STANDARD_MIX.seed + 1 });
    expect(other.flat().map((r) => r.inputIds.length)).not.toEqual(lengths);
  });

  it('draws lengths uniformly in [64, 384]: the whole range, mean near 224', () => {
    expect(mix).toHaveLength(20);
    for (const b of mix) expect(b).toHaveLength(64);
    expect(lengths.every((n) => Number.isInteger(n) && n >= 64 && n <= 384)).toBe(true);
    // 1,280 draws of 321 equally likely values: both ends are within a few values of the extremes.
    expect(Math.min(...lengths)).toBeLessThan(70);
    expect(Math.max(...lengths)).toBeGreaterThan(378);
    const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
    expect(Math.abs(mean - 224)).toBeLessThan(10); // the standard error of the mean is about 2.6
    const quarter = lengths.filter((n) => n < 144).length / lengths.length; // 80 of the 321 values are below 144
    expect(quarter).toBeGreaterThan(0.2);
    expect(quarter).toBeLessThan(0.3);
  });

  it('draws token ids in [1000, 30000) and splits segments in halves', () => {
    for (const r of mix.flat()) {
      expect(r.inputIds.every((t) => t >= 1000 && t < 30000)).toBe(true);
      const half = Math.floor(r.inputIds.length / 2);
      expect(Array.from(r.segmentIds)).toEqual(Array.from({ length: r.inputIds.length }, (_, i) => (i < half ? 0 : 1)));
    }
  });

  it('draws in the documented order: a length, then its token ids, request after request', () => {
    const u = seededUniform(STANDARD_MIX.seed);
    for (const r of mix[0]!.slice(0, 3)) {
      const length = 64 + Math.floor(u() * 321);
      expect(r.inputIds.length).toBe(length);
      expect(Array.from(r.inputIds)).toEqual(Array.from({ length }, () => 1000 + Math.floor(u() * 29000)));
    }
  });

  it('takes other lengths and token ranges, and rejects impossible ones with typed errors', () => {
    const small = standardMix({ batches: 2, batchSize: 50, minLength: 3, maxLength: 5, firstTokenId: 1, endTokenId: 4 });
    expect(small.flat().every((r) => r.inputIds.length >= 3 && r.inputIds.length <= 5 && r.inputIds.every((t) => t >= 1 && t < 4))).toBe(true);
    expect(new Set(small.flat().map((r) => r.inputIds.length))).toEqual(new Set([3, 4, 5]));
    const bad = (f: () => unknown, pattern: RegExp): void => {
      expect(f).toThrow(InferrtError);
      expect(f).toThrow(pattern);
    };
    bad(() => standardMix({ batches: 0, batchSize: 64 }), /batches must be an integer >= 1, got 0/);
    bad(() => standardMix({ batches: 1, batchSize: 1.5 }), /batchSize must be an integer >= 1, got 1.5/);
    bad(() => standardMix({ batches: 1, batchSize: 1, minLength: 10, maxLength: 9 }), /maxLength must be an integer >= minLength 10, got 9/);
    bad(() => standardMix({ batches: 1, batchSize: 1, firstTokenId: 5, endTokenId: 5 }), /0 <= firstTokenId < endTokenId, got \[5, 5\)/);
  });

  it('writes every request for the PyTorch baseline as JSON', () => {
    const json = JSON.parse(mixToJson(mix.slice(0, 2), STANDARD_MIX.seed)) as { seed: number; batchSize: number; batches: Array<{ requests: Array<{ input_ids: number[]; segment_ids: number[] }> }> };
    expect(json.seed).toBe(STANDARD_MIX.seed);
    expect(json.batchSize).toBe(64);
    expect(json.batches[1]!.requests[5]!.input_ids).toEqual(Array.from(mix[1]![5]!.inputIds));
    expect(json.batches[1]!.requests[5]!.segment_ids).toEqual(Array.from(mix[1]![5]!.segmentIds));
  });
});

describe('padBatch and packBatch', () => {
  const requests = mix[3]!;
  const longest = Math.max(...requests.map((r) => r.inputIds.length));

  it('pads every request to the longest: ids and segments, then zeros; the mask marks the real tokens', () => {
    const p = padBatch(requests);
    expect(p.shape).toEqual([64, longest]);
    requests.forEach((r, b) => {
      const n = r.inputIds.length;
      const row = (a: BigInt64Array): number[] => Array.from(a.subarray(b * longest, (b + 1) * longest), Number);
      const tail = Array<number>(longest - n).fill(0);
      expect(row(p.inputIds)).toEqual([...Array.from(r.inputIds), ...tail]);
      expect(row(p.tokenTypeIds)).toEqual([...Array.from(r.segmentIds), ...tail]);
      expect(row(p.attentionMask)).toEqual([...Array<number>(n).fill(1), ...tail]);
      expect(p.lengths[b]).toBe(n);
    });
    expect(padBatch(requests, 384).shape).toEqual([64, 384]);
    expect(() => padBatch(requests, longest - 1)).toThrow(/padTo must be an integer >= the longest request/);
    expect(() => padBatch([])).toThrow(InferrtError);
  });

  it('packs the same tokens with no padding', () => {
    const p = padBatch(requests);
    const k = packBatch(requests, 384);
    expect(k.totalTokens).toBe(tokenCount(requests));
    expect(k.totalTokens).toBeLessThan(p.shape[0] * p.shape[1]);
    requests.forEach((r, b) => {
      const [start, end] = [k.cuSeqlens[b]!, k.cuSeqlens[b + 1]!];
      expect(end - start).toBe(p.lengths[b]);
      expect(Array.from(k.inputIds.subarray(start, end))).toEqual(Array.from(p.inputIds.subarray(b * longest, b * longest + end - start), Number));
      expect(Array.from(k.segmentIds.subarray(start, end))).toEqual(Array.from(r.segmentIds));
    });
    expect(() => packBatch(requests, longest - 1)).toThrow(/more than maxSequenceLength/);
  });
});

describe('summarize', () => {
  it('adds the batch times up and takes nearest-rank percentiles', () => {
    const s = summarize([30, 10, 40, 20], 8, 100);
    expect(s.totalMs).toBe(100);
    expect(s.samplesPerS).toBeCloseTo(80, 10);
    expect(s.tokensPerS).toBeCloseTo(1000, 10);
    expect(s.latencyMs).toEqual({ mean: 25, p50: 20, p99: 40 });
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile([7], 99)).toBe(7);
  });
});
