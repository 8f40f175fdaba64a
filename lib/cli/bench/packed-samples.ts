/**
 * The samples `inferrt bench` feeds a packed-sequence engine: each request is ONE sequence, which the batcher packs
 * with others (cu_seqlens is made there). Synthesized: `--seq-len` tokens of id 1 with segment ids 0; or the
 * sequence `--input input_ids=FILE.npy [--input segment_ids=FILE.npy]` holds, shape [L].
 */
import { InferrtError } from '../../errors.js';
import type { PackedSequenceInfo } from '../../packing/packed-engine.js';
import { didYouMean } from '../../suggest.js';
import { UsageError } from '../args.js';
import { formatDims } from '../format.js';
import type { InputArg } from '../inputs.js';
import type { Request } from './samples.js';

/** The synthesized sequence length when `--seq-len` is not given: 128, or the engine's longest if shorter. */
export function defaultSeqLen(packed: PackedSequenceInfo): number {
  return Math.min(128, packed.maxSequenceLength, packed.maxTokens);
}

/** Checks `--seq-len` against the engine; returns the length to synthesize. */
export function checkSeqLen(seqLen: number | undefined, packed: PackedSequenceInfo): number {
  if (seqLen === undefined) return defaultSeqLen(packed);
  const limit = Math.min(packed.maxSequenceLength, packed.maxTokens);
  if (seqLen > limit) {
    const why = packed.maxTokens < packed.maxSequenceLength ? `its maxTokens ${packed.maxTokens}` : `its maxSequenceLength ${packed.maxSequenceLength}`;
    throw new UsageError(`--seq-len ${seqLen} is longer than the engine takes (${why})`);
  }
  return seqLen;
}

/** One synthesized sequence of `seqLen` tokens: ids 1 (a valid token id for any model), segment ids 0. */
export function syntheticSequence(packed: PackedSequenceInfo, seqLen: number): Request {
  const request: Request = { input_ids: { data: new Int32Array(seqLen).fill(1), shape: [seqLen] } };
  if (packed.segmentIds) request.segment_ids = { data: new Int32Array(seqLen), shape: [seqLen] };
  return request;
}

const integerDTypes = ['int32', 'int64'];

/** The sequence `--input` files hold: input_ids [L] and, where the engine takes them, segment_ids [L] (default 0). */
export function sequenceFromFiles(args: readonly InputArg[], packed: PackedSequenceInfo): Request {
  const names = packed.segmentIds ? ['input_ids', 'segment_ids'] : ['input_ids'];
  const takes = `a packed-sequence engine takes one sequence per request: ${names.map((n) => `--input ${n}=FILE.npy`).join(' ')} of shape [L] (cu_seqlens is made as requests are packed)`;
  const request: Request = {};
  for (const arg of args) {
    const name = arg.name ?? (args.length === 1 ? 'input_ids' : undefined);
    if (name === undefined) throw new UsageError(`${arg.flag}: name the input; ${takes}`);
    if (!names.includes(name)) throw new UsageError(`${arg.flag}: '${name}' is not an input of a packed-sequence request${didYouMean(name, names)}; ${takes}`);
    if (request[name]) throw new UsageError(`input '${name}' is given more than once`);
    const { dtype, shape, data } = arg.array;
    if (!integerDTypes.includes(dtype)) {
      throw new InferrtError('DTYPE_MISMATCH', `${arg.flag}: input '${name}' holds token ids (int32 or int64) but '${arg.file}' holds ${dtype}`);
    }
    if (shape.length !== 1) {
      throw new InferrtError('SHAPE_MISMATCH', `${arg.flag}: input '${name}' is one sequence, shape [L], but '${arg.file}' holds shape ${formatDims(shape)}`);
    }
    if (shape[0]! < 1 || shape[0]! > packed.maxSequenceLength) {
      throw new InferrtError('SHAPE_MISMATCH', `${arg.flag}: '${arg.file}' holds ${shape[0]} tokens; the engine takes sequences of 1 to ${packed.maxSequenceLength} (maxSequenceLength)`);
    }
    request[name] = { data: data as Int32Array | BigInt64Array, shape: [...shape] };
  }
  if (!request.input_ids) throw new UsageError(`missing input 'input_ids'; ${takes}`);
  return request;
}
