/**
 * GPU suite, 2:4 sparse weights (`sparseWeights`): MatMul layers whose constant weights are 2:4 along the
 * reduction dimension run cuSPARSELt's sparse kernels. Checks which layers the build finds eligible and makes
 * sparse (with `'force'`, so the sparse path runs whatever the timings say), the sparse engine's outputs against
 * the dense fp16 engine on the same pruned weights and against the fp32 CPU backend (at the opt rows, at other
 * rows the kernel tiles, and at a row count it cannot tile, where the dense GEMM runs), graph replays, a saved
 * and reloaded plan (compressed weights from the plan), a `true` build that keeps whichever is faster, and
 * `approximateGelu` builds (the sparse path's tanh-GELU pass, and its place in the timing).
 * Skipped, with the reason, where the addon has no CUDA part or no GPU is visible.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addon } from '../../lib/binding.js';
import {
  Builder, Plan, Runtime, floatToHalfBits, halfBitsToFloat, tensor, type BuilderConfigOptions, type Engine, type NetworkDefinition, type Tensor,
} from '../../lib/index.js';
import { randomFloats } from '../api/helpers.js';
import { checkAgreement, cudaSkipReason, reportSkipped, type Tolerance } from './helpers.js';

const K = 256;
const N = 512;
const NARROW = 64;
const OPT = 64;

/** [rows, cols] weights pruned 2:4 along `axis` (0: down each column, 1: along each row): the two largest magnitudes of every four kept. */
function twoFour(rows: number, cols: number, seed: number, axis: 0 | 1): Float32Array {
  const w = randomFloats(rows * cols, seed).map((v) => v / Math.sqrt(axis === 0 ? rows : cols));
  const vectors = axis === 0 ? cols : rows;
  const length = axis === 0 ? rows : cols;
  const at = (v: number, i: number): number => (axis === 0 ? i * cols + v : v * cols + i);
  for (let v = 0; v < vectors; v++) {
    for (let g = 0; g < length; g += 4) {
      const idx = [0, 1, 2, 3].map((j) => at(v, g + j)).sort((a, b) => Math.abs(w[b]!) - Math.abs(w[a]!));
      w[idx[2]!] = 0;
      w[idx[3]!] = 0;
    }
  }
  return w;
}

/**
 * x [rows, K]: MatMul(2:4 [K, N]) + bias + GELU, then MatMul(2:4 [N, K]) + bias + ReLU -> y; MatMul with a
 * transposed 2:4 weight [N, K] -> u; MatMul with a dense (not 2:4) weight [K, NARROW] -> z.
 */
function defineNetwork(network: NetworkDefinition): void {
  const x = network.addInput('x', 'float32', [-1, K]);
  const w1 = network.addConstant([K, N], twoFour(K, N, 1, 0));
  const b1 = network.addConstant([N], randomFloats(N, 2).map((v) => v * 0.1));
  const w2 = network.addConstant([N, K], twoFour(N, K, 3, 0));
  const b2 = network.addConstant([K], randomFloats(K, 4).map((v) => v * 0.1));
  const h = network.addActivation(network.addElementWise(network.addMatrixMultiply(x, w1).output(), b1, 'add').output(), 'gelu').output();
  const y = network.addActivation(network.addElementWise(network.addMatrixMultiply(h, w2).output(), b2, 'add').output(), 'relu').output();
  network.markOutput(y, 'y');
  const w3 = network.addConstant([N, K], twoFour(N, K, 5, 1));
  network.markOutput(network.addMatrixMultiply(x, w3, { transposeB: true }).output(), 'u');
  const w4 = network.addConstant([K, NARROW], randomFloats(K * NARROW, 6).map((v) => v / Math.sqrt(K)));
  network.markOutput(network.addMatrixMultiply(x, w4).output(), 'z');
}

const profiles = [{ x: { min: [1, K], opt: [OPT, K], max: [256, K] } }];

