/**
 * GPU suite, fused Convolutions (builder conv fusion: activation relu, residual input 3) on CUDA vs the CPU kernel.
 * Each case is a small network the builder fuses into one Convolution; it runs on the GPU through
 * cudnnConvolutionBiasActivationForward where cuDNN takes it (relu, or identity with IMPLICIT_PRECOMP_GEMM), else
 * through the plain convolution and the residual/relu epilogue kernel. The cases cover both and the layouts around
 * them: no bias (zeros handed to cuDNN), groups, 1-D and 3-D, asymmetric pads (the zero-padded input copy), at strict
 * fp32, TF32 and fp16, with the fixture suite's tolerances.
 * Skipped, with the reason, where the addon has no CUDA part or no GPU is visible.
 */
import { describe, expect, it } from 'vitest';
import { Builder, Runtime, tensor, type BuilderConfigOptions, type Engine, type NetworkDefinition, type Tensor } from '../../lib/index.js';
import { randomFloats } from '../api/helpers.js';
import { checkAgreement, cudaSkipReason, reportSkipped, type Tolerance } from './helpers.js';

// As in cuda-fixtures.test.ts (one convolution here, so these are loose).
const TF32_TOL: Tolerance = { relL2: 5e-3, maxRel: 2e-2, absFloor: 1e-6 };
const FP32_TOL: Tolerance = { relL2: 1e-4, maxRel: 1e-4, absFloor: 1e-6 };
const FP16_TOL: Tolerance = { relL2: 1e-2, maxRel: 5e-2, absFloor: 1e-6 };

interface Case {
  name: string;
  x: number[];  // [N, C, spatial...]
  m: number;  // output channels
  kernel: number[];
  group?: number;
  pads?: number[];
  autoPad?: 'SAME_UPPER';
  strides?: number[];
  bias?: boolean;
  tail: 'relu' | 'add' | 'addRelu';
}

const cases: Case[] = [
  { name: '3x3 + bias + relu', x: [4, 16, 28, 28], m: 32, kernel: [3, 3], pads: [1, 1, 1, 1], bias: true, tail: 'relu' },
  { name: '1x1 no bias + relu', x: [4, 32, 14, 14], m: 64, kernel: [1, 1], tail: 'relu' },
  { name: '3x3 + bias + residual + relu', x: [4, 16, 28, 28], m: 16, kernel: [3, 3], pads: [1, 1, 1, 1], bias: true, tail: 'addRelu' },
  { name: '3x3 no bias + residual + relu', x: [2, 8, 16, 16], m: 8, kernel: [3, 3], pads: [1, 1, 1, 1], tail: 'addRelu' },
  { name: '1x1 + bias + residual (identity)', x: [4, 32, 14, 14], m: 16, kernel: [1, 1], bias: true, tail: 'add' },
  { name: '1x1 no bias + residual (identity)', x: [2, 24, 8, 8], m: 24, kernel: [1, 1], tail: 'add' },
  { name: 'stride-2 7x7 + bias + relu', x: [2, 3, 64, 64], m: 8, kernel: [7, 7], pads: [3, 3, 3, 3], strides: [2, 2], bias: true, tail: 'relu' },
  { name: 'depthwise 3x3 + bias + relu', x: [2, 32, 16, 16], m: 32, kernel: [3, 3], group: 32, pads: [1, 1, 1, 1], bias: true, tail: 'relu' },
  { name: 'asymmetric pads (SAME_UPPER 2x2) + residual + relu', x: [2, 8, 9, 9], m: 8, kernel: [2, 2], autoPad: 'SAME_UPPER', bias: true, tail: 'addRelu' },
  { name: '1-D + bias + relu', x: [2, 8, 50], m: 16, kernel: [5], pads: [2, 2], bias: true, tail: 'relu' },
  { name: '3-D + bias + residual + relu', x: [2, 4, 6, 8, 8], m: 8, kernel: [3, 3, 3], pads: [1, 1, 1, 1, 1, 1], bias: true, tail: 'addRelu' },
  { name: '3-D no bias + residual (identity)', x: [1, 4, 4, 6, 6], m: 4, kernel: [3, 3, 3], pads: [1, 1, 1, 1, 1, 1], tail: 'add' },
];

