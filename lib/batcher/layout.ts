/**
 * How a batcher lays requests out in a batch, chosen once per engine: stacked rows (requests concatenated along
 * axis 0, each gets its rows back) for ordinary engines, packed sequences (one sequence per request, packed with
 * cu_seqlens, each gets its tokens' rows and its sequence's row back) for engines built with `packedSequences`.
 * The batcher's queue, scheduling, contexts and stats are the same for both.
 */
import type { ExecutionContext } from '../context.js';
import type { Engine } from '../engine.js';
import type { Tensor, TensorInput } from '../tensor.js';
import { runBatch } from './batch.js';
import type { ResolvedOptions } from './options.js';
import { runPackedBatch } from './packed-batch.js';
import { prepareSequence, type SequenceInput } from './packed-request.js';
import { prepareRequest, type PreparedRequest } from './request.js';

/** A request's inputs by name: tensors (stacked rows) or one sequence's ids (packed sequences). */
export type BatcherInputs = Record<string, TensorInput | SequenceInput>;

/** One batch layout: how a request is checked and copied, and how a batch of them runs and splits. */
export interface BatchLayout {
  /** Most tokens one batch holds: the engine's maxTokens for packed sequences, Infinity for stacked rows. */
  readonly maxTokens: number;
  /** Validates and copies one request; throws InferrtError naming the input on anything wrong. */
  prepare(inputs: BatcherInputs): PreparedRequest;
  /** Runs `requests` as one inference; resolves to each one's outputs, in request order. */
  run(ctx: ExecutionContext, requests: readonly PreparedRequest[]): Promise<Array<Record<string, Tensor>>>;
}

/** The layout `engine` needs under the (validated) batcher options. */
export function batchLayout(engine: Engine, options: ResolvedOptions): BatchLayout {
  const outputNames = engine.outputs.map((t) => t.name);
  const packed = engine.packedSequences;
  if (packed) {
    const byTokens = packed.maxTokens < packed.maxSequenceLength;
    const sequence = {
      maxLength: byTokens ? packed.maxTokens : packed.maxSequenceLength,
      maxLengthFrom: byTokens ? `maxTokens ${packed.maxTokens}` : `maxSequenceLength ${packed.maxSequenceLength}`,
      segmentIds: packed.segmentIds,
      outputNames,
    };
    return {
      maxTokens: packed.maxTokens,
      prepare: (inputs) => prepareSequence(inputs, sequence),
      run: (ctx, requests) => runPackedBatch(ctx, requests, sequence),
    };
  }
  const spec = { inputs: engine.inputs, outputNames, profile: options.profile, maxBatch: options.maxBatch };
  return {
    maxTokens: Infinity,
    prepare: (inputs) => prepareRequest(inputs as Record<string, TensorInput>, spec),
    run: (ctx, requests) => runBatch(ctx, requests, spec),
  };
}
