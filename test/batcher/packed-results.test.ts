/**
 * The batcher over packed-sequence engines (BERT with token types and a pooler, RoBERTa without either; CPU
 * backend): concurrent single-sequence requests of mixed lengths are packed into batches within maxBatch sequences
 * and maxTokens tokens, and each request gets exactly the rows its sequence gives when run alone (bitwise: the
 * same CPU kernels), for the per-token last_hidden_state and the per-sequence pooler_output.
 */
import { describe, expect, it } from 'vitest';
import { bytesOf, createBatcher, type BatcherInputs, type Engine, type Tensor } from '../../lib/index.js';
import {
  BERT, MAX_SEQ, MAX_SEQS, ROBERTA, batchLengths, buildPackedEngine, haveFixtures, recordBatches, runAlone, sequences, usePackedEngines,
  type Sequence,
} from './packed-models.js';

/** The bits of a tensor's data, for bitwise comparison (a diff shows which words differ). */
function bits(t: Tensor): Uint32Array {
  const bytes = bytesOf(t.data);
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

/** The request for `s` in one of several forms (Int32Array, number[], BigInt64Array, bare array), by index. */
function request(s: Sequence, i: number, segments: boolean): BatcherInputs {
  const n = s.ids.length;
  const ids: BatcherInputs[string] = [
    { data: s.ids, shape: [n] },
    { data: Array.from(s.ids), shape: [n] },
    { data: BigInt64Array.from(s.ids, (v) => BigInt(v)), shape: [n] },
    Array.from(s.ids),
  ][i % 4]!;
  return segments ? { input_ids: ids, segment_ids: { data: Array.from(s.segments), shape: [n] } } : { input_ids: ids };
}

/** Each result equals its sequence run alone, bit for bit, in shape [L, H] (and [1, H] for the pooler). */
async function expectAloneRows(engine: Engine, seqs: readonly Sequence[], outs: ReadonlyArray<Record<string, Tensor>>, segmentsGiven: (i: number) => boolean): Promise<void> {
  const names = engine.outputs.map((t) => t.name).sort();
  for (let i = 0; i < seqs.length; i++) {
    const want = await runAlone(engine, seqs[i]!, segmentsGiven(i));
    const got = outs[i]!;
    expect(Object.keys(got).sort()).toEqual(names);
    const n = seqs[i]!.ids.length;
    expect(got.last_hidden_state!.shape).toEqual([n, engine.outputs[0]!.dims[1]]);
    if (names.includes('pooler_output')) expect(got.pooler_output!.shape).toEqual([1, engine.outputs[1]!.dims[1]]);
    for (const name of names) {
      expect(got[name]!.shape, `${name} of request ${i}`).toEqual(want[name]!.shape);
      expect(bits(got[name]!), `${name} of request ${i} (length ${n})`).toEqual(bits(want[name]!));
    }
  }
}

describe.skipIf(!haveFixtures)('batcher on packed-sequence engines', () => {
  const engines = usePackedEngines();

  for (const [file, label] of [[BERT, 'BERT (segment_ids, pooler_output)'], [ROBERTA, 'RoBERTa (input_ids only)']] as const) {
    it(`${label}: concurrent requests of mixed lengths get exactly their own rows, in batches of several sequences`, async () => {
      const engine = await buildPackedEngine(file);
      const withSegments = engine.packedSequences!.segmentIds;
      const batches = recordBatches(engine);
      const lengths = [1, 24, 7, 3, 16, 2, 24, 24, 5, 11, 1, 1, 9, 20, 13, 6, 24, 4, 8, 1, 17, 22, 3, 12];
      const seqs = sequences(lengths, 5);
      const segmentsGiven = (i: number): boolean => withSegments && i % 3 !== 2;  // every third leaves them out (zeros)
      await using batcher = createBatcher(engine, { maxBatch: MAX_SEQS, maxDelayMs: 5, contexts: 2 });
      const outs = await Promise.all(seqs.map((s, i) => batcher.infer(request(s, i, segmentsGiven(i)))));
      const recorded = batchLengths(batches);  // before the oracle's own runs on this engine
      await expectAloneRows(engine, seqs, outs, segmentsGiven);

      const stats = batcher.stats();
      expect(stats).toMatchObject({ requests: lengths.length, rows: lengths.length, tokens: lengths.reduce((a, b) => a + b, 0), overloaded: 0, timedOut: 0, failed: 0 });
      expect(stats.batches).toBeLessThan(lengths.length);
      expect(stats.maxBatchRows).toBeLessThanOrEqual(MAX_SEQS);
      expect(stats.maxBatchRows).toBeGreaterThan(1);
      expect(stats.maxBatchTokens).toBeLessThanOrEqual(engine.packedSequences!.maxTokens);
      // FIFO: the recorded batches hold the requests' lengths in arrival order.
      expect(recorded.flat()).toEqual(lengths);
      expect(recorded.length).toBe(stats.batches);
      await batcher.close();
      engine.dispose();
    });
  }

  it('a batch never exceeds maxTokens: a sequence that would overflow waits for the next batch', async () => {
    const engine = await buildPackedEngine(BERT, { maxTokens: 40 });
    expect(engine.packedSequences).toEqual({ maxSequenceLength: MAX_SEQ, maxBatch: MAX_SEQS, maxTokens: 40, segmentIds: true });
    const batches = recordBatches(engine);
    const lengths = [24, 20, 10, 5, 24, 1, 16, 24, 2, 2, 2, 2, 2];
    const seqs = sequences(lengths, 9);
    await using batcher = createBatcher(engine, { maxBatch: MAX_SEQS, maxDelayMs: 20 });
    const outs = await Promise.all(seqs.map((s) => batcher.infer({ input_ids: s.ids, segment_ids: s.segments })));
    const recorded = batchLengths(batches);  // before the oracle's own runs on this engine
    await expectAloneRows(engine, seqs, outs, () => true);
    // The greedy FIFO cut within 4 sequences and 40 tokens, worked out here independently of the queue.
    const want: number[][] = [];
    for (const n of lengths) {
      const last = want[want.length - 1];
      if (last && last.length < MAX_SEQS && last.reduce((a, b) => a + b, 0) + n <= 40) last.push(n);
      else want.push([n]);
    }
    expect(want).toEqual([[24], [20, 10, 5], [24, 1], [16, 24], [2, 2, 2, 2], [2]]);
    expect(recorded).toEqual(want);
    expect(batcher.stats()).toMatchObject({ batches: want.length, maxBatchTokens: 40, maxBatchRows: 4 });
    await batcher.close();
    engine.dispose();
  });

  it('a lone one-token sequence (T = B = 1) gets its rows of both outputs', async () => {
    await using batcher = createBatcher(engines.bert, { maxBatch: 1 });
    const [s] = sequences([1], 3);
    const out = await batcher.infer({ input_ids: { data: s!.ids, shape: [1] }, segment_ids: { data: s!.segments, shape: [1] } });
    await expectAloneRows(engines.bert, [s!], [out], () => true);
  });

  it(`sequences of ${MAX_SEQ} tokens, ${MAX_SEQS} to a batch, fill the engine exactly`, async () => {
    await using batcher = createBatcher(engines.roberta, { maxBatch: MAX_SEQS, maxDelayMs: 50 });
    const seqs = sequences([MAX_SEQ, MAX_SEQ, MAX_SEQ, MAX_SEQ], 21);
    const outs = await Promise.all(seqs.map((s) => batcher.infer({ input_ids: { data: s.ids, shape: [MAX_SEQ] } })));
    await expectAloneRows(engines.roberta, seqs, outs, () => false);
    expect(batcher.stats()).toMatchObject({ batches: 1, rows: MAX_SEQS, tokens: MAX_SEQ * MAX_SEQS });
  });
});