/** The output dims of `c` (the residual's shape). */
function outDims(c: Case): number[] {
  const spatial = c.x.slice(2).map((d, i) => {
    const s = c.strides?.[i] ?? 1;
    if (c.autoPad) return Math.ceil(d / s);
    const pad = (c.pads?.[i] ?? 0) + (c.pads?.[i + c.kernel.length] ?? 0);
    return Math.floor((d + pad - c.kernel[i]!) / s) + 1;
  });
  return [c.x[0]!, c.m, ...spatial];
}

const numel = (d: readonly number[]): number => d.reduce((a, b) => a * b, 1);

function define(c: Case) {
  return (n: NetworkDefinition): void => {
    const x = n.addInput('x', 'float32', c.x);
    const group = c.group ?? 1;
    const wDims = [c.m, c.x[1]! / group, ...c.kernel];
    const scale = 1 / Math.sqrt(numel(wDims.slice(1)));  // keeps outputs near unit size
    const w = n.addConstant(wDims, randomFloats(numel(wDims), 41).map((v) => v * scale));
    const b = c.bias ? n.addConstant([c.m], randomFloats(c.m, 42)) : null;
    const y = n.addConvolution(x, w, b, { group, pads: c.pads, strides: c.strides, autoPad: c.autoPad }).output();
    let z = y;
    if (c.tail === 'relu') z = n.addActivation(y, 'relu').output();
    if (c.tail !== 'relu') {
      const sum = n.addElementWise(y, n.addInput('r', 'float32', outDims(c)), 'add').output();
      z = c.tail === 'addRelu' ? n.addActivation(sum, 'relu').output() : sum;
    }
    n.markOutput(z, 'z');
  };
}

async function load(c: Case, backend: 'cpu' | 'cuda', config: BuilderConfigOptions): Promise<Engine> {
  const builder = new Builder({ backend });
  using network = builder.createNetwork();
  define(c)(network);
  const plan = await builder.build(network, builder.createConfig(config));
  expect(plan.buildLog.find((l) => l.startsWith('fusion:')), 'the chain is fused').toMatch(/Conv\+/);
  return Runtime.load(plan);
}

async function run(engine: Engine, feeds: Record<string, Tensor>): Promise<Tensor> {
  using ctx = engine.createContext();
  return (await ctx.infer(feeds)).z!;
}

describe.skipIf(cudaSkipReason !== '')('fused Convolution: CUDA vs CPU', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const feeds: Record<string, Tensor> = { x: tensor(randomFloats(numel(c.x), 43), c.x) };
      if (c.tail !== 'relu') feeds.r = tensor(randomFloats(numel(outDims(c)), 44), outDims(c));
      const problems: string[] = [];
      const runs: Array<[string, BuilderConfigOptions, Tolerance]> = [
        // NCHW here: fp16 CUDA builds would go channels-last (cuda-channels-last.test.ts covers those)
        ['strict fp32', { strictFp32: true }, FP32_TOL], ['tf32', {}, TF32_TOL], ['fp16', { precision: ['fp16'], channelsLast: false }, FP16_TOL],
      ];
      for (const [label, config, tol] of runs) {
        using cpu = await load(c, 'cpu', label === 'tf32' ? { strictFp32: true } : config);
        using cuda = await load(c, 'cuda', config);
        expect(cuda.layers.map((l) => [l.kind, l.runsOn]), label).toEqual([['Convolution', 'cuda']]);
        const problem = checkAgreement(await run(cpu, feeds), await run(cuda, feeds), tol);
        if (problem) problems.push(`${label}: ${problem}`);
      }
      expect(problems).toEqual([]);
    });
  }
});

if (cudaSkipReason !== '') reportSkipped('fused Convolution: CUDA vs CPU', cudaSkipReason);
