/**
 * Runs one batch on a packed-sequence engine: packs its requests' sequences one after another (packSequences:
 * input_ids [T], segment_ids [T], cu_seqlens [B + 1]), runs them, and gives each request its own part of every
 * output: rows cu_seqlens[b] .. cu_seqlens[b + 1] of a per-token output ([T, ...], e.g. last_hidden_state), row b
 * of a per-sequence output ([B, ...], e.g. pooler_output).
 */
import type { ExecutionContext } from '../context.js';
import { InferrtError } from '../errors.js';
import { packSequences, type SequenceRequest } from '../packing/pack-sequences.js';
import { formatShape, type Tensor } from '../tensor.js';
import type { PreparedRequest } from './request.js';
import { sliceRows } from './rows.js';

/** What a packed batch needs of the engine. */
export interface PackedBatchSpec {
  /** Whether the engine takes segment_ids. */
  segmentIds: boolean;
  outputNames: readonly string[];
}

/** Runs `requests` (prepared by prepareSequence, within the engine's bounds) as one packed inference. */
export async function runPackedBatch(ctx: ExecutionContext, requests: readonly PreparedRequest[], spec: PackedBatchSpec): Promise<Array<Record<string, Tensor>>> {
  const sequences: SequenceRequest[] = requests.map((r) => {
    const segments = r.tensors.get('segment_ids');
    return { inputIds: r.tensors.get('input_ids')!.data as Int32Array, ...(segments ? { segmentIds: segments.data as Int32Array } : {}) };
  });
  const packed = packSequences(sequences);
  const tokens = packed.totalTokens;
  const inputs: Record<string, Tensor> = {
    input_ids: { dtype: 'int32', shape: [tokens], data: packed.inputIds },
    cu_seqlens: { dtype: 'int32', shape: [packed.cuSeqlens.length], data: packed.cuSeqlens },
  };
  if (spec.segmentIds) inputs.segment_ids = { dtype: 'int32', shape: [tokens], data: packed.segmentIds };
  const outputs = await ctx.infer(inputs);
  const batch = requests.length;
  // When every sequence is one token long, T = B and both cuts give the same rows.
  const perToken = (name: string): boolean => {
    const rows = outputs[name]!.shape[0];
    if (rows === tokens) return true;
    if (rows === batch) return false;
    throw new InferrtError(
      'INVALID_ARGUMENT',
      `batcher: output '${name}' has shape ${formatShape(outputs[name]!.shape)} for a packed batch of ${batch} sequences and ${tokens} tokens; the batcher needs every output's axis 0 to be the tokens (per-token output) or the sequences (per-sequence output), to hand each request its own`,
    );
  };
  const cuts = spec.outputNames.map((name) => ({ name, perToken: perToken(name) }));
  return requests.map((_, b) => {
    const own: Record<string, Tensor> = {};
    for (const { name, perToken } of cuts) {
      const t = outputs[name]!;
      own[name] = perToken ? sliceRows(t, packed.cuSeqlens[b]!, packed.cuSeqlens[b + 1]! - packed.cuSeqlens[b]!) : sliceRows(t, b, 1);
    }
    return own;
  });
}
