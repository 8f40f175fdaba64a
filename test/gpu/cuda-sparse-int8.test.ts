/**
 * GPU suite, 2:4 sparse weights in INT8 engines: a QuantizedMatMul whose int8 weight is 2:4 along K runs
 * cuSPARSELt's int8 GEMM (exact int32 sums, like the dense cuBLASLt int8 GEMM) and then the same dequantizing
 * epilogue, so a sparse INT8 engine must give the dense INT8 engine's outputs bit for bit, and the CPU INT8
 * engine's. One MinMaxCalibrator serves every build (it keeps the scales of its first run), so all quantize alike.
 * Checked: which layers go sparse with 'force' (and why the others do not), outputs at the opt rows, at other rows
 * the sparse kernel tiles, and at rows it cannot tile (dense there), graph replays, fp16 + int8 engines (sums in
 * scratch, fp16 outputs), a saved and reloaded plan, a plan whose compressed weights are zeroed (the outputs
 * change: the sparse kernel really runs) and the same plan marked as compressed by another cuSPARSELt version (the
 * runtime compresses the int8 weights again: right outputs), and a `true` build that reports both timings.
 * Skipped, with the reason, where the addon has no CUDA part or no GPU is visible.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addon } from '../../lib/binding.js';
import {
  Builder, MinMaxCalibrator, Plan, Runtime, floatToHalfBits, halfBitsToFloat, tensor, type BuilderConfigOptions, type Engine, type NetworkDefinition, type Tensor,
} from '../../lib/index.js';
import { randomFloats } from '../api/helpers.js';
import { nonZero, twoFour } from '../builder/sparse-helpers.js';
import { cudaSkipReason, describeFallback, fallbackLayers, reportSkipped } from './helpers.js';

const K = 256;
const N = 512;
const OPT = 64;

/**
 * x [rows, K] -> fc1: MatMul(2:4 [K, N]) + bias + relu -> fc2: MatMul(2:4 [N, K]) + bias + GELU -> y;
 * fc3: MatMul(x, dense [K, 64]) -> z (not 2:4); fc4: MatMul(x, 2:4 [40, K] transposed) -> u (eligible, but 40
 * output features do not tile the int8 sparse kernel). Weights scaled by 1/sqrt(fan-in).
 */
function defineNetwork(n: NetworkDefinition): void {
  const x = n.addInput('x', 'float32', [-1, K]);
  const scaled = (w: Float32Array, fanIn: number) => w.map((v) => v / Math.sqrt(fanIn));
  const bias = (len: number, seed: number) => n.addConstant([len], randomFloats(len, seed).map((v) => v * 0.1));
  // The GEMM fusion names each fused layer after its activation.
  const h = n.addActivation(n.addElementWise(n.addMatrixMultiply(x, n.addConstant([K, N], scaled(twoFour([K, N], 0, 1), K))).output(), bias(N, 2), 'add').output(), 'relu', { name: 'fc1' }).output();
  const y = n.addActivation(n.addElementWise(n.addMatrixMultiply(h, n.addConstant([N, K], scaled(twoFour([N, K], 0, 3), N))).output(), bias(K, 4), 'add').output(), 'gelu', { name: 'fc2' }).output();
  n.markOutput(y, 'y');
  n.markOutput(n.addMatrixMultiply(x, n.addConstant([K, 64], scaled(nonZero(K * 64, 5), K)), { name: 'fc3' }).output(), 'z');
  n.markOutput(n.addMatrixMultiply(x, n.addConstant([40, K], scaled(twoFour([40, K], 1, 6), K)), { name: 'fc4', transposeB: true }).output(), 'u');
}
const OUTPUTS = ['y', 'z', 'u'];

const profiles = [{ x: { min: [1, K], opt: [OPT, K], max: [256, K] } }];
/** x [rows, K] in [-gain, gain). */
const feed = (rows: number, seed: number, gain = 2): Tensor => tensor(randomFloats(rows * K, seed).map((v) => v * gain), [rows, K]);
// Calibrated on values in [-2, 2); `infer` feeds values in [-3, 3), so some saturate.
const calibrator = new MinMaxCalibrator({ batches: [{ x: feed(OPT, 7) }] });

async function buildPlan(backend: 'cuda' | 'cpu', options: BuilderConfigOptions): Promise<Plan> {
  const builder = new Builder({ backend });
  using network = builder.createNetwork();
  defineNetwork(network);
  return await builder.build(network, builder.createConfig({ profiles, precision: ['int8'], int8Calibrator: calibrator, ...options }));
}

async function infer(engine: Engine, rows: number, seed = 77): Promise<Record<string, Tensor>> {
  using ctx = engine.createContext();
  return ctx.infer({ x: feed(rows, seed + rows, 3) });
}

