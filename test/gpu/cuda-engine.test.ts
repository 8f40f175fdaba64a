/**
 * GPU suite, CUDA engines through the public API: concurrent contexts, the event loop during a large infer,
 * dynamic input shapes, typed input errors, a device-side index error, device memory over 10,000 infers, and
 * dispose. Uses the hand-built MLP of test/api/helpers.ts and a deep MatMul+tanh chain.
 * Skipped, with the reason, where the addon has no CUDA part or no GPU is visible.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Builder, DeviceBuffer, Runtime, Stream, memoryInfo, tensor, type BuilderConfigOptions, type Engine, type ExecutionContext, type NetworkDefinition, type Tensor,
} from '../../lib/index.js';
import { K, N, SEQ, VOCAB, defineMlp, expectClose, mlpInputs, mlpReference, randomFloats } from '../api/helpers.js';
import { rejection, thrown } from '../inferrt-errors.js';
import { MiB, checkAgreement, countTicks, cudaSkipReason, describeFallback, fallbackLayers, pollUntil, reportSkipped } from './helpers.js';

const D = 1024;
/** Set by scripts/gpu-suite.sh for its compute-sanitizer runs. */
const underSanitizer = process.env.INFERRT_UNDER_SANITIZER === '1';
const DEPTH = 24;
const MAX_BATCH = 8192;

/** x [batch, D] through DEPTH × (MatMul with one shared [D, D] weight, tanh): ~0.4 TFLOP at batch 8192. */
function defineChain(network: NetworkDefinition): void {
  let h = network.addInput('x', 'float32', [-1, D]);
  const scale = Math.sqrt(3 / D);  // uniform [-1, 1) has variance 1/3: keeps each pre-activation near unit variance
  const w = network.addConstant([D, D], randomFloats(D * D, 11).map((v) => v * scale), { name: 'w' });
  for (let i = 0; i < DEPTH; i++) h = network.addActivation(network.addMatrixMultiply(h, w).output(), 'tanh').output();
  network.markOutput(h, 'y');
}

async function buildCuda(define: (n: NetworkDefinition) => void, config: BuilderConfigOptions): Promise<Engine> {
  const builder = new Builder({ backend: 'cuda' });
  using network = builder.createNetwork();
  define(network);
  return Runtime.load(await builder.build(network, builder.createConfig(config)));
}

const mlpProfile = { x: { min: [1, K], opt: [4, K], max: [8, K] }, ids: { min: [1, SEQ], opt: [4, SEQ], max: [8, SEQ] } };
const chainProfile = { x: { min: [1, D], opt: [256, D], max: [MAX_BATCH, D] } };

function mlpFeeds(batch: number, seed = 7): { x: Tensor; ids: Tensor } {
  const { x, ids } = mlpInputs(batch, seed);
  return { x: tensor(x, [batch, K]), ids: tensor(ids, [batch, SEQ]) };
}

/** Checks an MLP run against the JS reference (strict fp32 on the GPU vs float64 in JS: 1e-5 relative). */
function expectMlp(out: Record<string, Tensor>, batch: number, seed = 7): void {
  const { x, ids } = mlpInputs(batch, seed);
  const ref = mlpReference(x, ids, batch);
  expect(out.probs!.shape).toEqual([batch, N]);
  expectClose(out.probs!.data as Float32Array, ref.probs);
  expect(out.flat!.shape).toEqual([batch * N]);
  expectClose(out.flat!.data as Float32Array, ref.probs);
  expect(Array.from(out.shape!.data as BigInt64Array)).toEqual([BigInt(batch), BigInt(N)]);
}

const chainInput = (batch: number, seed: number): Tensor => tensor(randomFloats(batch * D, seed), [batch, D]);

