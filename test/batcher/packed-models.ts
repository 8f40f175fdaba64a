/**
 * For the packed-sequence batcher tests: packed engines built from the BERT-family fixtures (CPU backend), seeded
 * sequences, the oracle (each sequence run alone through `ctx.infer`: same CPU kernels, so bitwise equal rows),
 * and a context wrapper that records every batch's cu_seqlens.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { Builder, Runtime, type Engine, type PackedSequenceOptions, type Tensor } from '../../lib/index.js';
import { OnnxParser } from '../../lib/onnx/index.js';
import { seededUniform } from '../../examples/seeded-random.js';
import { loadManifest, modelsDir } from '../fixtures/manifest.js';

export const MAX_SEQ = 24;
export const MAX_SEQS = 4;
export const BERT = 'bert_torchscript_op13.onnx';      // with token types (segment_ids) and a pooler
export const ROBERTA = 'roberta_dynamo_op18.onnx';     // without token types or a pooler
export const haveFixtures = loadManifest() !== null;

/** A packed engine from fixture `file` (maxSequenceLength 24, maxBatch 4 unless `bounds` says otherwise). */
export async function buildPackedEngine(file: string, bounds: Partial<PackedSequenceOptions> = {}): Promise<Engine> {
  const builder = new Builder({ backend: 'cpu' });
  using network = builder.createNetwork();
  OnnxParser.parse(network, new Uint8Array(fs.readFileSync(path.join(modelsDir, file))));
  const plan = await builder.build(network, builder.createConfig({ packedSequences: { maxSequenceLength: MAX_SEQ, maxBatch: MAX_SEQS, ...bounds } }));
  return Runtime.load(plan);
}

/** The BERT and RoBERTa packed engines, built before the enclosing describe's tests and disposed after them. */
export function usePackedEngines(): { bert: Engine; roberta: Engine } {
  const engines = {} as { bert: Engine; roberta: Engine };
  beforeAll(async () => {
    [engines.bert, engines.roberta] = await Promise.all([buildPackedEngine(BERT), buildPackedEngine(ROBERTA)]);
  });
  afterAll(() => {
    engines.bert.dispose();
    engines.roberta.dispose();
  });
  return engines;
}

/** One sequence: ids in [2, 62) (never RoBERTa's padding id 1), segments 0 then 1. */
export interface Sequence {
  ids: Int32Array;
  segments: Int32Array;
}

/** Seeded sequences of the given lengths. */
export function sequences(lengths: readonly number[], seed: number): Sequence[] {
  const random = seededUniform(seed);
  return lengths.map((n) => ({
    ids: Int32Array.from({ length: n }, () => 2 + Math.floor(random() * 60)),
    segments: Int32Array.from({ length: n }, (_, i) => (i >= n / 2 ? 1 : 0)),
  }));
}

/** The oracle: `s` run alone on a context of `engine` (cu_seqlens [0, L]); segments 0 when `segments` is false. */
export async function runAlone(engine: Engine, s: Sequence, segments = true): Promise<Record<string, Tensor>> {
  using ctx = engine.createContext();
  const n = s.ids.length;
  const feeds: Record<string, { data: Int32Array; shape: number[] }> = {
    input_ids: { data: s.ids, shape: [n] },
    cu_seqlens: { data: Int32Array.from([0, n]), shape: [2] },
  };
  if (engine.packedSequences!.segmentIds) feeds.segment_ids = { data: segments ? s.segments : new Int32Array(n), shape: [n] };
  return ctx.infer(feeds);
}

/** The cu_seqlens of every batch run by contexts `engine` creates from now on, in the order batches started. */
export function recordBatches(engine: Engine): Int32Array[] {
  const batches: Int32Array[] = [];
  const create = engine.createContext.bind(engine);
  engine.createContext = (options) => {
    const ctx = create(options);
    const infer = ctx.infer.bind(ctx);
    ctx.infer = (inputs) => {
      batches.push(Int32Array.from((inputs.cu_seqlens as Tensor).data as Int32Array));
      return infer(inputs);
    };
    return ctx;
  };
  return batches;
}

/** Sequence lengths of each recorded batch. */
export function batchLengths(batches: readonly Int32Array[]): number[][] {
  return batches.map((cu) => Array.from({ length: cu.length - 1 }, (_, b) => cu[b + 1]! - cu[b]!));
}
