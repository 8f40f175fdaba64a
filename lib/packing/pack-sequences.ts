/**
 * Packed (padding-free) batches of variable-length token sequences, the input form of TensorRT-style
 * variable-sequence-length BERT: every request's tokens one after another in one flat array, and `cuSeqlens`, the
 * B + 1 offsets where each sequence starts (cuSeqlens[0] = 0, cuSeqlens[B] = total tokens). `unpackSequences` cuts a
 * packed output ([total tokens, ...] rows) back into one array per request.
 */
import { InferrtError } from '../errors.js';
import { describeValue } from '../tensor.js';

/** One request: its token ids and, optionally, segment (token type) ids of the same length (default all 0). */
export interface SequenceRequest {
  inputIds: ArrayLike<number | bigint>;
  segmentIds?: ArrayLike<number | bigint>;
}

/** Options of {@link packSequences}. */
export interface PackOptions {
  /** The longest sequence allowed (the engine's packedSequences.maxSequenceLength). Default: no limit. */
  maxSequenceLength?: number;
}

/** A packed batch: int32 arrays, as the packed-input plugins take them. */
export interface PackedSequences {
  /** Every request's token ids in order: [totalTokens]. */
  inputIds: Int32Array;
  /** Their segment ids: [totalTokens]. */
  segmentIds: Int32Array;
  /** Sequence start offsets: [batch + 1], increasing, cuSeqlens[batch] = totalTokens. */
  cuSeqlens: Int32Array;
  /** The longest sequence in the batch. */
  longestSequence: number;
  totalTokens: number;
}

function invalid(message: string): InferrtError {
  return new InferrtError('INVALID_ARGUMENT', message);
}

const INT32_MAX = 2 ** 31 - 1;

/** @internal Copies `values` into `into` from `at` as int32, each checked to be an integer in [0, 2^31). */
export function copyIds(values: ArrayLike<number | bigint>, into: Int32Array, at: number, what: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > INT32_MAX) {
      throw invalid(`${what}[${i}] must be an integer id in [0, 2^31), got ${typeof v === 'number' || typeof v === 'bigint' ? String(v) : describeValue(v)}`);
    }
    into[at + i] = n;
  }
}

/** @internal An array or a typed array (what ids may come in). */
export function isArrayLike(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
}

/** Packs `requests` (at least one, each with at least one token) into one padding-free batch. */
export function packSequences(requests: readonly SequenceRequest[], options: PackOptions = {}): PackedSequences {
  if (!Array.isArray(requests) || requests.length === 0) {
    throw invalid(`packSequences: requests must be a non-empty array, got ${describeValue(requests)}`);
  }
  const limit = options.maxSequenceLength ?? Infinity;
  if (limit !== Infinity && (!Number.isSafeInteger(limit) || limit < 1)) {
    throw invalid(`packSequences: options.maxSequenceLength must be an integer >= 1, got ${String(limit)}`);
  }
  const cuSeqlens = new Int32Array(requests.length + 1);
  let longestSequence = 0;
  requests.forEach((r, b) => {
    const what = `packSequences: requests[${b}]`;
    if (typeof r !== 'object' || r === null || !isArrayLike(r.inputIds)) throw invalid(`${what}.inputIds must be an array or typed array of token ids, got ${describeValue(r?.inputIds)}`);
    const length = r.inputIds.length;
    if (length === 0) throw invalid(`${what}.inputIds is empty: every sequence needs at least one token`);
    if (length > limit) throw invalid(`${what} has ${length} tokens, more than maxSequenceLength ${limit}`);
    if (r.segmentIds !== undefined && (!isArrayLike(r.segmentIds) || r.segmentIds.length !== length)) {
      throw invalid(`${what}.segmentIds must have inputIds' length ${length}, got ${isArrayLike(r.segmentIds) ? r.segmentIds.length : describeValue(r.segmentIds)}`);
    }
    if (cuSeqlens[b]! + length > INT32_MAX) throw invalid(`packSequences: more than 2^31 - 1 tokens in one batch`);
    cuSeqlens[b + 1] = cuSeqlens[b]! + length;
    longestSequence = Math.max(longestSequence, length);
  });
  const totalTokens = cuSeqlens[requests.length]!;
  const inputIds = new Int32Array(totalTokens);
  const segmentIds = new Int32Array(totalTokens);
  requests.forEach((r, b) => {
    copyIds(r.inputIds, inputIds, cuSeqlens[b]!, `packSequences: requests[${b}].inputIds`);
    if (r.segmentIds) copyIds(r.segmentIds, segmentIds, cuSeqlens[b]!, `packSequences: requests[${b}].segmentIds`);
  });
  return { inputIds, segmentIds, cuSeqlens, longestSequence, totalTokens };
}

/** A typed array that `subarray` can cut (the data of a packed output). */
export type PackedRows = Float32Array | Uint16Array | Int32Array | BigInt64Array | Int8Array | Uint8Array;

/**
 * Cuts a packed output into one view per request: `data` holds [totalTokens, ...rowShape] row-major, `rowSize` is
 * the product of rowShape (e.g. the hidden size), and request b gets the rows cuSeqlens[b] .. cuSeqlens[b+1].
 * The views share `data`'s memory (copy with `.slice()` to keep one past the buffer's reuse).
 */
export function unpackSequences<T extends PackedRows>(data: T, cuSeqlens: Int32Array, rowSize: number): T[] {
  if (!(cuSeqlens instanceof Int32Array) || cuSeqlens.length < 2 || cuSeqlens[0] !== 0) {
    throw invalid(`unpackSequences: cuSeqlens must be an Int32Array of batch + 1 offsets starting at 0, got ${describeValue(cuSeqlens)}`);
  }
  if (!Number.isSafeInteger(rowSize) || rowSize < 1) throw invalid(`unpackSequences: rowSize must be an integer >= 1, got ${String(rowSize)}`);
  for (let b = 1; b < cuSeqlens.length; b++) {
    if (cuSeqlens[b]! <= cuSeqlens[b - 1]!) {
      throw invalid(`unpackSequences: cuSeqlens must increase, but cuSeqlens[${b}] = ${cuSeqlens[b]} after ${cuSeqlens[b - 1]}`);
    }
  }
  const totalTokens = cuSeqlens[cuSeqlens.length - 1]!;
  if (data.length !== totalTokens * rowSize) {
    throw invalid(`unpackSequences: data holds ${data.length} values, expected ${totalTokens} tokens × rowSize ${rowSize} = ${totalTokens * rowSize}`);
  }
  const out: T[] = [];
  for (let b = 0; b + 1 < cuSeqlens.length; b++) out.push(data.subarray(cuSeqlens[b]! * rowSize, cuSeqlens[b + 1]! * rowSize) as T);
  return out;
}
