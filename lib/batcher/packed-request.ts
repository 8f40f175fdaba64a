/**
 * One request to a batcher over a packed-sequence engine: ONE sequence, `{ input_ids: [L], segment_ids?: [L] }`.
 * Checked and copied (as int32) before it is queued, so a bad request rejects alone with INVALID_ARGUMENT naming
 * the input, and the caller may reuse its buffers as soon as `infer` returns. The batcher makes cu_seqlens.
 */
import { isPlainObject } from '../config.js';
import { InferrtError } from '../errors.js';
import { copyIds, isArrayLike } from '../packing/pack-sequences.js';
import { didYouMean } from '../suggest.js';
import { describeValue, formatShape } from '../tensor.js';
import type { PreparedRequest } from './request.js';

/** What a sequence is checked against: the engine's packed bounds. */
export interface SequenceSpec {
  /** The longest sequence a request may have: the engine's maxSequenceLength, at most its maxTokens. */
  maxLength: number;
  /** Why maxLength is what it is, for messages, e.g. 'maxSequenceLength 384'. */
  maxLengthFrom: string;
  /** Whether the engine takes segment_ids. */
  segmentIds: boolean;
  outputNames: readonly string[];
}

/** One sequence of ids, in any form a packed request takes: `{ data, shape: [L] }` or a bare array of L ids. */
export type SequenceInput = { data: ArrayLike<number | bigint>; shape: readonly number[] } | ArrayLike<number | bigint>;

const what = 'batcher.infer';
const IDS = 'input_ids';
const SEGMENTS = 'segment_ids';

function invalid(message: string): InferrtError {
  return new InferrtError('INVALID_ARGUMENT', `${what}: ${message}`);
}

/**
 * Validates and copies one sequence; throws INVALID_ARGUMENT naming the input. Every request shares one key
 * (any sequences pack together), adds one row (a sequence) and L tokens to its batch.
 */
export function prepareSequence(inputs: Record<string, unknown>, spec: SequenceSpec): PreparedRequest {
  if (!isPlainObject(inputs)) {
    throw invalid(`inputs must be an object { input_ids${spec.segmentIds ? ', segment_ids?' : ''} } holding one sequence, got ${describeValue(inputs)}`);
  }
  const names = spec.segmentIds ? [IDS, SEGMENTS] : [IDS];
  for (const name of Object.keys(inputs)) {
    if (names.includes(name)) continue;
    if (name === 'cu_seqlens') throw invalid(`'cu_seqlens' is made by the batcher as it packs a batch; a request is one sequence: ${form(spec)}`);
    if (name === SEGMENTS) throw invalid(`'segment_ids' is not an input of the engine (its model has no token type ids); a request is ${form(spec)}`);
    const hint = spec.outputNames.includes(name) ? ` ('${name}' is an output)` : didYouMean(name, names);
    throw invalid(`'${name}' is not an input of a packed-sequence request${hint}; a request is ${form(spec)}`);
  }
  if (inputs[IDS] === undefined) throw invalid(`missing input 'input_ids'; a request is ${form(spec)}`);
  const ids = readSequence(IDS, inputs[IDS]);
  const length = ids.length;
  if (length === 0) throw invalid(`input 'input_ids' is empty: a sequence needs at least one token`);
  if (length > spec.maxLength) throw invalid(`input 'input_ids' has ${length} tokens, more than the engine's ${spec.maxLengthFrom}`);
  const tensors = new Map<string, { data: Int32Array; shape: number[] }>();
  tensors.set(IDS, { data: toInt32(ids, IDS), shape: [length] });
  if (inputs[SEGMENTS] !== undefined) {
    const segments = readSequence(SEGMENTS, inputs[SEGMENTS]);
    if (segments.length !== length) {
      throw invalid(`input 'segment_ids' has ${segments.length} ids but input_ids has ${length} tokens; a sequence has one segment id per token`);
    }
    tensors.set(SEGMENTS, { data: toInt32(segments, SEGMENTS), shape: [length] });
  }
  return { rows: 1, tokens: length, key: '', tensors };
}

function form(spec: SequenceSpec): string {
  return `{ input_ids: { data, shape: [L] }${spec.segmentIds ? ', segment_ids?: { data, shape: [L] }' : ''} }`;
}

/** The ids of one input given as `{ data, shape: [L] }` or as a bare array; checks rank and length agree. */
function readSequence(name: string, given: unknown): ArrayLike<unknown> {
  if (isArrayLike(given)) return given;
  if (!isPlainObject(given)) {
    throw invalid(`input '${name}' must be { data, shape: [L] } or an array of ids, got ${describeValue(given)}`);
  }
  const { data, shape } = given as { data?: unknown; shape?: unknown };
  if (!isArrayLike(data)) throw invalid(`input '${name}'.data must be an array or typed array of ids, got ${describeValue(data)}`);
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 0)) {
    throw invalid(`shape of input '${name}' must be [L], an array of one non-negative integer, got ${Array.isArray(shape) ? `[${shape.map(String).join(', ')}]` : describeValue(shape)}`);
  }
  if (shape.length !== 1) {
    throw invalid(`input '${name}' must have rank 1, shape [L] (one sequence of L tokens), got shape ${formatShape(shape as number[])}`);
  }
  if (data.length !== shape[0]) throw invalid(`input '${name}' has shape ${formatShape(shape as number[])} but its data has ${data.length} elements`);
  return data;
}

/** A copy as int32, each id checked to be an integer in [0, 2^31). */
function toInt32(values: ArrayLike<unknown>, name: string): Int32Array {
  const out = new Int32Array(values.length);
  copyIds(values as ArrayLike<number | bigint>, out, 0, `${what}: input '${name}'`);
  return out;
}
