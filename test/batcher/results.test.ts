import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatcher, type Engine, type Tensor } from '../../lib/index.js';
import { expectClose } from '../api/helpers.js';
import {
  EMB, MAX_ROWS, OUT, argmaxRows, buildDense, buildSeq, denseInput, denseReference, instrument, seqIds, seqReference,
} from './models.js';

let dense: Engine;

beforeAll(async () => {
  dense = await buildDense();
});
afterAll(() => dense.dispose());

function checkDense(out: Record<string, Tensor>, x: Float32Array, rows: number): void {
  expect(Object.keys(out).sort()).toEqual(['best', 'y']);
  expect(out.y!.shape).toEqual([rows, OUT]);
  expect(out.y!.dtype).toBe('float32');
  expectClose(out.y!.data as Float32Array, denseReference(x, rows));
  expect(out.best!.shape).toEqual([rows]);
  expect(out.best!.dtype).toBe('int64');
  expect(Array.from(out.best!.data as BigInt64Array)).toEqual(argmaxRows(out.y!.data as Float32Array, OUT));
}

describe('batcher results', () => {
  it('gives each request exactly its own rows, in FIFO batches that never exceed maxBatch', async () => {
    const engine = await buildDense();
    const rec = instrument(engine);
    const batcher = createBatcher(engine, { maxBatch: MAX_ROWS, maxDelayMs: 5 });
    const rowsOf = [1, 2, 3, 1, 3, 2, 1, 1, 2, 3, 3, 1, 2, 2, 1, 3, 1, 2, 3, 1];
    const inputs = rowsOf.map((rows, i) => denseInput(rows, 100 + i));
    const outs = await Promise.all(inputs.map((t) => batcher.infer({ x: t })));
    outs.forEach((out, i) => checkDense(out, inputs[i]!.data, rowsOf[i]!));

    // FIFO: the batches partition the requests in arrival order, each within maxBatch rows.
    const batchRows = rec.shapes.map((s) => s[0]!);
    expect(batchRows.every((r) => r <= MAX_ROWS)).toBe(true);
    let i = 0;
    for (const rows of batchRows) {
      let sum = 0;
      while (sum < rows) sum += rowsOf[i++]!;
      expect(sum).toBe(rows);
    }
    expect(i).toBe(rowsOf.length);

    const stats = batcher.stats();
    expect(stats.requests).toBe(rowsOf.length);
    expect(stats.batches).toBe(batchRows.length);
    expect(stats.batches).toBeLessThan(rowsOf.length);
    expect(stats.rows).toBe(rowsOf.reduce((a, b) => a + b, 0));
    expect(stats.meanBatchRows).toBeGreaterThan(1);
    expect(stats.maxBatchRows).toBeLessThanOrEqual(MAX_ROWS);
    expect(stats).toMatchObject({ overloaded: 0, timedOut: 0, failed: 0 });
    await batcher.close();
    engine.dispose();
  });

  it('results are copies: keeping one does not pin the batch, and callers may reuse their buffers at once', async () => {
    await using batcher = createBatcher(dense, { maxBatch: 4, maxDelayMs: 5 });
    const buf = denseInput(2, 7);
    const original = buf.data.slice();
    const first = batcher.infer({ x: buf });
    buf.data.fill(9);  // reused before the batch runs
    const second = batcher.infer({ x: buf });
    const [a, b] = await Promise.all([first, second]);
    checkDense(a!, original, 2);
    checkDense(b!, buf.data, 2);
    expect(a!.y!.data.buffer).not.toBe(b!.y!.data.buffer);
    expect(a!.y!.data.byteLength).toBe(a!.y!.data.buffer.byteLength);
  });

  it('accepts Tensors and bare typed arrays (rows from the length)', async () => {
    await using batcher = createBatcher(dense, { maxBatch: 4 });
    const t = denseInput(3, 21);
    checkDense(await batcher.infer({ x: t.data }), t.data, 3);
    checkDense(await batcher.infer({ x: { ...t, dtype: 'float32' } }), t.data, 3);
  });

  it('never mixes requests whose non-batch dims differ', async () => {
    const engine = await buildSeq();
    const rec = instrument(engine);
    const batcher = createBatcher(engine, { maxBatch: MAX_ROWS, maxDelayMs: 5 });
    const lens = [2, 3, 2, 3, 4, 2, 4, 3, 2];
    const ids = lens.map((len, i) => seqIds(1, len, i));
    const outs = await Promise.all(lens.map((len, i) => batcher.infer({ ids: { data: ids[i]!, shape: [1, len] } })));
    outs.forEach((out, i) => {
      expect(out.sum!.shape).toEqual([1, EMB]);
      expectClose(out.sum!.data as Float32Array, seqReference(ids[i]!, 1, lens[i]!));
    });
    // One batch per length: 4 of length 2, 3 of length 3, 2 of length 4, oldest key first.
    expect(rec.shapes).toEqual([[4, 2], [3, 3], [2, 4]]);
    await batcher.close();
    engine.dispose();
  });

  it('overlaps batches on several contexts, all results correct', async () => {
    const engine = await buildDense();
    const rec = instrument(engine, 20);
    const batcher = createBatcher(engine, { maxBatch: 2, contexts: 3, maxDelayMs: 0 });
    const inputs = Array.from({ length: 12 }, (_, i) => denseInput(1, 300 + i));
    const pending = inputs.map((t) => batcher.infer({ x: t }));
    expect(batcher.queued).toBe(12);
    await Promise.resolve();  // the scheduler runs once the issuing code yields
    expect(batcher.running).toBe(3);
    expect(batcher.queued).toBe(6);
    const outs = await Promise.all(pending);
    outs.forEach((out, i) => checkDense(out, inputs[i]!.data, 1));
    expect(rec.maxConcurrent).toBe(3);
    expect(batcher.stats()).toMatchObject({ batches: 6, maxBatchRows: 2, meanBatchRows: 2 });
    expect(batcher.running).toBe(0);
    await batcher.close();
    engine.dispose();
  });

  it('runs a lone request in a batch of its own', async () => {
    await using batcher = createBatcher(dense, { maxBatch: MAX_ROWS, maxDelayMs: 0 });
    const t = denseInput(1, 5);
    checkDense(await batcher.infer({ x: t }), t.data, 1);
    expect(batcher.stats()).toMatchObject({ requests: 1, batches: 1, rows: 1, meanBatchRows: 1 });
  });
});