/** Null when `actual` has `expected`'s bit patterns element for element (float32 or fp16 data), else where not. */
function bitDifference(expected: Tensor, actual: Tensor): string | null {
  if (expected.dtype !== actual.dtype || expected.shape.join() !== actual.shape.join())
    return `${actual.dtype} [${actual.shape}], expected ${expected.dtype} [${expected.shape}]`;
  const bytes = (t: Tensor) => { const d = t.data as Float32Array | Uint16Array; return new Uint8Array(d.buffer, d.byteOffset, d.byteLength); };
  const [e, a] = [bytes(expected), bytes(actual)];
  const size = (expected.data as Float32Array | Uint16Array).BYTES_PER_ELEMENT;
  let count = 0;
  let first = -1;
  for (let i = 0; i < e.length; i += size) {
    if (e.subarray(i, i + size).every((b, j) => b === a[i + j])) continue;
    count++;
    if (first < 0) first = i / size;
  }
  return count === 0 ? null : `${count} of ${e.length / size} elements differ; first at ${first}`;
}

/** The largest distance between two fp16-valued tensors, in fp16 ulps of the expected value's binade. */
function halfUlpsApart(expected: Tensor, actual: Tensor): number {
  const [e, a] = [expected.data as Float32Array, actual.data as Float32Array];
  let worst = 0;
  for (let i = 0; i < e.length; i++) {
    const ulp = 2 ** (Math.max(Math.floor(Math.log2(Math.abs(e[i]!) || 2 ** -14)), -14) - 10);
    worst = Math.max(worst, Math.abs(a[i]! - e[i]!) / ulp);
  }
  return worst;
}

function expectSameOutputs(want: Record<string, Tensor>, got: Record<string, Tensor>, what: string): void {
  for (const name of OUTPUTS) expect(bitDifference(want[name]!, got[name]!), `${name} ${what}`).toBeNull();
}

