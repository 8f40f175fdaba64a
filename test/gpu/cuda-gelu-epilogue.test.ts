/**
 * GPU suite, tanh GELU in cuBLASLt's epilogue: a MatMul + bias + GELU built with approximateGelu (activation
 * gelu_tanh) runs the GEMM with CUBLASLT_EPILOGUE_GELU_BIAS, and a MatMul layer with activation gelu_tanh and no
 * bias (the GEMM fusion only fuses with a bias) with CUBLASLT_EPILOGUE_GELU, checked by the GEMM keys the build
 * writes to its timing cache; both agree with the CPU backend's tanh GELU in fp32, TF32 and fp16. Without the option the same network keeps exact GELU: its GEMM has the bias epilogue only and our
 * erf pass after it. Skipped, with the reason, where the addon has no CUDA part or no GPU is visible.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tensor, type BuilderConfigOptions, type Engine, type NetworkDefinition, type Tensor } from '../../lib/index.js';
import { randomFloats } from '../api/helpers.js';
import { checkAgreement, cudaSkipReason, loadNetwork, reportSkipped, type Tolerance } from './helpers.js';

const M = 96, K = 128, N = 256;
const TOL: Record<string, Tolerance> = {
  fp32: { relL2: 1e-5, maxRel: 1e-4, absFloor: 1e-6 },
  tf32: { relL2: 5e-3, maxRel: 2e-2, absFloor: 1e-6 },
  fp16: { relL2: 2e-3, maxRel: 2e-2, absFloor: 1e-3 },
};
const CONFIGS: Record<string, BuilderConfigOptions> = { fp32: { strictFp32: true }, tf32: {}, fp16: { precision: ['fp16'] } };

/**
 * x [M, K] · w [K, N] + bias then exact GELU, for approximateGelu to fuse; without bias, one MatMul layer with
 * activation gelu_tanh. Products of about ±3, where erf and tanh GELU differ by up to 5e-4.
 */
function defineGemmGelu(bias: boolean) {
  return (n: NetworkDefinition): void => {
    const x = n.addInput('x', 'float32', [M, K]);
    const w = n.addConstant([K, N], randomFloats(K * N, 71).map((v) => v * Math.sqrt(27 / K)));
    if (!bias) {
      n.markOutput(n.addLayer('MatMul', [x, w], { activation: 'gelu_tanh' }).output(), 'y');
      return;
    }
    const y = n.addElementWise(n.addMatrixMultiply(x, w).output(), n.addConstant([N], randomFloats(N, 72)), 'add').output();
    n.markOutput(n.addActivation(y, 'gelu').output(), 'y');
  };
}
const feeds: Record<string, Tensor> = { x: tensor(randomFloats(M * K, 73), [M, K]) };

async function infer(engine: Engine): Promise<Tensor> {
  using ctx = engine.createContext();
  return (await ctx.infer(feeds)).y!;
}

describe.skipIf(cudaSkipReason !== '')('tanh GELU in the cuBLASLt epilogue (approximateGelu)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'inferrt-gelu-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const bias of [true, false]) {
    for (const mode of ['fp32', 'tf32', 'fp16'] as const) {
      it(`${bias ? 'with' : 'without'} bias, ${mode}: cuBLASLt's GELU${bias ? '_BIAS' : ''} epilogue, CPU's tanh GELU`, async () => {
        const cache = path.join(dir, `${bias}-${mode}.cache`);
        const config = { ...CONFIGS[mode], approximateGelu: true };
        using cuda = await loadNetwork(defineGemmGelu(bias), 'cuda', { ...config, timingCache: cache });
        expect(cuda.layers.map((l) => `${l.kind} on ${l.runsOn}`)).toEqual(['MatMul on cuda']);
        expect(await readFile(cache, 'utf8')).toMatch(bias ? /epi=gelu_bias/ : /epi=gelu,/);
        using cpu = await loadNetwork(defineGemmGelu(bias), 'cpu', mode === 'tf32' ? { strictFp32: true, approximateGelu: true } : config);
        expect(checkAgreement(await infer(cpu), await infer(cuda), TOL[mode]!)).toBeNull();
      });
    }
  }

  it('a FullyConnected plugin layer with gelu_tanh gets a timed tactic for its GELU_BIAS GEMM, and agrees with the CPU', async () => {
    const cache = path.join(dir, 'fc.cache');
    const define = (n: NetworkDefinition): void => {
      const x = n.addInput('x', 'float32', [M, K]);
      const w = n.addConstant([K, N], randomFloats(K * N, 71).map((v) => v * Math.sqrt(27 / K)));
      const fc = n.addPlugin('FullyConnected', [x, w, n.addConstant([N], randomFloats(N, 72))], { activation: 'gelu_tanh' }, { name: 'fc' });
      n.markOutput(fc.output(), 'y');
    };
    using cuda = await loadNetwork(define, 'cuda', { precision: ['fp16'], timingCache: cache });
    expect(cuda.layers.map((l) => [l.kind, l.runsOn, l.tactic !== undefined])).toEqual([['Plugin', 'cuda', true]]);
    expect(await readFile(cache, 'utf8')).toMatch(/epi=gelu_bias/);
    using cpu = await loadNetwork(define, 'cpu', { precision: ['fp16'] });
    expect(checkAgreement(await infer(cpu), await infer(cuda), TOL.fp16!)).toBeNull();
  });

  it('without the option the GEMM keeps the bias epilogue and exact GELU, which the tanh form differs from', async () => {
    const cache = path.join(dir, 'exact.cache');
    using exact = await loadNetwork(defineGemmGelu(true), 'cuda', { strictFp32: true, timingCache: cache });
    const keys = await readFile(cache, 'utf8');
    expect(keys).toMatch(/epi=bias/);
    expect(keys).not.toMatch(/epi=gelu/);
    using cpuExact = await loadNetwork(defineGemmGelu(true), 'cpu', { strictFp32: true });
    const want = await infer(cpuExact);
    expect(checkAgreement(want, await infer(exact), TOL.fp32!)).toBeNull();
    using approximate = await loadNetwork(defineGemmGelu(true), 'cuda', { strictFp32: true, approximateGelu: true });
    const a = (await infer(approximate)).data as Float32Array, e = want.data as Float32Array;
    expect(Math.max(...a.map((v, i) => Math.abs(v - e[i]!)))).toBeGreaterThan(1e-4);
  });
});

if (cudaSkipReason !== '') reportSkipped('tanh GELU in the cuBLASLt epilogue', cudaSkipReason);
