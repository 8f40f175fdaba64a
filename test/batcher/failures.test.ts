import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferrtError, createBatcher, type Engine } from '../../lib/index.js';
import { expectClose } from '../api/helpers.js';
import {
  IN, MAX_ROWS, buildDense, buildFlat, buildPair, buildSeq, denseInput, denseReference, instrument, seqIds, seqReference,
} from './models.js';

let dense: Engine;
let seq: Engine;
let pair: Engine;

beforeAll(async () => {
  [dense, seq, pair] = await Promise.all([buildDense(), buildSeq(), buildPair()]);
});
afterAll(() => {
  for (const e of [dense, seq, pair]) e.dispose();
});

describe('batcher failures', () => {
  it('the CPU Gather rejects an out-of-range index at run time', async () => {
    using ctx = seq.createContext();
    const err = await ctx.infer({ ids: { data: new BigInt64Array([1n, 99n]), shape: [1, 2] } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InferrtError);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/out of range/) });
  });

  it('a batch failing on one request\'s data runs again request by request: only that request rejects; other batches succeed and the batcher keeps serving', async () => {
    const engine = await buildSeq();
    const rec = instrument(engine);
    const batcher = createBatcher(engine, { maxBatch: MAX_ROWS, maxDelayMs: 10 });
    const good = seqIds(1, 3, 1);
    const bad = new BigInt64Array([0n, 99n, 1n]);  // same shape, so it joins good's batch
    const other = seqIds(2, 2, 2);                  // another length: another batch
    const pending = [
      batcher.infer({ ids: { data: good, shape: [1, 3] } }),
      batcher.infer({ ids: { data: bad, shape: [1, 3] } }),
      batcher.infer({ ids: { data: other, shape: [2, 2] } }),
    ];
    const settled = await Promise.allSettled(pending);
    // The [2, 3] batch failed, then ran as good alone and bad alone (the order of the other batch may vary).
    expect(rec.shapes[0]).toEqual([2, 3]);
    expect([...rec.shapes].sort()).toEqual([[1, 3], [1, 3], [2, 2], [2, 3]].sort());
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const e1 = (settled[1] as PromiseRejectedResult).reason as InferrtError;
    expect(e1).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/out of range/) });
    const first = (settled[0] as PromiseFulfilledResult<Awaited<(typeof pending)[number]>>).value;
    expectClose(first.sum!.data as Float32Array, seqReference(good, 1, 3));
    const third = (settled[2] as PromiseFulfilledResult<Awaited<(typeof pending)[number]>>).value;
    expectClose(third.sum!.data as Float32Array, seqReference(other, 2, 2));
    expect(batcher.stats()).toMatchObject({ failed: 1, requests: 3, batches: 2, isolatedBatches: 1 });
    // Still serving, the same shape included.
    const out = await batcher.infer({ ids: { data: good, shape: [1, 3] } });
    expectClose(out.sum!.data as Float32Array, seqReference(good, 1, 3));
    await batcher.close();
    engine.dispose();
  });

  it("rejects a batch whose output axis 0 is not the batch's rows, naming the output", async () => {
    const flat = await buildFlat();
    const batcher = createBatcher(flat, { maxBatch: 4, maxDelayMs: 0 });
    const err = await batcher.infer({ x: denseInput(2, 1) }).catch((e: unknown) => e as InferrtError);
    expect(err).toBeInstanceOf(InferrtError);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/output 'flat' has shape \[8\] for a batch of 2 rows/) });
    expect(batcher.stats().failed).toBe(1);
    await batcher.close();
    flat.dispose();
  });

  it('rejects bad requests alone, before queueing, with ctx.infer-style codes', async () => {
    await using batcher = createBatcher(dense, { maxBatch: 4, maxDelayMs: 5 });
    const x = denseInput(1, 3);
    const cases: Array<[unknown, string, RegExp]> = [
      [{ x, y: x }, 'INVALID_ARGUMENT', /'y' is not an input of the engine \('y' is an output\); inputs: x/],
      [{ X: x }, 'INVALID_ARGUMENT', /'X' is not an input of the engine \(did you mean 'x'\?\)/],
      [{}, 'INVALID_ARGUMENT', /missing input 'x'; expected inputs: x/],
      [null, 'INVALID_ARGUMENT', /inputs must be an object/],
      [{ x: [1, 2, 3, 4] }, 'INVALID_ARGUMENT', /input 'x' must be a tensor \{ data, shape, dtype\? \} or a typed array, got Array/],
      [{ x: { data: new Int32Array(4), shape: [1, IN] } }, 'DTYPE_MISMATCH', /input 'x' must be float32 \(Float32Array\), got Int32Array/],
      [{ x: { ...x, dtype: 'float16' } }, 'DTYPE_MISMATCH', /got dtype 'float16'/],
      [{ x: { data: x.data, shape: [IN] } }, 'SHAPE_MISMATCH', /input 'x' must have rank 2 \[-1, 4\], got shape \[4\]/],
      [{ x: { data: new Float32Array(5), shape: [1, 5] } }, 'SHAPE_MISMATCH', /input 'x' dim 1 must be 4, got 5/],
      [{ x: { data: new Float32Array(3), shape: [1, IN] } }, 'SHAPE_MISMATCH', /has shape \[1, 4\] \(4 elements\) but its data has 3/],
      [{ x: { data: new Float32Array(0), shape: [0, IN] } }, 'SHAPE_MISMATCH', /has 0 rows .*a request must have 1 to 4 rows \(maxBatch 4\)/],
      [{ x: denseInput(5, 1) }, 'SHAPE_MISMATCH', /has 5 rows \(axis 0 of \[5, 4\]\); a request must have 1 to 4 rows/],
      [{ x: new Float32Array(6) }, 'SHAPE_MISMATCH', /bare Float32Array of 6 elements, which is not a whole number of rows of \[4\]/],
      [{ x: { data: x.data, shape: [1, -4] } }, 'INVALID_ARGUMENT', /shape of input 'x' must be an array of non-negative integers, got \[1, -4\]/],
    ];
    const goodBefore = batcher.infer({ x });
    const bad = cases.map(([inputs]) => batcher.infer(inputs as never).then(() => 'resolved', (e: unknown) => e as InferrtError));
    const goodAfter = batcher.infer({ x });
    expect(batcher.queued).toBe(2);
    const errors = await Promise.all(bad);
    errors.forEach((e, i) => {
      expect(e, `case ${i}`).toBeInstanceOf(InferrtError);
      expect((e as InferrtError).code, `case ${i}: ${(e as InferrtError).message}`).toBe(cases[i]![1]);
      expect((e as InferrtError).message, `case ${i}`).toMatch(cases[i]![2]);
      expect((e as InferrtError).message, `case ${i}`).toMatch(/^batcher\.infer: /);
    });
    for (const out of await Promise.all([goodBefore, goodAfter])) expectClose(out.y!.data as Float32Array, denseReference(x.data, 1));
    expect(batcher.stats()).toMatchObject({ requests: 2, batches: 1, failed: 0 });
  });

  it('checks the non-batch dims against the profile and the inputs against each other', async () => {
    await using seqBatcher = createBatcher(seq, { maxBatch: 4 });
    await expect(seqBatcher.infer({ ids: { data: new BigInt64Array(9), shape: [1, 9] } })).rejects.toMatchObject({
      code: 'SHAPE_MISMATCH', message: expect.stringMatching(/input 'ids' shape \[1, 9\] is outside optimization profile 0: dim 1 must be in \[1, 8\]/),
    });
    await expect(seqBatcher.infer({ ids: new BigInt64Array(3) })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT', message: expect.stringMatching(/bare BigInt64Array, but its shape \[-1, -1\] has dynamic dims besides axis 0; pass \{ data, shape \}/),
    });
    await using pairBatcher = createBatcher(pair, { maxBatch: 4 });
    await expect(pairBatcher.infer({ a: { data: new Float32Array(4), shape: [2, 2] }, b: { data: new Float32Array(2), shape: [1, 2] } })).rejects.toMatchObject({
      code: 'SHAPE_MISMATCH', message: expect.stringMatching(/input 'b' has 1 rows \(axis 0\) but 'a' has 2; every input's axis 0 is the request's row count/),
    });
    const out = await pairBatcher.infer({ a: { data: new Float32Array([1, 2]), shape: [1, 2] }, b: new Float32Array([10, 20]) });
    expect(Array.from(out.c!.data as Float32Array)).toEqual([11, 22]);
  });
});
