import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferrtError, createBatcher, type Engine } from '../../lib/index.js';
import { expectClose } from '../api/helpers.js';
import { buildDense, denseInput, denseReference, instrument } from './models.js';

let engine: Engine;

beforeAll(async () => {
  engine = await buildDense();
});
afterAll(() => engine.dispose());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Settles every promise; returns each one's outputs or error code. */
async function outcomes(pending: Array<Promise<unknown>>): Promise<string[]> {
  const settled = await Promise.allSettled(pending);
  return settled.map((s) => (s.status === 'fulfilled' ? 'ok' : (s.reason as InferrtError).code));
}

describe('batcher scheduling', () => {
  it('holds a lone request for about maxDelayMs, not before', async () => {
    await using batcher = createBatcher(engine, { maxBatch: 8, maxDelayMs: 100 });
    const t0 = performance.now();
    const done = batcher.infer({ x: denseInput(1, 1) });
    await sleep(20);
    expect(batcher.queued).toBe(1);
    expect(batcher.running).toBe(0);
    await done;
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(95);
    expect(elapsed).toBeLessThan(1000);
  });

  it('runs a full batch at once, without waiting for maxDelayMs', async () => {
    await using batcher = createBatcher(engine, { maxBatch: 2, maxDelayMs: 5000 });
    const t0 = performance.now();
    await Promise.all([batcher.infer({ x: denseInput(1, 1) }), batcher.infer({ x: denseInput(1, 2) })]);
    expect(performance.now() - t0).toBeLessThan(1000);
    // A batch is also full when the next request would not fit: 2 + 2 rows of maxBatch 3.
    await using three = createBatcher(engine, { maxBatch: 3, maxDelayMs: 5000 });
    const t1 = performance.now();
    const first = three.infer({ x: denseInput(2, 3) });
    const second = three.infer({ x: denseInput(2, 4) });
    await first;
    expect(performance.now() - t1).toBeLessThan(1000);
    expect(three.queued).toBe(1);  // the second waits for company or its delay
    void second.catch(() => {});
  });

  it('times out requests still queued after timeoutMs; the others are served', async () => {
    const slow = await buildDense();
    instrument(slow, 80);  // each batch holds its context 80 ms
    const batcher = createBatcher(slow, { maxBatch: 1, maxDelayMs: 0, timeoutMs: 25 });
    const inputs = [0, 1, 2, 3].map((i) => denseInput(1, 40 + i));
    const pending = inputs.map((t) => batcher.infer({ x: t }));
    const settled = await Promise.allSettled(pending);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected']);
    const err = (settled[1] as PromiseRejectedResult).reason as InferrtError;
    expect(err).toBeInstanceOf(InferrtError);
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toMatch(/waited 25 ms in the queue without starting \(timeoutMs 25; 1 of 1 contexts busy\)/);
    expect(batcher.stats()).toMatchObject({ timedOut: 3, requests: 1, batches: 1 });
    // Still serving.
    const t = denseInput(1, 50);
    expectClose((await batcher.infer({ x: t })).y!.data as Float32Array, denseReference(t.data, 1));
    await batcher.close();
    slow.dispose();
  });

  it('rejects requests beyond maxQueue with OVERLOADED; the others are served', async () => {
    await using batcher = createBatcher(engine, { maxBatch: 1, maxDelayMs: 0, maxQueue: 2 });
    const pending = [0, 1, 2, 3, 4].map((i) => batcher.infer({ x: denseInput(1, i) }));
    const err = await pending[2]!.catch((e: unknown) => e as InferrtError);
    expect(err).toBeInstanceOf(InferrtError);
    expect((err as InferrtError).code).toBe('OVERLOADED');
    expect((err as InferrtError).message).toMatch(/queue is full \(2 requests waiting, maxQueue 2\)/);
    expect(await outcomes(pending)).toEqual(['ok', 'ok', 'OVERLOADED', 'OVERLOADED', 'OVERLOADED']);
    expect(batcher.stats()).toMatchObject({ overloaded: 3, requests: 2 });
    // Room again once the queue drains.
    await batcher.infer({ x: denseInput(1, 9) });
  });

  it('close() runs everything queued at once, loses nothing, then refuses new requests', async () => {
    const slow = await buildDense();
    instrument(slow, 100);
    const batcher = createBatcher(slow, { maxBatch: 2, maxDelayMs: 10_000 });
    const inputs = [0, 1, 2, 3, 4].map((i) => denseInput(1, 60 + i));
    const pending = inputs.map((t) => batcher.infer({ x: t }));
    await sleep(5);
    expect(batcher.running).toBe(1);  // the first full batch; the last request would wait 10 s for company
    expect(batcher.queued).toBe(3);
    const t0 = performance.now();
    const closed = batcher.close();
    expect(batcher.close()).toBe(closed);
    const late = await batcher.infer({ x: inputs[0]! }).catch((e: unknown) => e as InferrtError);
    expect(late).toBeInstanceOf(InferrtError);
    expect((late as InferrtError).code).toBe('DISPOSED');
    expect((late as InferrtError).message).toMatch(/batcher is closed/);
    await closed;
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(await outcomes(pending)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    const outs = await Promise.all(pending);
    outs.forEach((out, i) => expectClose(out.y!.data as Float32Array, denseReference(inputs[i]!.data, 1)));
    expect(batcher.stats()).toMatchObject({ requests: 5, batches: 3 });
    expect(batcher.queued).toBe(0);
    expect(batcher.running).toBe(0);
    expect(slow.disposed).toBe(false);  // the engine is the caller's
    await batcher.close();
    await batcher[Symbol.asyncDispose]();
    slow.dispose();
  });

  it('close() on an idle batcher resolves at once', async () => {
    const batcher = createBatcher(engine, { maxBatch: 4 });
    await batcher.close();
    await expect(batcher.infer({ x: denseInput(1, 1) })).rejects.toMatchObject({ code: 'DISPOSED' });
  });
});