describe.skipIf(cudaSkipReason !== '')('CUDA engines through the API', () => {
  let mlp: Engine;
  let chain: Engine;
  /** Batch sizes for the chain: smaller where its MatMuls run on the CPU fallback (minutes at full size). */
  let big = MAX_BATCH;
  let mid = 256;

  beforeAll(async () => {
    mlp = await buildCuda(defineMlp, { strictFp32: true, profiles: [mlpProfile] });
    chain = await buildCuda(defineChain, { profiles: [chainProfile] });
    const fallback = fallbackLayers(chain);
    console.log(`MLP layers on the CPU fallback: ${describeFallback(fallbackLayers(mlp))}`);
    console.log(`chain layers on the CPU fallback: ${describeFallback(fallback)}`);
    if (fallback.some((l) => l.kind === 'MatMul')) [big, mid] = [64, 16];
  });
  afterAll(() => {
    mlp?.dispose();
    chain?.dispose();
  });

  it('enqueues runs on bound device buffers (setTensorAddress + enqueue) with the results of infer()', async () => {
    using ctx = chain.createContext();
    const batch = mid;
    using stream = new Stream();
    using xBuf = DeviceBuffer.alloc(batch * D * 4);
    using yBuf = DeviceBuffer.alloc(batch * D * 4);
    ctx.setInputShape('x', [batch, D]);
    ctx.setTensorAddress('x', xBuf);
    const unbound = await rejection(ctx.enqueue(stream));
    expect(unbound.code).toBe('INVALID_ARGUMENT');
    expect(unbound.message).toMatch(/output 'y' has no device buffer/);
    ctx.setTensorAddress('y', yBuf);
    // Eager, captured into a graph, then replayed: each run must read the buffer's current contents.
    for (let run = 0; run < 4; run++) {
      const x = chainInput(batch, 40 + run);
      await xBuf.upload(x.data as Float32Array, stream);
      await ctx.enqueue(stream);
      const got = await yBuf.download(new Float32Array(batch * D), stream);
      const want = (await ctx.infer({ x })).y!;
      expect(checkAgreement(want, tensor(got, [batch, D]), { relL2: 1e-5, maxRel: 1e-5, absFloor: 1e-6 }), `run ${run}`).toBeNull();
    }
    ctx.setInputShape('x', [batch * 2, D]);
    const small = await rejection(ctx.enqueue(stream));
    expect(small.code).toBe('SHAPE_MISMATCH');
    expect(small.message).toMatch(/input 'x' needs \d+ bytes/);
  });

  it('runs two contexts of one engine concurrently with the results of sequential runs', async () => {
    using a = chain.createContext();
    using b = chain.createContext();
    const [inA, inB] = [chainInput(mid, 21), chainInput(mid, 22)];
    const wantA = (await a.infer({ x: inA })).y!;
    const wantB = (await b.infer({ x: inB })).y!;
    expect(checkAgreement(wantA, wantB, { relL2: 0, maxRel: 0, absFloor: 0 }), 'different inputs give different outputs').not.toBeNull();
    const runs: Array<Promise<[string, Record<string, Tensor>]>> = [];
    for (let i = 0; i < 6; i++) {
      runs.push(a.infer({ x: inA }).then((o) => ['a', o]), b.infer({ x: inB }).then((o) => ['b', o]));
    }
    // Same kernels on the same data: equal up to reduction order (split-K may use atomics), far below any race.
    const tol = { relL2: 1e-5, maxRel: 1e-5, absFloor: 1e-7 };
    for (const [which, out] of await Promise.all(runs)) {
      expect(checkAgreement(which === 'a' ? wantA : wantB, out.y!, tol), `context ${which}`).toBeNull();
    }
    // The two contexts agree with each other too when given the same input.
    expect(checkAgreement(wantA, (await b.infer({ x: inA })).y!, tol)).toBeNull();
  });

  it('keeps the event loop ticking during a large infer', async () => {
    using ctx = chain.createContext();
    const x = chainInput(big, 5);
    await ctx.infer({ x });  // warm-up: first-run setup and graph capture for this shape
    const { result, ticks, elapsedMs } = await countTicks(() => ctx.infer({ x }));
    console.log(`event loop ticks during one infer of batch ${big} × ${DEPTH} MatMul ${D}×${D}: ${ticks} in ${elapsedMs.toFixed(1)} ms`);
    expect(result.y!.shape).toEqual([big, D]);
    expect((result.y!.data as Float32Array).every((v) => Number.isFinite(v) && Math.abs(v) <= 1)).toBe(true);
    expect(ticks).toBeGreaterThan(10);
  });

  it('changes input shapes between runs (dynamic batch)', async () => {
    using ctx = mlp.createContext();
    for (const batch of [1, 8, 3, 8, 1, 5]) expectMlp(await ctx.infer(mlpFeeds(batch, batch)), batch, batch);
    using c2 = chain.createContext();
    const small = (await c2.infer({ x: chainInput(mid, 3) })).y!;
    await c2.infer({ x: chainInput(big, 4) });
    const again = (await c2.infer({ x: chainInput(mid, 3) })).y!;
    expect(checkAgreement(small, again, { relL2: 1e-5, maxRel: 1e-5, absFloor: 1e-7 })).toBeNull();
  });

  it('rejects a bad input shape or dtype with SHAPE_MISMATCH / DTYPE_MISMATCH and stays usable', async () => {
    using ctx = mlp.createContext();
    const { x, ids } = mlpInputs(9);
    let e = await rejection(ctx.infer({ x: tensor(x, [9, K]), ids: tensor(ids, [9, SEQ]) }));
    expect(e.code).toBe('SHAPE_MISMATCH');
    expect(e.message).toContain("input 'x'");
    e = await rejection(ctx.infer({ x: { data: x.subarray(0, 2 * K), shape: [3, K] }, ids: tensor(ids.subarray(0, 3 * SEQ), [3, SEQ]) }));
    expect(e.code).toBe('SHAPE_MISMATCH');
    e = await rejection(ctx.infer({ x: tensor(x.subarray(0, 2 * K), [2, K]), ids: tensor(new Float32Array(2 * SEQ), [2, SEQ]) }));
    expect(e.code).toBe('DTYPE_MISMATCH');
    expect(e.message).toContain("input 'ids'");
    // Each input fits the profile but they disagree on the batch: found by shape resolution in the addon.
    e = await rejection(ctx.infer({ x: tensor(x.subarray(0, 2 * K), [2, K]), ids: tensor(ids.subarray(0, 3 * SEQ), [3, SEQ]) }));
    expect(e.code).toBe('SHAPE_MISMATCH');
    expectMlp(await ctx.infer(mlpFeeds(2)), 2);
  });

  it('reports an out-of-range Gather index found on the device as INVALID_ARGUMENT naming the layer', async () => {
    const gather = mlp.layers.find((l) => l.kind === 'Gather');
    expect(gather, `a Gather layer among ${mlp.layers.map((l) => l.kind).join(', ')}`).toBeDefined();
    using ctx = mlp.createContext();
    for (const bad of [BigInt(VOCAB), BigInt(-VOCAB - 1)]) {
      const { x, ids } = mlpInputs(4);
      ids[5] = bad;
      const e = await rejection(ctx.infer({ x: tensor(x, [4, K]), ids: tensor(ids, [4, SEQ]) }));
      expect(e.code, e.message).toBe('INVALID_ARGUMENT');
      expect(e.message).toContain(`'${gather!.name}'`);
      expectMlp(await ctx.infer(mlpFeeds(4)), 4);  // the context (and its device error flag) recovers
    }
  });

  // compute-sanitizer's memcheck keeps its own records in device memory as kernels and graphs launch (72 MiB over
  // this test), so free memory says nothing about inferrt there; the plain GPU suite run checks it.
  it.skipIf(underSanitizer)(`does not grow device memory over 10,000 infers of a tiny model${underSanitizer ? ' (skipped: under compute-sanitizer, whose bookkeeping uses device memory)' : ''}`, async () => {
    using ctx = mlp.createContext();
    const feeds = [mlpFeeds(2), mlpFeeds(4)];  // two shapes: a graph per shape signature, reused
    for (let i = 0; i < 100; i++) await ctx.infer(feeds[i % 2]!);
    const ctxBytes = ctx.deviceMemorySize;
    const before = memoryInfo();
    for (let i = 0; i < 10_000; i++) {
      const out = await ctx.infer(feeds[i % 2]!);
      if (i % 2500 === 0) expectMlp(out, i % 2 ? 4 : 2);
    }
    const after = memoryInfo();
    const grewMiB = (before.free - after.free) / MiB;
    console.log(`10,000 infers: device memory free before ${(before.free / MiB).toFixed(1)} MiB, after ${(after.free / MiB).toFixed(1)} MiB (grew ${grewMiB.toFixed(1)} MiB of ${(after.total / MiB).toFixed(0)}); context holds ${ctxBytes} bytes`);
    expect(ctx.deviceMemorySize, 'the context\'s own accounting').toBe(ctxBytes);
    expect(grewMiB, 'device memory in use grew (MiB)').toBeLessThan(8);
  });

  it('releases device memory on dispose', async () => {
    const cycle = async (): Promise<{ engine: Engine; contexts: ExecutionContext[] }> => {
      const engine = await buildCuda(defineChain, { profiles: [chainProfile] });
      const contexts = [engine.createContext(), engine.createContext()];
      for (const [i, ctx] of contexts.entries()) await ctx.infer({ x: chainInput(mid, i) });
      return { engine, contexts };
    };
    const settle = (target: number): Promise<number> => pollUntil(() => memoryInfo().free, (free) => free >= target);
    // Warm-up: per-process state made on first use (library handles, workspaces) stays; measure after it, once
    // the frees of the warm-up engine (done off the JS thread) had time to land (settle(Infinity) waits 5 s).
    (await cycle()).engine.dispose();
    await settle(Infinity);
    const before = memoryInfo().free;
    const { engine, contexts } = await cycle();
    const held = memoryInfo().free;
    const accounted = engine.deviceMemorySize + contexts.reduce((sum, c) => sum + c.deviceMemorySize, 0);
    console.log(`engine ${(engine.deviceMemorySize / MiB).toFixed(1)} MiB + 2 contexts ${contexts.map((c) => (c.deviceMemorySize / MiB).toFixed(1)).join(' + ')} MiB; device memory in use grew ${((before - held) / MiB).toFixed(1)} MiB`);
    expect(engine.deviceMemorySize, 'the weights live on the device').toBeGreaterThanOrEqual(D * D * 4);
    expect(before - held, 'device memory in use grew by at least what the engine and contexts report').toBeGreaterThanOrEqual(accounted - 2 * MiB);
    contexts[0]!.dispose();
    engine.dispose();  // disposes contexts[1] too
    expect((await rejection(contexts[1]!.infer({ x: chainInput(1, 1) }))).code).toBe('DISPOSED');
    expect(thrown(() => engine.createContext()).code).toBe('DISPOSED');
    const after = await settle(before - 8 * MiB);
    console.log(`after dispose: free ${(after / MiB).toFixed(1)} MiB, ${((before - after) / MiB).toFixed(1)} MiB short of before`);
    expect((before - after) / MiB, 'device memory not returned after dispose (MiB)').toBeLessThan(8);
  });
});

if (cudaSkipReason !== '') reportSkipped('CUDA engines through the API', cudaSkipReason);
