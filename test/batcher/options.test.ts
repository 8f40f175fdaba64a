import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferrtError, createBatcher, type Engine } from '../../lib/index.js';
import { buildMlp, expectClose } from '../api/helpers.js';
import { Runtime } from '../../lib/index.js';
import { buildDense, buildStatic, denseInput, denseReference } from './models.js';

let dense: Engine;

beforeAll(async () => {
  dense = await buildDense();
});
afterAll(() => dense.dispose());

function invalid(fn: () => unknown, message: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InferrtError);
  expect((err as InferrtError).code).toBe('INVALID_ARGUMENT');
  expect((err as InferrtError).message).toMatch(message);
}

describe('createBatcher options', () => {
  it('names the option and the value in each message', () => {
    const cases: Array<[unknown, RegExp]> = [
      [undefined, /createBatcher: options must be an object, got undefined/],
      [{}, /createBatcher: maxBatch is required/],
      [{ maxBatch: 4, maxDelay: 1 }, /createBatcher: unknown option 'maxDelay' \(did you mean 'maxDelayMs'\?\)/],
      [{ maxBatch: 4, bogus: 1 }, /unknown option 'bogus' \(known: maxBatch, maxDelayMs, contexts, maxQueue, timeoutMs, profile\)/],
      [{ maxBatch: 0 }, /createBatcher: maxBatch must be a positive integer, got 0/],
      [{ maxBatch: 2.5 }, /maxBatch must be a positive integer, got 2.5/],
      [{ maxBatch: '4' }, /maxBatch must be a positive integer, got '4'/],
      [{ maxBatch: 4, maxDelayMs: -1 }, /maxDelayMs must be a non-negative number of milliseconds, got -1/],
      [{ maxBatch: 4, maxDelayMs: Infinity }, /maxDelayMs must be a non-negative number of milliseconds, got Infinity/],
      [{ maxBatch: 4, contexts: 0 }, /contexts must be a positive integer, got 0/],
      [{ maxBatch: 4, maxQueue: -5 }, /maxQueue must be a positive integer, got -5/],
      [{ maxBatch: 4, timeoutMs: 0 }, /timeoutMs must be a positive number of milliseconds, got 0/],
      [{ maxBatch: 4, timeoutMs: NaN }, /timeoutMs must be a positive number of milliseconds, got NaN/],
      [{ maxBatch: 4, profile: 1 }, /createBatcher: profile must be an integer in \[0, 1\) \(the engine has 1 profile\), got 1/],
      [{ maxBatch: 9 }, /maxBatch \(9\) exceeds the axis-0 max of input 'x' in optimization profile 0 \(8\); use maxBatch <= 8/],
    ];
    for (const [options, message] of cases) invalid(() => createBatcher(dense, options as never), message);
  });

  it('rejects what is not a live engine', () => {
    invalid(() => createBatcher({} as never, { maxBatch: 1 }), /createBatcher: engine must be an Engine \(from Runtime.load\), got Object/);
  });

  it('rejects a disposed engine', async () => {
    const engine = await buildDense();
    engine.dispose();
    expect(() => createBatcher(engine, { maxBatch: 1 })).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
  });

  it('needs a dynamic axis 0 on every input and output', async () => {
    const fixed = await buildStatic();
    invalid(() => createBatcher(fixed, { maxBatch: 2 }), /input 'x' has a static axis 0 \[2, 4\]; the batcher stacks requests along axis 0, so every input and output needs a dynamic axis 0 \(-1\)/);
    fixed.dispose();
    const mlp = await Runtime.load(await buildMlp());  // its 'shape' output is a static [2]
    invalid(() => createBatcher(mlp, { maxBatch: 2 }), /output 'shape' has a static axis 0 \[2\]/);
    mlp.dispose();
  });

  it('takes the defaults and a chosen profile', async () => {
    await using batcher = createBatcher(dense, { maxBatch: 8, maxDelayMs: 0, contexts: 2, maxQueue: 10, timeoutMs: 1000, profile: 0 });
    expect(batcher.queued).toBe(0);
    expect(batcher.running).toBe(0);
    expect(batcher.stats()).toEqual({ requests: 0, batches: 0, rows: 0, meanBatchRows: 0, maxBatchRows: 0, tokens: 0, maxBatchTokens: 0, overloaded: 0, timedOut: 0, failed: 0, isolatedBatches: 0 });
  });

  it('runs its contexts on the chosen profile and checks maxBatch and requests against it', async () => {
    const engine = await buildDense(true);
    invalid(() => createBatcher(engine, { maxBatch: 8, profile: 1 }), /maxBatch \(8\) is below the axis-0 min of input 'x' in optimization profile 1 \(16\)/);
    invalid(() => createBatcher(engine, { maxBatch: 33, profile: 1 }), /maxBatch \(33\) exceeds the axis-0 max of input 'x' in optimization profile 1 \(32\)/);
    const batcher = createBatcher(engine, { maxBatch: 32, profile: 1, maxDelayMs: 0 });
    await expect(batcher.infer({ x: denseInput(1, 1) })).rejects.toMatchObject({
      code: 'SHAPE_MISMATCH', message: expect.stringMatching(/has 1 rows \(axis 0 of \[1, 4\]\); a request must have 16 to 32 rows \(maxBatch 32\)/),
    });
    const t = denseInput(16, 2);
    expectClose((await batcher.infer({ x: t })).y!.data as Float32Array, denseReference(t.data, 16));
    await batcher.close();
    engine.dispose();
  });
});
