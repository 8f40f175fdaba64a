/** Batcher defects found in review: copies of Buffer inputs, and far deadlines overflowing setTimeout. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Builder, Runtime, createBatcher, type Engine } from '../../lib/index.js';
import { buildDense, denseInput } from './models.js';

let bytes: Engine;
let dense: Engine;

beforeAll(async () => {
  const builder = new Builder({ backend: 'cpu' });
  const network = builder.createNetwork();
  network.markOutput(network.addCast(network.addInput('x', 'uint8', [-1, 2]), 'float32').output(), 'y');
  const plan = await builder.build(network, builder.createConfig({ profiles: [{ x: { min: [1, 2], opt: [2, 2], max: [4, 2] } }] }));
  network.dispose();
  bytes = await Runtime.load(plan);
  dense = await buildDense();
});
afterAll(() => {
  bytes.dispose();
  dense.dispose();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('batcher hardening', () => {
  it('copies a Buffer input (whose slice() is a view), so the caller may reuse it while the request waits', async () => {
    await using batcher = createBatcher(bytes, { maxBatch: 4, maxDelayMs: 20 });
    const buf = Buffer.from([1, 2]);
    const done = batcher.infer({ x: { data: buf, shape: [1, 2] } });
    buf.fill(9);  // reused while the request waits for company
    const { y } = await done;
    expect(Array.from(y!.data as Float32Array)).toEqual([1, 2]);
  });

  it('arms no timer beyond 2^31 - 1 ms for a far deadline (Node would fire it after 1 ms, again and again)', async () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    try {
      const batcher = createBatcher(dense, { maxBatch: 8, maxDelayMs: 2 ** 32, timeoutMs: 2 ** 33 });
      const done = batcher.infer({ x: denseInput(1, 1) });
      await sleep(30);
      const armed = spy.mock.calls.map((c) => c[1] ?? 0).filter((ms) => ms !== 30);
      expect(armed.length).toBeGreaterThan(0);
      expect(armed.length).toBeLessThanOrEqual(2);
      expect(Math.max(...armed)).toBeLessThanOrEqual(2 ** 31 - 1);
      expect(batcher.queued).toBe(1);
      await batcher.close();  // runs it without waiting for maxDelayMs
      await done;
    } finally {
      spy.mockRestore();
    }
  });
});