async function build(backend: 'cuda' | 'cpu', options: BuilderConfigOptions): Promise<Plan> {
  const builder = new Builder({ backend });
  using network = builder.createNetwork();
  defineNetwork(network);
  return builder.build(network, builder.createConfig({ profiles, ...options }));
}

async function infer(engine: Engine, rows: number): Promise<Record<string, Tensor>> {
  using ctx = engine.createContext();
  return ctx.infer({ x: tensor(randomFloats(rows * K, 77 + rows), [rows, K]) });
}

/** fp16 GEMMs (two deep for y) against the fp32 CPU reference. */
const FP16_TOL: Tolerance = { relL2: 1e-2, maxRel: 5e-2, absFloor: 1e-3 };
/** Sparse and dense fp16 kernels on the same weights: only the accumulation order differs. */
const SAME_WEIGHTS_TOL: Tolerance = { relL2: 2e-3, maxRel: 2e-2, absFloor: 1e-3 };
const OUTPUTS = ['y', 'u', 'z'];

/** w [n, k] of small integers in [-128, 127] with two of every four along k zeroed (not always the same two). */
function int8TwoFour(n: number, k: number, seed: number): Int8Array {
  const r = randomFloats(n * k, seed);
  const w = Int8Array.from(r, (v) => Math.max(-128, Math.min(127, Math.round(v * 128))));
  for (let i = 0; i < n * k; i += 4) {
    const keep = Math.floor(Math.abs(r[i]!) * 6) % 6;  // one of the six pairs of positions
    const pairs = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]][keep]!;
    for (let j = 0; j < 4; j++) if (!pairs.includes(j)) w[i + j] = 0;
  }
  return w;
}

describe.skipIf(cudaSkipReason !== '')('the cuSPARSELt GEMM itself', () => {
  it('int8 x int8 -> int32 equals the exact integer product in every kernel configuration', async () => {
    for (const [m, n, k] of [[64, 256, 256], [48, 96, 512]] as const) {
      const x = Int8Array.from(randomFloats(m * k, m + n), (v) => Math.max(-128, Math.min(127, Math.round(v * 128))));
      const w = int8TwoFour(n, k, k);
      const want = new Int32Array(m * n);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = 0;
          for (let t = 0; t < k; t++) acc += x[i * k + t]! * w[j * k + t]!;
          want[i * n + j] = acc;
        }
      }
      const first = await addon.cudaSparseGemmTest!('int8', x, w, m, n, k, -1, 0);
      expect(first.configCount, `m=${m} n=${n} k=${k}`).toBeGreaterThan(0);
      for (let config = -1; config < Math.min(first.configCount, 8); config++) {
        const { y } = config < 0 ? first : await addon.cudaSparseGemmTest!('int8', x, w, m, n, k, config, 0);
        const got = new Int32Array(y.buffer, y.byteOffset, m * n);
        let mismatches = 0;
        for (let i = 0; i < m * n; i++) if (got[i] !== want[i]) mismatches++;
        expect(mismatches, `m=${m} n=${n} k=${k} config ${config}: first ${got.slice(0, 4)} vs ${want.slice(0, 4)}`).toBe(0);
      }
    }
  });

  it('fp16 matches the product of the same fp16 values accumulated in fp64', async () => {
    const [m, n, k] = [32, 128, 256];
    const x = Uint16Array.from(randomFloats(m * k, 5), (v) => floatToHalfBits(v));
    const w = Uint16Array.from(twoFour(n, k, 6, 1), (v) => floatToHalfBits(v));  // [n, k], 2:4 along k
    const { y } = await addon.cudaSparseGemmTest!('fp16', x, w, m, n, k, -1, 0);
    const got = new Uint16Array(y.buffer, y.byteOffset, m * n);
    const want = new Float32Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let t = 0; t < k; t++) acc += halfBitsToFloat(x[i * k + t]!) * halfBitsToFloat(w[j * k + t]!);
        want[i * n + j] = acc;
      }
    }
    const gotF = Float32Array.from(got, (b) => halfBitsToFloat(b));
    expect(checkAgreement(tensor(want, [m, n]), tensor(gotF, [m, n]), { relL2: 2e-3, maxRel: 1e-2, absFloor: 1e-3 })).toBeNull();
  });

  it('rejects a weight that is not 2:4 with a typed error', async () => {
    const [m, n, k] = [16, 32, 32];
    const x = new Int8Array(m * k).fill(1);
    const w = new Int8Array(n * k).fill(1);  // dense
    await expect(addon.cudaSparseGemmTest!('int8', x, w, m, n, k, -1, 0)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/not 2:4/) });
  });
});

