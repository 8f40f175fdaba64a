/**
 * Packed-sequence engines as the batcher sees them: `engine.packedSequences` read from the plan (inputs, profile,
 * the plugins' max_seq_len attribute, exposed on `engine.layers[i].plugin`), undefined for other engines; bad
 * single-sequence requests reject alone with INVALID_ARGUMENT naming the input while the rest of their batch
 * succeeds; maxBatch is bounded by the engine's.
 */
import { describe, expect, it } from 'vitest';
import { InferrtError, createBatcher, type BatcherInputs } from '../../lib/index.js';
import { buildDense } from './models.js';
import { MAX_SEQ, MAX_SEQS, ROBERTA, buildPackedEngine, haveFixtures, runAlone, sequences, usePackedEngines } from './packed-models.js';

describe.skipIf(!haveFixtures)('packed-sequence engines: engine.packedSequences and bad requests', () => {
  const engines = usePackedEngines();

  it('engine.packedSequences comes from the plan; the packed plugins show their attributes', async () => {
    expect(engines.bert.packedSequences).toEqual({ maxSequenceLength: MAX_SEQ, maxBatch: MAX_SEQS, maxTokens: MAX_SEQ * MAX_SEQS, segmentIds: true });
    expect(engines.roberta.packedSequences).toEqual({ maxSequenceLength: MAX_SEQ, maxBatch: MAX_SEQS, maxTokens: MAX_SEQ * MAX_SEQS, segmentIds: false });
    const plugins = engines.bert.layers.filter((l) => l.kind === 'Plugin');
    const embeddings = plugins.find((l) => l.plugin?.name === 'PackedEmbLayerNorm')!;
    expect(embeddings.plugin).toMatchObject({ version: '1', attributes: { max_seq_len: MAX_SEQ, min_seq_len: 1, position_offset: 0 } });
    expect(embeddings.plugin!.attributes).not.toHaveProperty('plugin_name');
    const attention = plugins.filter((l) => l.plugin?.name === 'PackedAttention');
    expect(attention.length).toBeGreaterThan(0);
    for (const l of attention) expect(l.plugin!.attributes).toMatchObject({ max_seq_len: MAX_SEQ, num_heads: expect.any(Number) });
    expect(plugins.every((l) => l.plugin !== undefined)).toBe(true);
    expect(engines.bert.layers.filter((l) => l.kind !== 'Plugin').every((l) => l.plugin === undefined)).toBe(true);
    // RoBERTa's positions start after its padding id.
    expect(engines.roberta.layers.find((l) => l.plugin?.name === 'PackedEmbLayerNorm')!.plugin!.attributes.position_offset).toBe(2);
    const other = await buildPackedEngine(ROBERTA, { maxSequenceLength: 10, maxBatch: 3, maxTokens: 16 });
    expect(other.packedSequences).toEqual({ maxSequenceLength: 10, maxBatch: 3, maxTokens: 16, segmentIds: false });
    other.dispose();
    expect(other.packedSequences).toEqual({ maxSequenceLength: 10, maxBatch: 3, maxTokens: 16, segmentIds: false });
  });

  it('is undefined for ordinary engines and for a packed build that kept the padded engine', async () => {
    const dense = await buildDense();
    expect(dense.packedSequences).toBeUndefined();
    dense.dispose();
    const gpt2 = await buildPackedEngine('gpt2_torchscript_op17.onnx');  // not a BERT encoder: not rewritten
    expect(gpt2.inputs.find((i) => i.name === 'input_ids')?.dims).toEqual([-1, -1]);
    expect(gpt2.packedSequences).toBeUndefined();
    gpt2.dispose();
  });

  it('bad requests reject alone, naming the input; the good ones of the same tick run and match', async () => {
    const ids = (n: number): number[] => Array.from({ length: n }, (_, i) => 2 + i);
    const bad: Array<[string, BatcherInputs, RegExp]> = [
      ['unknown input', { input_ids: ids(3), attention_mask: [1, 1, 1] }, /'attention_mask' is not an input of a packed-sequence request/],
      ['cu_seqlens given', { input_ids: ids(3), cu_seqlens: [0, 3] }, /'cu_seqlens' is made by the batcher/],
      ['no input_ids', { segment_ids: [0, 0] }, /missing input 'input_ids'/],
      ['rank 2', { input_ids: { data: ids(4), shape: [1, 4] } }, /input 'input_ids' must have rank 1, shape \[L\].*got shape \[1, 4\]/],
      ['shape and data disagree', { input_ids: { data: ids(4), shape: [5] } }, /input 'input_ids' has shape \[5\] but its data has 4 elements/],
      ['empty', { input_ids: { data: new Int32Array(0), shape: [0] } }, /input 'input_ids' is empty/],
      ['too long', { input_ids: ids(MAX_SEQ + 1) }, new RegExp(`input 'input_ids' has ${MAX_SEQ + 1} tokens, more than the engine's maxSequenceLength ${MAX_SEQ}`)],
      ['not an integer', { input_ids: [2, 3, 4.5] }, /input 'input_ids'\[2\] must be an integer id in \[0, 2\^31\), got 4\.5/],
      ['negative', { input_ids: { data: Float32Array.from([2, -1]), shape: [2] } }, /input 'input_ids'\[1\] must be an integer id/],
      ['segment_ids too short', { input_ids: ids(5), segment_ids: [0, 0, 1] }, /input 'segment_ids' has 3 ids but input_ids has 5 tokens/],
      ['bad segment id', { input_ids: ids(2), segment_ids: { data: ['0', '1'] as never, shape: [2] } }, /input 'segment_ids'\[0\] must be an integer id/],
      ['not an object', 'input_ids' as never, /inputs must be an object/],
    ];
    const seqs = sequences([5, 9, 2], 31);
    await using batcher = createBatcher(engines.bert, { maxBatch: MAX_SEQS, maxDelayMs: 10 });
    const good = seqs.map((s) => batcher.infer({ input_ids: { data: s.ids, shape: [s.ids.length] }, segment_ids: { data: s.segments, shape: [s.ids.length] } }));
    const rejected = bad.map(([, inputs]) => batcher.infer(inputs).then(() => null, (e: unknown) => e));
    const errors = await Promise.all(rejected);
    errors.forEach((err, i) => {
      const [what, , message] = bad[i]!;
      expect(err, what).toBeInstanceOf(InferrtError);
      expect((err as InferrtError).code, what).toBe('INVALID_ARGUMENT');
      expect((err as InferrtError).message, what).toMatch(message);
    });
    const outs = await Promise.all(good);
    for (let i = 0; i < seqs.length; i++) {
      const want = await runAlone(engines.bert, seqs[i]!);
      expect(outs[i]!.last_hidden_state!.data).toEqual(want.last_hidden_state!.data);
      expect(outs[i]!.pooler_output!.data).toEqual(want.pooler_output!.data);
    }
    expect(batcher.stats()).toMatchObject({ requests: 3, batches: 1, rows: 3, tokens: 16, failed: 0 });
  });

  it('an id beyond the vocabulary (caught only at run time) rejects alone: its batch runs again request by request', async () => {
    const seqs = sequences([5, 9, 2], 37);
    await using batcher = createBatcher(engines.bert, { maxBatch: MAX_SEQS, maxDelayMs: 10 });
    const oov = Int32Array.from([2, 3, 10_000_000, 4]);
    const pending = [
      batcher.infer({ input_ids: seqs[0]!.ids, segment_ids: seqs[0]!.segments }),
      batcher.infer({ input_ids: oov }),
      batcher.infer({ input_ids: seqs[1]!.ids, segment_ids: seqs[1]!.segments }),
      batcher.infer({ input_ids: seqs[2]!.ids, segment_ids: seqs[2]!.segments }),
    ];
    const settled = await Promise.allSettled(pending);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/10000000/) });
    for (const [i, s] of [[0, seqs[0]!], [2, seqs[1]!], [3, seqs[2]!]] as const) {
      const got = (settled[i] as PromiseFulfilledResult<Awaited<(typeof pending)[number]>>).value;
      const want = await runAlone(engines.bert, s);
      expect(got.last_hidden_state!.data).toEqual(want.last_hidden_state!.data);
      expect(got.pooler_output!.data).toEqual(want.pooler_output!.data);
    }
    expect(batcher.stats()).toMatchObject({ requests: 4, batches: 1, failed: 1, isolatedBatches: 1 });
  });

  it('segment_ids to an engine without them, and a sequence longer than maxTokens, reject alone', async () => {
    await using batcher = createBatcher(engines.roberta, { maxBatch: 2 });
    const err = await batcher.infer({ input_ids: [2, 3], segment_ids: [0, 0] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/'segment_ids' is not an input of the engine \(its model has no token type ids\)/) });
    const small = await buildPackedEngine(ROBERTA, { maxTokens: 16 });
    await using tight = createBatcher(small, { maxBatch: 2 });
    const long = await tight.infer({ input_ids: Array.from({ length: 17 }, () => 5) }).catch((e: unknown) => e);
    expect(long).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/has 17 tokens, more than the engine's maxTokens 16/) });
    expect((await tight.infer({ input_ids: [5, 6, 7] })).last_hidden_state!.shape[0]).toBe(3);
    await tight.close();
    small.dispose();
  });

  it("maxBatch is sequences per batch, at most the engine's maxBatch", () => {
    expect(() => createBatcher(engines.bert, { maxBatch: MAX_SEQS + 1 })).toThrow(
      new RegExp(`createBatcher: maxBatch \\(${MAX_SEQS + 1}\\) exceeds the packed-sequence engine's maxBatch ${MAX_SEQS}`),
    );
  });
});
