import { describe, expect, it } from 'vitest';
import { Builder, Runtime, tensor, type BuildProgress, type NetworkDefinition } from '../../lib/index.js';
import { randomFloats } from './helpers.js';

const D = 512;
const LAYERS = 8;
const BATCH = 512;

/** x [BATCH, D] through LAYERS of MatMul + tanh, plus a constant MatMul the builder can fold (weights @ weights). */
function defineHeavy(network: NetworkDefinition): void {
  let h = network.addInput('x', 'float32', [BATCH, D]);
  const a = network.addConstant([D, D], randomFloats(D * D, 5).map((v) => v / 16));
  const b = network.addConstant([D, D], randomFloats(D * D, 6).map((v) => v / 16));
  let folded = network.addMatrixMultiply(a, b).output();
  for (let i = 0; i < 5; i++) folded = network.addMatrixMultiply(folded, b).output();
  for (let i = 0; i < LAYERS; i++) {
    const w = i === 0 ? folded : network.addConstant([D, D], randomFloats(D * D, 100 + i).map((v) => v / 8));
    h = network.addActivation(network.addMatrixMultiply(h, w).output(), 'tanh').output();
  }
  network.markOutput(h, 'y');
}

/** Counts setInterval ticks and the longest gap between them while `work` runs. */
async function watchEventLoop<T>(work: () => Promise<T>): Promise<{ result: T; ticks: number; elapsed: number; maxGap: number }> {
  let ticks = 0;
  let last = performance.now();
  let maxGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    ticks++;
  }, 5);
  const start = performance.now();
  try {
    const result = await work();
    return { result, ticks, elapsed: performance.now() - start, maxGap };
  } finally {
    clearInterval(timer);
  }
}

describe('off the main thread', () => {
  it('keeps the event loop ticking during build and infer', async () => {
    const builder = new Builder({ backend: 'cpu' });
    using network = builder.createNetwork();
    defineHeavy(network);
    const progress: BuildProgress[] = [];
    const build = await watchEventLoop(() => builder.build(network, builder.createConfig(), { onProgress: (p) => progress.push(p) }));
    console.log(`build: ${build.elapsed.toFixed(0)} ms, ${build.ticks} ticks, longest gap ${build.maxGap.toFixed(0)} ms`);
    expect(build.elapsed).toBeGreaterThan(100);
    expect(build.ticks).toBeGreaterThan(5);
    expect(build.maxGap).toBeLessThan(build.elapsed / 2); // a blocked loop would show one gap as long as the build
    expect(progress.length).toBeGreaterThan(0);
    for (let i = 0; i < progress.length; i++) {
      expect(progress[i]!.fraction).toBeGreaterThanOrEqual(i === 0 ? 0 : progress[i - 1]!.fraction);
      expect(progress[i]!.fraction).toBeLessThanOrEqual(1);
      expect(typeof progress[i]!.stage).toBe('string');
    }

    using engine = await Runtime.load(build.result);
    using ctx = engine.createContext();
    const x = tensor(randomFloats(BATCH * D, 9), [BATCH, D]);
    const run = await watchEventLoop(() => ctx.infer({ x }));
    console.log(`infer: ${run.elapsed.toFixed(0)} ms, ${run.ticks} ticks, longest gap ${run.maxGap.toFixed(0)} ms`);
    expect(run.result.y!.shape).toEqual([BATCH, D]);
    expect(run.elapsed).toBeGreaterThan(100);
    expect(run.ticks).toBeGreaterThan(5);
    expect(run.maxGap).toBeLessThan(run.elapsed / 2);
  });

  it('rejects at once when the build is aborted, and fails the build when onProgress throws', async () => {
    const builder = new Builder({ backend: 'cpu' });
    using network = builder.createNetwork();
    defineHeavy(network);
    const controller = new AbortController();
    const pending = builder.build(network, builder.createConfig(), { signal: controller.signal });
    setTimeout(() => controller.abort(), 5);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await expect(builder.build(network, builder.createConfig(), { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    using small = builder.createNetwork();
    small.markOutput(small.addActivation(small.addInput('x', 'float32', [2]), 'relu').output(), 'y');
    const boom = new Error('progress bar broke');
    await expect(builder.build(small, builder.createConfig(), { onProgress: () => { throw boom; } })).rejects.toBe(boom);
  });

  it('sends the build log to the logger', async () => {
    const lines: string[] = [];
    const builder = new Builder({ backend: 'cpu', logger: (severity, message) => lines.push(`${severity}: ${message}`) });
    using network = builder.createNetwork();
    const x = network.addInput('x', 'float32', [2, 2]);
    network.markOutput(network.addActivation(x, 'relu').output(), 'y');
    const plan = await builder.build(network, builder.createConfig());
    for (const line of plan.buildLog) expect(lines).toContain(`info: ${line}`);
  });
});