describe.skipIf(cudaSkipReason !== '')('2:4 sparse weights on CUDA', () => {
  let dir = '';
  let forced: Plan;
  let sparse: Engine;
  let dense: Engine;
  let cpu: Engine;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'inferrt-sparse-'));
    forced = await build('cuda', { precision: ['fp16'], sparseWeights: 'force' });
    sparse = await Runtime.load(forced);
    dense = await Runtime.load(await build('cuda', { precision: ['fp16'] }));
    cpu = await Runtime.load(await build('cpu', { strictFp32: true }));
  });
  afterAll(async () => {
    sparse?.dispose();
    dense?.dispose();
    cpu?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the 2:4 weights, makes their layers sparse and reports both timings', () => {
    const line = forced.buildLog.find((l) => l.startsWith('sparse weights: ') && l.includes('went sparse')) ?? '';
    console.log(line);
    expect(line, forced.buildLog.join(' | ')).toMatch(/^sparse weights: 3 of 3 eligible layers went sparse/);
    const matmuls = sparse.layers.filter((l) => l.kind === 'MatMul');
    expect(matmuls).toHaveLength(4);
    const sparseOnes = matmuls.filter((l) => l.sparsity?.sparse);
    expect(sparseOnes).toHaveLength(3);
    for (const l of sparseOnes) {
      expect(l.runsOn).toBe('cuda');
      expect(l.sparsity!.eligible).toBe(true);
      expect(l.sparsity!.sparseMs, l.name).toBeGreaterThan(0);
      expect(l.sparsity!.denseMs, l.name).toBeGreaterThan(0);
    }
    const other = matmuls.find((l) => !l.sparsity?.sparse)!;
    expect(other.sparsity?.eligible).toBe(false);
    expect(other.sparsity?.note).toMatch(/not 2:4/);
    // The dense build has no sparsity records.
    expect(dense.layers.every((l) => l.sparsity === undefined)).toBe(true);
  });

  it('matches the dense fp16 engine and the fp32 CPU backend at the opt rows, other tiled rows and untileable rows', async () => {
    for (const rows of [OPT, 40, 13, 256]) {
      const [s, d, c] = [await infer(sparse, rows), await infer(dense, rows), await infer(cpu, rows)];
      for (const name of OUTPUTS) {
        expect(checkAgreement(d[name]!, s[name]!, SAME_WEIGHTS_TOL), `${name} rows ${rows} vs dense`).toBeNull();
        expect(checkAgreement(c[name]!, s[name]!, FP16_TOL), `${name} rows ${rows} vs cpu`).toBeNull();
      }
    }
  });

  it('replays its CUDA graph with the sparse kernels on new inputs', async () => {
    using ctx = sparse.createContext();
    for (let run = 0; run < 4; run++) {
      const x = tensor(randomFloats(OPT * K, 300 + run), [OPT, K]);
      const got = await ctx.infer({ x });
      using ref = cpu.createContext();
      const want = await ref.infer({ x });
      for (const name of OUTPUTS) expect(checkAgreement(want[name]!, got[name]!, FP16_TOL), `${name} run ${run}`).toBeNull();
    }
  });

  it('a saved and reloaded plan keeps its sparse layers and gives the same outputs', async () => {
    const file = path.join(dir, 'sparse.plan');
    await forced.save(file);
    using reloaded = await Runtime.load(await Plan.load(file));
    expect(reloaded.layers.map((l) => l.sparsity)).toEqual(sparse.layers.map((l) => l.sparsity));
    const [a, b] = [await infer(sparse, OPT), await infer(reloaded, OPT)];
    for (const name of OUTPUTS) expect(checkAgreement(a[name]!, b[name]!, { relL2: 1e-6, maxRel: 1e-5, absFloor: 1e-6 }), name).toBeNull();
    // Compressed weights live in the plan: it is larger than the dense build's by about half the sparse weights.
    expect(forced.bytes.byteLength).toBeGreaterThan((await build('cuda', { precision: ['fp16'] })).bytes.byteLength);
  });

  it('sparseWeights: true keeps, per layer, whichever kernel its build measured faster', async () => {
    const plan = await build('cuda', { precision: ['fp16'], sparseWeights: true });
    console.log(plan.buildLog.filter((l) => l.startsWith('sparse weights: ')).join('\n'));
    using engine = await Runtime.load(plan);
    const eligible = engine.layers.filter((x) => x.sparsity?.eligible);
    expect(eligible).toHaveLength(3);
    for (const l of eligible) {
      const s = l.sparsity!;
      expect(s.sparseMs, `${l.name}: ${s.note}`).toBeGreaterThan(0);
      expect(s.denseMs, `${l.name}: ${s.note}`).toBeGreaterThan(0);
      if (s.sparse) expect(s.sparseMs! * 1.02).toBeLessThanOrEqual(s.denseMs!);
      else expect(s.note).toMatch(/dense is faster/);
    }
    const [got, want] = [await infer(engine, OPT), await infer(cpu, OPT)];
    for (const name of OUTPUTS) expect(checkAgreement(want[name]!, got[name]!, FP16_TOL), name).toBeNull();
    // Sparse was timed faster at the opt rows only: other row counts run the dense GEMMs, as the dense engine does.
    const [other, dense40] = [await infer(engine, 40), await infer(dense, 40)];
    for (const name of OUTPUTS) expect(checkAgreement(dense40[name]!, other[name]!, { relL2: 1e-6, maxRel: 1e-5, absFloor: 1e-6 }), `${name} rows 40`).toBeNull();
  });

  it('approximateGelu: the tanh-GELU layer runs sparse, and a true build counts its GELU pass in the sparse time', async () => {
    const tanh: BuilderConfigOptions = { precision: ['fp16'], approximateGelu: true };
    using sparseTanh = await Runtime.load(await build('cuda', { ...tanh, sparseWeights: 'force' }));
    using denseTanh = await Runtime.load(await build('cuda', tanh));
    using cpuTanh = await Runtime.load(await build('cpu', { approximateGelu: true }));
    expect(sparseTanh.layers.filter((l) => l.sparsity?.sparse)).toHaveLength(3);
    for (const rows of [OPT, 40]) {
      const [s, d, c] = [await infer(sparseTanh, rows), await infer(denseTanh, rows), await infer(cpuTanh, rows)];
      for (const name of OUTPUTS) {
        expect(checkAgreement(d[name]!, s[name]!, SAME_WEIGHTS_TOL), `${name} rows ${rows} vs dense`).toBeNull();
        expect(checkAgreement(c[name]!, s[name]!, FP16_TOL), `${name} rows ${rows} vs cpu`).toBeNull();
      }
    }
    const chosen = await build('cuda', { ...tanh, sparseWeights: true });
    const lines = chosen.buildLog.filter((l) => l.startsWith('sparse weights: '));
    console.log(lines.join('\n'));
    expect(lines.join('\n')).toMatch(/the sparse time of 1 layer with tanh GELU includes the GELU pass/);
  });
});