describe.skipIf(cudaSkipReason !== '')('2:4 sparse weights in INT8 engines on CUDA', () => {
  let dir = '';
  let forced: Plan;
  let sparse: Engine;
  let dense: Engine;
  let cpu: Engine;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'inferrt-sparse-int8-'));
    cpu = await Runtime.load(await buildPlan('cpu', {}));  // calibrates: the builds below reuse its scales
    dense = await Runtime.load(await buildPlan('cuda', {}));
    forced = await buildPlan('cuda', { sparseWeights: 'force' });
    sparse = await Runtime.load(forced);
  });
  afterAll(async () => {
    sparse?.dispose();
    dense?.dispose();
    cpu?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('makes the QuantizedMatMuls with 2:4 int8 weights sparse, and says why the others stay dense', () => {
    const line = forced.buildLog.find((l) => l.startsWith('sparse weights: ') && l.includes('went sparse')) ?? '';
    console.log(line);
    expect(line, forced.buildLog.join(' | ')).toMatch(/^sparse weights: 2 of 3 eligible layers went sparse/);
    expect(describeFallback(fallbackLayers(sparse)), 'every layer runs on the GPU').toBe('none');
    const int8 = sparse.layers.filter((l) => l.kind === 'QuantizedMatMul');
    expect(int8).toHaveLength(4);
    const [fc1, fc2, fc3, fc4] = ['fc1', 'fc2', 'fc3', 'fc4'].map((name) => int8.find((l) => l.name === name));
    for (const l of [fc1, fc2]) {
      expect(l?.sparsity?.sparse, JSON.stringify(int8.map((x) => [x.name, x.sparsity]))).toBe(true);
      expect(l!.sparsity!.sparseMs, l!.name).toBeGreaterThan(0);
      expect(l!.sparsity!.denseMs, l!.name).toBeGreaterThan(0);
    }
    expect(fc3?.sparsity?.eligible).toBe(false);
    expect(fc3?.sparsity?.note).toMatch(/^not 2:4/);
    expect(fc4?.sparsity).toMatchObject({ eligible: true, sparse: false });
    expect(fc4?.sparsity?.note).toMatch(/output features 40 not a multiple of 32/);
    // The compressed weights live on the device next to the dense ones (info.weightBytes counts the plan's dense
    // weights only).
    expect(sparse.deviceMemorySize).toBeGreaterThan(dense.deviceMemorySize);
    expect(dense.layers.every((l) => l.sparsity === undefined)).toBe(true);
  });

  it('gives the dense CUDA and the CPU INT8 engines\' outputs bit for bit, at the opt rows, other tiled rows and untileable rows', async () => {
    for (const rows of [OPT, 48, 256, 40, 13]) {
      const [s, d, c] = [await infer(sparse, rows), await infer(dense, rows), await infer(cpu, rows)];
      expectSameOutputs(d, s, `rows ${rows} vs dense CUDA`);
      expectSameOutputs(c, s, `rows ${rows} vs CPU`);
      expect((s.y!.data as Float32Array).some((v) => v !== 0), 'a non-trivial output').toBe(true);
    }
  });

  it('replays its CUDA graph with the sparse kernels on new inputs', async () => {
    using ctx = sparse.createContext();
    using ref = cpu.createContext();
    for (let run = 0; run < 4; run++) {
      const x = feed(OPT, 300 + run);
      expectSameOutputs(await ref.infer({ x }), await ctx.infer({ x }), `run ${run}`);
    }
  });

  it('fp16 + int8: the sums go to scratch and the outputs are fp16, the CPU engine\'s bit for bit (GELU, cuDNN within one fp16 ulp)', async () => {
    const half = await buildPlan('cuda', { precision: ['fp16', 'int8'], sparseWeights: 'force' });
    using engine = await Runtime.load(half);
    using reference = await Runtime.load(await buildPlan('cpu', { precision: ['fp16', 'int8'] }));
    expect(engine.layers.filter((l) => l.sparsity?.sparse)).toHaveLength(2);
    for (const rows of [OPT, 48, 40]) {
      const got = await infer(engine, rows);
      const want = await infer(reference, rows);
      // u bit for bit (N = 40: cuBLASLt); y has fc2's GELU, which CUDA computes in float for fp16 outputs, and z
      // (dense, K and N multiples of 16) runs cuDNN's fused int8 graph: each within one fp16 ulp.
      expect(bitDifference(want.u!, got.u!), `u fp16 + int8, rows ${rows}`).toBeNull();
      for (const name of ['y', 'z']) expect(halfUlpsApart(want[name]!, got[name]!), `${name} fp16 + int8, rows ${rows}`).toBeLessThanOrEqual(1);
      // half_output: the INT8 layers stored fp16 values.
      expect((got.y!.data as Float32Array).every((v) => halfBitsToFloat(floatToHalfBits(v)) === v), 'y holds fp16 values').toBe(true);
    }
  });

  it('a saved and reloaded plan keeps its sparse layers and gives the same outputs', async () => {
    const file = path.join(dir, 'sparse-int8.plan');
    await forced.save(file);
    using reloaded = await Runtime.load(await Plan.load(file));
    expect(reloaded.layers.map((l) => l.sparsity)).toEqual(sparse.layers.map((l) => l.sparsity));
    expectSameOutputs(await infer(sparse, OPT), await infer(reloaded, OPT), 'reloaded');
  });

  it('runs the compressed weights from the plan, or compresses the int8 weights again for another cuSPARSELt version', async () => {
    const records = addon.testing.planSparsity(forced.bytes);
    expect(records.filter((r) => r.sparse)).toHaveLength(2);
    const zeroed = (version: (v: number) => number) => records.map((r) => (r.sparse ? { ...r, cusparseLtVersion: version(r.cusparseLtVersion), compressed: new Uint8Array(r.compressed.length) } : r));
    // Zeroed compressed weights of this version: the sparse kernels run them, so y and the sums behind it change.
    using broken = await Runtime.load(addon.testing.withPlanSparsity(forced.bytes, zeroed((v) => v)));
    const [want, got] = [await infer(cpu, OPT), await infer(broken, OPT)];
    expect(bitDifference(want.y!, got.y!), 'zeroed compressed weights must change y').not.toBeNull();
    expect(bitDifference(want.z!, got.z!), 'z (dense) is unaffected').toBeNull();
    // The same bytes said to come from another version: the runtime compresses the int8 weights itself.
    using recompressed = await Runtime.load(addon.testing.withPlanSparsity(forced.bytes, zeroed((v) => v + 1)));
    expect(recompressed.layers.filter((l) => l.sparsity?.sparse)).toHaveLength(2);
    expect(recompressed.info.weightBytes).toBe(sparse.info.weightBytes);
    expectSameOutputs(want, await infer(recompressed, OPT), 'recompressed');
  });

  it('sparseWeights: true times sparse against the dense int8 GEMM and keeps the faster; either way the same bits', async () => {
    const plan = await buildPlan('cuda', { sparseWeights: true });
    console.log(plan.buildLog.filter((l) => l.startsWith('sparse weights: ')).join('\n'));
    using engine = await Runtime.load(plan);
    const timed = engine.layers.filter((l) => l.sparsity?.eligible && l.sparsity.sparseMs !== undefined);
    expect(timed, JSON.stringify(engine.layers.map((l) => l.sparsity))).toHaveLength(2);
    for (const l of timed) {
      const s = l.sparsity!;
      expect(s.sparseMs, `${l.name}: ${s.note}`).toBeGreaterThan(0);
      expect(s.denseMs, `${l.name}: ${s.note}`).toBeGreaterThan(0);
      if (s.sparse) expect(s.sparseMs! * 1.02).toBeLessThanOrEqual(s.denseMs!);
      else expect(s.note).toMatch(/^dense is faster/);
    }
    for (const rows of [OPT, 48]) expectSameOutputs(await infer(cpu, rows), await infer(engine, rows), `rows ${rows}`);
  });
});

if (cudaSkipReason !== '') reportSkipped('2:4 sparse weights in INT8 engines on CUDA', cudaSkipReason);
