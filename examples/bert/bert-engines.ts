/**
 * The two BERT engines of the variable-length example and benchmark, built from one ONNX export (HF BertModel:
 * int64 input_ids / attention_mask / token_type_ids [batch, sequence]): the padded engine (a profile of 1..maxBatch
 * x 1..maxSeq, each batch padded to its longest request) and the packed one (the builder's `packedSequences`
 * rewrite: int32 input_ids / segment_ids [tokens] and cu_seqlens [batch + 1], no padding), with their build options
 * and input feeds.
 */
import {
  InferrtError, fromFloat16Bits, type BuilderConfigOptions, type DType, type Engine, type PackedSequences, type Precision,
  type Tensor,
} from '../../lib/index.js';
import type { PaddedBatch } from './standard-mix.js';

/** The padded inputs of an HF BERT export, in the order PaddedBatch holds them. */
const PADDED_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;

/** What both engines are built for: the largest batch and request, the precisions, and approximateGelu. */
export interface EngineShape {
  maxBatch: number;
  maxSeq: number;
  precision: Precision[];
  approximateGelu?: boolean;
}

/**
 * The padded engine's options: one profile, every one of `inputNames` (the network's inputs) [1, 1] ..
 * [maxBatch, maxSeq], tuned for [maxBatch, maxSeq] (a batch of 64 from the mix pads to about 379 on average).
 */
export function paddedBuildOptions(inputNames: readonly string[], s: EngineShape): BuilderConfigOptions {
  const unknown = inputNames.filter((n) => !(PADDED_INPUTS as readonly string[]).includes(n));
  if (unknown.length > 0 || !inputNames.includes('input_ids')) {
    throw new InferrtError('INVALID_ARGUMENT', `the BERT export must have inputs input_ids and optionally attention_mask, token_type_ids; it has ${inputNames.join(', ')}`);
  }
  const range = { min: [1, 1], opt: [s.maxBatch, s.maxSeq], max: [s.maxBatch, s.maxSeq] };
  return { precision: s.precision, approximateGelu: s.approximateGelu ?? false, profiles: [Object.fromEntries(inputNames.map((n) => [n, range]))] };
}

/** The packed engine's options: packedSequences for up to maxBatch requests of up to maxSeq tokens. */
export function packedBuildOptions(s: EngineShape, optTokens?: number): BuilderConfigOptions {
  return {
    precision: s.precision,
    approximateGelu: s.approximateGelu ?? false,
    packedSequences: { maxSequenceLength: s.maxSeq, maxBatch: s.maxBatch, optBatch: s.maxBatch, ...(optTokens ? { optTokens } : {}) },
  };
}

/** Whether `engine` takes packed inputs (the builder recognized the network and rewrote it). */
function isPackedEngine(engine: Engine): boolean {
  return engine.inputs.some((t) => t.name === 'cu_seqlens');
}

/**
 * Runs a packed build (`build` returns its engine, with whatever else the caller keeps) and keeps it only when the
 * engine is packed; otherwise disposes of it and says why there is none: the build failed, or the builder did not
 * rewrite the network (its log says why).
 */
export async function packedOrWhy<T extends { engine: Engine }>(build: () => Promise<T>): Promise<{ built?: T; why?: string }> {
  try {
    const built = await build();
    if (isPackedEngine(built.engine)) return { built };
    built.engine.dispose();
    return { why: 'the builder did not rewrite this network for packed sequences (the build log lines above say why)' };
  } catch (e) {
    return { why: `the packed build failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** int32 or int64 ids in the dtype the engine input wants. */
function ids(dtype: DType, values: BigInt64Array | Int32Array, shape: number[], name: string): Tensor {
  if (dtype === 'int64') return { dtype, shape, data: values instanceof BigInt64Array ? values : BigInt64Array.from(values, (v) => BigInt(v)) };
  if (dtype === 'int32') return { dtype, shape, data: values instanceof Int32Array ? values : Int32Array.from(values, (v) => Number(v)) };
  throw new InferrtError('DTYPE_MISMATCH', `engine input '${name}' is ${dtype}; the BERT example feeds int32 or int64 ids`);
}

/** The padded engine's inputs for `batch`, by the engine's input names and dtypes. */
export function paddedFeeds(engine: Engine, batch: PaddedBatch): Record<string, Tensor> {
  const data = { input_ids: batch.inputIds, attention_mask: batch.attentionMask, token_type_ids: batch.tokenTypeIds };
  return Object.fromEntries(engine.inputs.map((t) => {
    const values = data[t.name as keyof typeof data];
    if (!values) throw new InferrtError('INVALID_ARGUMENT', `padded engine input '${t.name}' is not one of ${PADDED_INPUTS.join(', ')}`);
    return [t.name, ids(t.dtype, values, [...batch.shape], t.name)];
  }));
}

/** The packed engine's inputs for `packed` (input_ids, segment_ids where the engine has it, cu_seqlens). */
export function packedFeeds(engine: Engine, packed: PackedSequences): Record<string, Tensor> {
  const data: Record<string, [Int32Array, number[]]> = {
    input_ids: [packed.inputIds, [packed.totalTokens]],
    segment_ids: [packed.segmentIds, [packed.totalTokens]],
    cu_seqlens: [packed.cuSeqlens, [packed.cuSeqlens.length]],
  };
  return Object.fromEntries(engine.inputs.map((t) => {
    const entry = data[t.name];
    if (!entry) throw new InferrtError('INVALID_ARGUMENT', `packed engine input '${t.name}' is not one of input_ids, segment_ids, cu_seqlens`);
    return [t.name, ids(t.dtype, entry[0], entry[1], t.name)];
  }));
}

/** An output as float32 values (float16 outputs arrive as half bits). */
export function floatValues(t: Tensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.dtype === 'float16') return fromFloat16Bits(t.data as Uint16Array);
  throw new InferrtError('DTYPE_MISMATCH', `expected a float32 or float16 output, got ${t.dtype}`);
}