/**
 * x [batch, 64, 8, 8] (NCHW; the fp16 CUDA build makes the convolutions channels-last): a 1x1 convolution 64 -> 128
 * with bias and ReLU, a 1x1 convolution 128 -> 64 with bias plus x as residual and ReLU (fused into one layer),
 * then a 3x3 convolution 64 -> 64 (padded): all three filters 2:4 along the input channels.
 */
function defineConvNetwork(network: NetworkDefinition): void {
  const x = network.addInput('x', 'float32', [-1, 64, 8, 8]);
  const conv = (input: ReturnType<NetworkDefinition['addInput']>, out: number, inC: number, kernel: number, seed: number) => {
    const w = twoFour(out, inC * kernel * kernel, seed, 1);  // [M, C*k*k] rows; re-laid so the 2:4 groups run along C
    const filter = new Float32Array(out * inC * kernel * kernel);
    for (let m = 0; m < out; m++)
      for (let c = 0; c < inC; c++)
        for (let t = 0; t < kernel * kernel; t++) filter[(m * inC + c) * kernel * kernel + t] = w[m * inC * kernel * kernel + t * inC + c]!;
    const bias = network.addConstant([out], randomFloats(out, seed + 1).map((v) => v * 0.1));
    const pads = kernel === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0];
    return network.addConvolution(input, network.addConstant([out, inC, kernel, kernel], filter), bias, { pads }).output();
  };
  const h = network.addActivation(conv(x, 128, 64, 1, 41), 'relu').output();
  const r = network.addActivation(network.addElementWise(conv(h, 64, 128, 1, 43), x, 'add').output(), 'relu').output();
  network.markOutput(conv(r, 64, 64, 3, 45), 'y');
}

