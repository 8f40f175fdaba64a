/**
 * The standard mix of variable-length BERT requests (issue 4's benchmark workload) and the two ways of feeding it
 * to an engine: padded to each batch's longest request (attention_mask marks the real tokens), or packed with no
 * padding at all (lib/packing). Shared by examples/bert/main.ts and bench/gpu-bert-packed.ts, so the example and
 * the benchmark run the same inputs; bench/bert-mix.ts writes them as JSON for the PyTorch baseline.
 *
 * Draw order (mulberry32 from the seed, one uniform number u in [0, 1) per draw): for each batch, for each request,
 * its length min + floor(u * (max - min + 1)), then each token id firstTokenId + floor(u * (endTokenId -
 * firstTokenId)). Segment ids: the first floor(length / 2) tokens 0, the rest 1 (a sentence pair).
 */
import { InferrtError, packSequences, type PackedSequences } from '../../lib/index.js';
import { seededUniform } from '../seeded-random.js';

/** The standard mix: lengths uniform in [64, 384] (mean 224), token ids in [1000, 30000), seed 2024. */
export const STANDARD_MIX = Object.freeze({ minLength: 64, maxLength: 384, firstTokenId: 1000, endTokenId: 30000, seed: 2024 });

/** The benchmark's run of the mix (bench/gpu-bert-packed.ts, bench/bert-mix.ts): 20 batches of 64 requests. */
export const BENCH_MIX = Object.freeze({ batches: 20, batchSize: 64 });

/** Options of {@link standardMix}; anything left out is {@link STANDARD_MIX}'s. */
export interface MixOptions {
  batches: number;
  batchSize: number;
  seed?: number;
  minLength?: number;
  maxLength?: number;
  /** Smallest token id drawn. */
  firstTokenId?: number;
  /** One past the largest token id drawn. */
  endTokenId?: number;
}

/** One request of the mix. */
export interface MixRequest {
  inputIds: Int32Array;
  segmentIds: Int32Array;
}

function invalid(message: string): InferrtError {
  return new InferrtError('INVALID_ARGUMENT', message);
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw invalid(`standardMix: ${what} must be an integer >= 1, got ${value}`);
  return value;
}

/** `batches` batches of `batchSize` requests drawn as the module doc says (the same every run for one seed). */
export function standardMix(options: MixOptions): MixRequest[][] {
  const o = { ...STANDARD_MIX, ...options };
  positiveInteger(o.batches, 'batches');
  positiveInteger(o.batchSize, 'batchSize');
  positiveInteger(o.minLength, 'minLength');
  if (!Number.isSafeInteger(o.maxLength) || o.maxLength < o.minLength) throw invalid(`standardMix: maxLength must be an integer >= minLength ${o.minLength}, got ${o.maxLength}`);
  if (!Number.isSafeInteger(o.firstTokenId) || !Number.isSafeInteger(o.endTokenId) || o.firstTokenId < 0 || o.endTokenId <= o.firstTokenId) {
    throw invalid(`standardMix: token ids must satisfy 0 <= firstTokenId < endTokenId, got [${o.firstTokenId}, ${o.endTokenId})`);
  }
  const next = seededUniform(o.seed);
  const draw = (lo: number, count: number): number => lo + Math.floor(next() * count);
  return Array.from({ length: o.batches }, () =>
    Array.from({ length: o.batchSize }, () => {
      const length = draw(o.minLength, o.maxLength - o.minLength + 1);
      const inputIds = Int32Array.from({ length }, () => draw(o.firstTokenId, o.endTokenId - o.firstTokenId));
      const segmentIds = Int32Array.from({ length }, (_, i) => (i < Math.floor(length / 2) ? 0 : 1));
      return { inputIds, segmentIds };
    }));
}

/** A batch padded to its longest request: [batch, longest] row-major int64 arrays, as HF exports take them. */
export interface PaddedBatch {
  /** [batch, longest]. */
  shape: [number, number];
  /** Token ids, 0 after each request's end. */
  inputIds: BigInt64Array;
  /** 1 for a request's tokens, 0 for padding. */
  attentionMask: BigInt64Array;
  /** Segment ids, 0 for padding. */
  tokenTypeIds: BigInt64Array;
  /** Each request's length. */
  lengths: number[];
}

/** Pads `requests` to the longest of them (or to `padTo`, which must be at least that). */
export function padBatch(requests: readonly MixRequest[], padTo?: number): PaddedBatch {
  if (requests.length === 0) throw invalid('padBatch: no requests');
  const lengths = requests.map((r) => r.inputIds.length);
  const longest = Math.max(...lengths);
  const width = padTo ?? longest;
  if (!Number.isSafeInteger(width) || width < longest) throw invalid(`padBatch: padTo must be an integer >= the longest request (${longest}), got ${width}`);
  const size = requests.length * width;
  const inputIds = new BigInt64Array(size), attentionMask = new BigInt64Array(size), tokenTypeIds = new BigInt64Array(size);
  requests.forEach((r, b) => {
    for (let i = 0; i < r.inputIds.length; i++) {
      inputIds[b * width + i] = BigInt(r.inputIds[i]!);
      tokenTypeIds[b * width + i] = BigInt(r.segmentIds[i]!);
      attentionMask[b * width + i] = 1n;
    }
  });
  return { shape: [requests.length, width], inputIds, attentionMask, tokenTypeIds, lengths };
}

/** Packs `requests` with no padding (packSequences), checked against `maxSequenceLength`. */
export function packBatch(requests: readonly MixRequest[], maxSequenceLength: number): PackedSequences {
  return packSequences(requests, { maxSequenceLength });
}

/** Real (unpadded) tokens of a batch. */
export function tokenCount(requests: readonly MixRequest[]): number {
  return requests.reduce((n, r) => n + r.inputIds.length, 0);
}

/** The mix as JSON for bench/pytorch/bert_mix.py: { seed, batchSize, batches: [{ requests: [{ input_ids, segment_ids }] }] }. */
export function mixToJson(batches: readonly MixRequest[][], seed: number): string {
  return JSON.stringify({
    seed,
    batchSize: batches[0]?.length ?? 0,
    batches: batches.map((requests) => ({
      requests: requests.map((r) => ({ input_ids: Array.from(r.inputIds), segment_ids: Array.from(r.segmentIds) })),
    })),
  });
}
