/**
 * GPU suite, tactic selection: a CUDA build times cuBLASLt's algorithms for each MatMul layer's GEMM at the
 * profile's opt shapes and records the fastest in the plan. Checks the build log's tactics line, the tactics on
 * engine.layers, the timing cache file written by one build and used by the next (same tactics, nothing timed),
 * a saved and reloaded plan (same tactics, same outputs), builds with timing off, and outputs against the CPU
 * backend at the opt batch (recorded algorithms) and another batch (the heuristic's).
 * Skipped, with the reason, where the addon has no CUDA part or no GPU is visible.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addon } from '../../lib/binding.js';
import {
  Builder, Plan, Runtime, cudaDevices, tensor, type BuilderConfigOptions, type Engine, type NetworkDefinition, type Tensor,
} from '../../lib/index.js';
import { randomFloats } from '../api/helpers.js';
import { checkAgreement, cudaSkipReason, reportSkipped, type Tolerance } from './helpers.js';

const SEQ = 64;
const D = 256;
const HIDDEN = 4 * D;
const OPT = 8;

/**
 * x [batch, SEQ, D] through two identical feed-forward blocks (MatMul+bias+GELU, MatMul+bias+ReLU, fused into
 * MatMul layers with epilogues; the blocks' weights differ, their GEMMs do not) and a batched x·xᵀ (a strided
 * batched GEMM): 5 MatMul layers, 3 distinct GEMMs.
 */
function defineNetwork(network: NetworkDefinition): void {
  let x = network.addInput('x', 'float32', [-1, SEQ, D]);
  for (let block = 0; block < 2; block++) {
    const w1 = network.addConstant([D, HIDDEN], randomFloats(D * HIDDEN, 10 + block).map((v) => v / Math.sqrt(D)));
    const b1 = network.addConstant([HIDDEN], randomFloats(HIDDEN, 20 + block).map((v) => v * 0.1));
    const w2 = network.addConstant([HIDDEN, D], randomFloats(HIDDEN * D, 30 + block).map((v) => v / Math.sqrt(HIDDEN)));
    const b2 = network.addConstant([D], randomFloats(D, 40 + block).map((v) => v * 0.1));
    const h = network.addActivation(network.addElementWise(network.addMatrixMultiply(x, w1).output(), b1, 'add').output(), 'gelu').output();
    x = network.addActivation(network.addElementWise(network.addMatrixMultiply(h, w2).output(), b2, 'add').output(), 'relu').output();
  }
  network.markOutput(x, 'y');
  network.markOutput(network.addMatrixMultiply(x, x, { transposeB: true }).output(), 'scores');
}

const profiles = [{ x: { min: [1, SEQ, D], opt: [OPT, SEQ, D], max: [16, SEQ, D] } }];

async function build(backend: 'cuda' | 'cpu', options: BuilderConfigOptions): Promise<Plan> {
  const builder = new Builder({ backend });
  using network = builder.createNetwork();
  defineNetwork(network);
  return builder.build(network, builder.createConfig({ profiles, ...options }));
}

async function infer(engine: Engine, batch: number): Promise<Record<string, Tensor>> {
  using ctx = engine.createContext();
  return ctx.infer({ x: tensor(randomFloats(batch * SEQ * D, 99 + batch), [batch, SEQ, D]) });
}

/** The tactics line: "tactics: 5 GEMM layers, 3 distinct GEMMs (3 timed, 0 from the timing cache) in 0.4 s; ...". */
function tacticsLine(plan: Plan): { line: string; matmuls: number; distinct: number; timed: number; cached: number } {
  const line = plan.buildLog.find((l) => l.startsWith('tactics: ')) ?? '';
  const m = /^tactics: (\d+) GEMM layers, (\d+) distinct GEMMs \((\d+) timed, (\d+) from the timing cache\) in [\d.]+ s; heuristic's first choice kept for \d+, replaced for \d+/.exec(line);
  expect(m, `build log: ${plan.buildLog.join(' | ')}`).not.toBeNull();
  return { line, matmuls: Number(m![1]), distinct: Number(m![2]), timed: Number(m![3]), cached: Number(m![4]) };
}

/** TF32 GEMMs vs the fp32 CPU reference, 5 GEMMs deep (the reasoning of cuda-fixtures.test.ts's TF32_TOL). */
const TF32_TOL: Tolerance = { relL2: 5e-3, maxRel: 2e-2, absFloor: 1e-6 };
/** The same engine's plan reloaded: the same algorithms on the same data; only split-K reduction order may vary. */
const SAME_TOL: Tolerance = { relL2: 1e-6, maxRel: 1e-5, absFloor: 1e-6 };