describe.skipIf(cudaSkipReason !== '')('2:4 sparse 1x1 convolutions on CUDA', () => {
  const convProfiles = [{ x: { min: [1, 64, 8, 8], opt: [2, 64, 8, 8], max: [4, 64, 8, 8] } }];
  async function buildConv(backend: 'cuda' | 'cpu', options: BuilderConfigOptions): Promise<Engine> {
    const builder = new Builder({ backend });
    using network = builder.createNetwork();
    defineConvNetwork(network);
    return Runtime.load(await builder.build(network, builder.createConfig({ profiles: convProfiles, ...options })));
  }
  async function run(engine: Engine, batch: number): Promise<Tensor> {
    using ctx = engine.createContext();
    return (await ctx.infer({ x: tensor(randomFloats(batch * 64 * 64, 500 + batch), [batch, 64, 8, 8]) })).y!;
  }

  it('runs the 1x1 convolutions (bias, residual, ReLU) on the sparse kernel and keeps the 3x3 dense, matching dense and CPU', async () => {
    using sparse = await buildConv('cuda', { precision: ['fp16'], sparseWeights: 'force' });
    using dense = await buildConv('cuda', { precision: ['fp16'] });
    using cpu = await buildConv('cpu', { strictFp32: true });
    const convs = sparse.layers.filter((l) => l.kind === 'Convolution');
    expect(convs).toHaveLength(3);
    expect(convs.every((l) => l.sparsity?.eligible), JSON.stringify(convs.map((l) => l.sparsity))).toBe(true);
    expect(convs.filter((l) => l.sparsity?.sparse)).toHaveLength(2);
    const threeByThree = convs.find((l) => !l.sparsity?.sparse)!;
    expect(threeByThree.sparsity?.note).toMatch(/only 1x1 convolutions/);
    for (const l of convs.filter((c) => c.sparsity?.sparse)) {
      expect(l.sparsity!.denseMs, l.name).toBeGreaterThan(0);
      expect(l.sparsity!.sparseMs, l.name).toBeGreaterThan(0);
    }
    for (const batch of [2, 1, 4]) {
      const [s, d, c] = [await run(sparse, batch), await run(dense, batch), await run(cpu, batch)];
      expect(checkAgreement(d, s, SAME_WEIGHTS_TOL), `batch ${batch} vs dense`).toBeNull();
      expect(checkAgreement(c, s, FP16_TOL), `batch ${batch} vs cpu`).toBeNull();
    }
  });
});

if (cudaSkipReason !== '') reportSkipped('2:4 sparse weights on CUDA', cudaSkipReason);
