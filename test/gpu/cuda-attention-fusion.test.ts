/**
 * GPU suite, the attention fusions' kernels on CUDA vs the CPU kernel: Softmax with an additive mask input
 * (softmax.cu: the mask's broadcast offsets per row, fp16/fp32 mask with fp16/fp32 x, warp and block rows, the
 * strided kernel for a non-last axis, log mode) and MatMul with alpha (cuBLASLt's alpha scalar, before the
 * cuBLASLt bias/relu epilogues and before our exact-GELU epilogue, also with one GEMM per batch index), then the
 * hand-built BERT of the benchmarks with both fusions and the Attention layers they lead to. Strict fp32, TF32
 * where a GEMM runs, and fp16, with the fixture suite's tolerances.
 * Skipped, with the reason, where the addon has no CUDA part or no GPU is visible.
 */
import { describe, expect, it } from 'vitest';
import { tensor, toFloat16Bits, type BuilderConfigOptions, type Engine, type NetworkDefinition, type Tensor } from '../../lib/index.js';
import { defineBert } from '../../bench/bert-network.js';
import { randomFloats } from '../api/helpers.js';
import { checkAgreement, cudaSkipReason, reportSkipped, type Tolerance, loadNetwork } from './helpers.js';

const TF32_TOL: Tolerance = { relL2: 5e-3, maxRel: 2e-2, absFloor: 1e-6 };
const FP32_TOL: Tolerance = { relL2: 1e-4, maxRel: 1e-4, absFloor: 1e-6 };
const FP16_TOL: Tolerance = { relL2: 1e-2, maxRel: 5e-2, absFloor: 1e-6 };

type Mode = [label: string, config: BuilderConfigOptions, tol: Tolerance];
const FP32: Mode = ['strict fp32', { strictFp32: true }, FP32_TOL];
const TF32: Mode = ['tf32', {}, TF32_TOL];
const FP16: Mode = ['fp16', { precision: ['fp16'] }, FP16_TOL];

const numel = (d: readonly number[]): number => d.reduce((a, b) => a * b, 1);

async function run(engine: Engine, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  using ctx = engine.createContext();
  return ctx.infer(feeds);
}

/** Runs `define` on the CPU (strict fp32 where `mode` is TF32) and on CUDA; returns the disagreements. */
async function compare(define: (n: NetworkDefinition) => void, feeds: Record<string, Tensor>, modes: Mode[], kinds: string[]): Promise<string[]> {
  const problems: string[] = [];
  for (const [label, config, tol] of modes) {
    using cpu = await loadNetwork(define, 'cpu', label === 'tf32' ? { strictFp32: true } : config);
    using cuda = await loadNetwork(define, 'cuda', config);
    expect(cuda.layers.map((l) => `${l.kind} on ${l.runsOn}`), label).toEqual(kinds.map((k) => `${k} on cuda`));
    const want = await run(cpu, feeds), got = await run(cuda, feeds);
    for (const name of Object.keys(want)) {
      const problem = checkAgreement(want[name]!, got[name]!, tol);
      if (problem) problems.push(`${label} ${name}: ${problem}`);
    }
  }
  return problems;
}

/** A padding-style additive mask: 0, small offsets and -10000 (every third element). */
const maskValues = (n: number, seed: number): Float32Array =>
  Float32Array.from(randomFloats(n, seed), (v, i) => (i % 3 === 2 ? -10000 : v));

interface SoftmaxCase {
  name: string;
  x: number[];
  mask: number[];
  axis?: number;
  log?: boolean;
  constantMask?: boolean;
  halfX?: boolean;  // x a float16 network input, the mask float32: the kernel reads fp16 x with an fp32 mask
}

const softmaxCases: SoftmaxCase[] = [
  { name: 'BERT padding mask [B, 1, 1, S]', x: [4, 4, 64, 64], mask: [4, 1, 1, 64] },
  { name: 'exported mask [B, 1, S, S]', x: [2, 4, 48, 48], mask: [2, 1, 48, 48] },
  { name: 'constant causal mask [S, S]', x: [2, 4, 33, 33], mask: [33, 33], constantMask: true },
  { name: 'full mask', x: [2, 3, 16, 16], mask: [2, 3, 16, 16] },
  { name: 'middle broadcast [4, 1, 6] over [3, 4, 5, 6]', x: [3, 4, 5, 6], mask: [4, 1, 6] },
  { name: 'rows above 1024 (block per row)', x: [2, 2, 3, 1500], mask: [2, 1, 1, 1500] },
  { name: 'axis 1 (strided kernel)', x: [2, 8, 5, 7], mask: [2, 8, 1, 7], axis: 1 },
  { name: 'log softmax, one-element mask', x: [3, 5, 40], mask: [1], log: true },
  { name: 'log softmax, padding mask', x: [2, 2, 20, 20], mask: [2, 1, 1, 20], log: true },
  { name: 'fp16 x with an fp32 mask', x: [2, 4, 32, 32], mask: [2, 1, 1, 32], halfX: true },
];