describe.skipIf(cudaSkipReason !== '')('tactic selection on CUDA', () => {
  let dir = '';
  let cacheFile = '';
  let first: Plan;
  let engine: Engine;
  let cpu: Engine;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'inferrt-tactics-'));
    cacheFile = path.join(dir, 'gemm.cache');
    first = await build('cuda', { timingCache: cacheFile });
    engine = await Runtime.load(first);
    cpu = await Runtime.load(await build('cpu', { strictFp32: true }));
  });
  afterAll(async () => {
    engine?.dispose();
    cpu?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('times each distinct GEMM once and records a tactic for every MatMul layer', () => {
    const { line, matmuls, distinct, timed, cached } = tacticsLine(first);
    console.log(line);
    const layers = engine.layers;
    const matmulLayers = layers.filter((l) => l.kind === 'MatMul');
    expect(matmulLayers).toHaveLength(5);
    expect(matmulLayers.every((l) => l.runsOn === 'cuda')).toBe(true);
    expect([matmuls, distinct, timed, cached]).toEqual([5, 3, 3, 0]);
    for (const l of layers) {
      if (l.kind === 'MatMul') expect(l.tactic, l.name).toMatch(/^algo -?\d+, tile [\w#]+, stages [\w#]+, split-K \d+, reduction \d+, swizzle \d+, custom \d+$/);
      else expect(l.tactic, l.name).toBeUndefined();
    }
    const records = addon.testing.planTactics(first.bytes);
    expect(records.map((r) => r.layer)).toEqual(layers.flatMap((l, i) => (l.kind === 'MatMul' ? [i] : [])));
    expect(new Set(records.map((r) => r.gemmKey)).size).toBe(3);
    for (const r of records) expect(r.timeMs).toBeGreaterThan(0);
    // The two blocks' MatMuls share GEMMs, hence algorithms.
    const byKey = new Map<string, string>();
    for (const r of records) expect(byKey.get(r.gemmKey) ?? (byKey.set(r.gemmKey, r.algo), r.algo)).toBe(r.algo);
  });

  it('writes the timing cache, and a second build takes every GEMM from it with the same tactics', async () => {
    const device = cudaDevices()[0]!;
    const entries = addon.testing.parseTimingCache(await readFile(cacheFile, 'utf8'), cacheFile);
    expect(entries).toHaveLength(3);
    const records = addon.testing.planTactics(first.bytes);
    for (const e of entries) {
      expect([e.device, e.arch]).toEqual([device.name, device.arch]);
      expect(records.find((r) => r.gemmKey === e.gemmKey)).toMatchObject({ algo: e.algo, cublasLtVersion: e.cublasLtVersion });
    }
    const second = await build('cuda', { timingCache: cacheFile });
    const stats = tacticsLine(second);
    console.log(stats.line);
    expect([stats.distinct, stats.timed, stats.cached]).toEqual([3, 0, 3]);
    expect(addon.testing.planTactics(second.bytes)).toEqual(records);
    using again = await Runtime.load(second);
    expect(again.layers.map((l) => l.tactic)).toEqual(engine.layers.map((l) => l.tactic));
  });

  it('a saved and reloaded plan has the same tactics and gives the same outputs', async () => {
    const file = path.join(dir, 'tactics.plan');
    await first.save(file);
    using reloaded = await Runtime.load(await Plan.load(file));
    expect(reloaded.layers.map((l) => l.tactic)).toEqual(engine.layers.map((l) => l.tactic));
    const [a, b] = [await infer(engine, OPT), await infer(reloaded, OPT)];
    for (const name of ['y', 'scores']) expect(checkAgreement(a[name]!, b[name]!, SAME_TOL), name).toBeNull();
  });

  it('matches the CPU backend at the opt batch (recorded algorithms) and at another batch (the heuristic)', async () => {
    for (const batch of [OPT, 3]) {
      const [gpu, ref] = [await infer(engine, batch), await infer(cpu, batch)];
      for (const name of ['y', 'scores']) expect(checkAgreement(ref[name]!, gpu[name]!, TF32_TOL), `${name} at batch ${batch}`).toBeNull();
    }
  });

  it('tacticTiming: false records no tactics and says so', async () => {
    const plan = await build('cuda', { tacticTiming: false });
    expect(plan.buildLog).toContain("tactics: timing off (tacticTiming: false); cuBLASLt's heuristic picks each GEMM's algorithm at run time");
    expect(addon.testing.planTactics(plan.bytes)).toEqual([]);
    using untuned = await Runtime.load(plan);
    expect(untuned.layers.every((l) => l.tactic === undefined)).toBe(true);
    const [gpu, ref] = [await infer(untuned, OPT), await infer(cpu, OPT)];
    for (const name of ['y', 'scores']) expect(checkAgreement(ref[name]!, gpu[name]!, TF32_TOL), name).toBeNull();
  });
});

if (cudaSkipReason !== '') reportSkipped('tactic selection on CUDA', cudaSkipReason);