describe.skipIf(cudaSkipReason !== '')('masked Softmax: CUDA vs CPU', () => {
  for (const c of softmaxCases) {
    it(c.name, async () => {
      const xs = randomFloats(numel(c.x), 51).map((v) => v * 6), ms = maskValues(numel(c.mask), 52);
      const define = (n: NetworkDefinition): void => {
        const x = n.addInput('x', c.halfX ? 'float16' : 'float32', c.x);
        const mask = c.constantMask ? n.addConstant(c.mask, ms) : n.addInput('mask', 'float32', c.mask);
        n.markOutput(n.addSoftmax(x, { mask, axis: c.axis ?? -1, log: c.log }).output(), 'y');
      };
      const feeds: Record<string, Tensor> = { x: c.halfX ? tensor(toFloat16Bits(xs), c.x, 'float16') : tensor(xs, c.x) };
      if (!c.constantMask) feeds.mask = tensor(ms, c.mask);
      expect(await compare(define, feeds, c.halfX ? [FP32] : [FP32, FP16], ['Softmax'])).toEqual([]);
    });
  }
});

interface MatMulCase {
  name: string;
  a: number[];
  b: number[];
  transB?: boolean;
  bias?: boolean;
  activation?: 'relu' | 'gelu' | 'gelu_tanh';
  alpha: number;
}

const matmulCases: MatMulCase[] = [
  { name: 'attention scores q·kᵀ / 8 (strided batch)', a: [4, 4, 64, 64], b: [4, 4, 64, 64], transB: true, alpha: 0.125 },
  { name: 'alpha with a weight (batch folded into M)', a: [4, 32, 48], b: [48, 40], alpha: -0.37 },
  { name: 'alpha + bias (cuBLASLt bias epilogue)', a: [8, 64], b: [64, 96], bias: true, alpha: 0.6 },
  { name: 'alpha + bias + relu', a: [8, 64], b: [64, 96], bias: true, activation: 'relu', alpha: 1.7 },
  { name: 'alpha + bias + exact GELU (our epilogue)', a: [8, 64], b: [64, 96], bias: true, activation: 'gelu', alpha: 0.45 },
  { name: 'alpha + bias + tanh GELU (cuBLASLt GELU_BIAS epilogue)', a: [8, 64], b: [64, 96], bias: true, activation: 'gelu_tanh', alpha: 0.45 },
  { name: 'partial batch broadcast (one GEMM per batch index)', a: [2, 3, 16, 24], b: [2, 1, 24, 8], alpha: 0.3 },
];

describe.skipIf(cudaSkipReason !== '')('MatMul alpha: CUDA vs CPU', () => {
  for (const c of matmulCases) {
    it(c.name, async () => {
      const n = c.b[c.transB ? c.b.length - 2 : c.b.length - 1]!;
      const scale = 1 / Math.sqrt(c.a[c.a.length - 1]!);
      const define = (net: NetworkDefinition): void => {
        const a = net.addInput('a', 'float32', c.a), b = net.addInput('b', 'float32', c.b);
        const bias = c.bias ? net.addConstant([n], randomFloats(n, 63)) : null;
        const attrs = { transA: 0, transB: c.transB ? 1 : 0, alpha: c.alpha, activation: c.activation ?? 'none' };
        net.markOutput(net.addLayer('MatMul', bias ? [a, b, bias] : [a, b], attrs).output(), 'y');
      };
      const feeds = { a: tensor(randomFloats(numel(c.a), 61), c.a), b: tensor(randomFloats(numel(c.b), 62).map((v) => v * scale), c.b) };
      expect(await compare(define, feeds, [FP32, TF32, FP16], ['MatMul'])).toEqual([]);
    });
  }
});

describe.skipIf(cudaSkipReason !== '')('fused attention in the hand-built BERT: CUDA vs CPU', () => {
  it('2 MatMul scales and 2 masked softmaxes, then 2 Attention layers, batch 2 × sequence 24 with padding', async () => {
    const batch = 2, seq = 24;
    const range = { min: [1, 1], opt: [batch, seq], max: [batch, seq] };
    const profiles = [{ input_ids: range, attention_mask: range }];
    const ids = BigInt64Array.from({ length: batch * seq }, (_, i) => BigInt((i * 37 + 11) % 1000));
    const mask = BigInt64Array.from({ length: batch * seq }, (_, i) => (i >= seq && i % seq >= seq - 5 ? 0n : 1n));
    const feeds = { input_ids: tensor(ids, [batch, seq]), attention_mask: tensor(mask, [batch, seq]) };
    const modes: Mode[] = [FP32, TF32, FP16].map(([l, config, tol]) => [l, { ...config, profiles }, tol]);
    const problems: string[] = [];
    for (const [label, config, tol] of modes) {
      using cpu = await loadNetwork((n) => defineBert(n), 'cpu', label === 'tf32' ? { strictFp32: true, profiles } : config);
      using cuda = await loadNetwork((n) => defineBert(n), 'cuda', config);
      // The scale and masked-softmax fusions feed the attention fusion: each block ends as one Attention layer
      // reading q, k, v and the mask.
      expect(cuda.layers.filter((l) => l.kind === 'Softmax'), label).toEqual([]);
      expect(cuda.layers.filter((l) => l.kind === 'Attention').map((l) => `${l.inputs.length} inputs on ${l.runsOn}`), label)
        .toEqual(['4 inputs on cuda', '4 inputs on cuda']);
      const problem = checkAgreement((await run(cpu, feeds)).last_hidden_state!, (await run(cuda, feeds)).last_hidden_state!, tol);
      if (problem) problems.push(`${label}: ${problem}`);
    }
    expect(problems).toEqual([]);
  });
});

if (cudaSkipReason !== '') reportSkipped('attention fusions: CUDA vs CPU', cudaSkipReason);
