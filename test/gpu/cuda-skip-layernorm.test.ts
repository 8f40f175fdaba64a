/**
 * GPU suite, Normalization (mode layer) with a skip input — the builder's skip-layernorm fusion of a residual Add —
 * on CUDA vs the CPU reference kernel. Row lengths cover the warp-per-row register path (64, 768, 1024, 4096 four
 * elements per access; 1001 one by one), the general row kernel (5000; 1030, unvectorized above 1024; a scale that
 * broadcasts over the normalized dims), at strict fp32 and fp16. The fused layer must run on the GPU, and in fp16
 * give exactly the bits of the unfused Add -> Normalization on the GPU (both round the sum to fp16 before the
 * statistics). Skipped, with the reason, where the addon has no CUDA part or no GPU is visible.
 */
import { describe, expect, it } from 'vitest';
import { Builder, Runtime, tensor, type BuilderConfigOptions, type Engine, type NetworkDefinition, type Tensor } from '../../lib/index.js';
import { randomFloats } from '../api/helpers.js';
import { checkAgreement, cudaSkipReason, describeFallback, fallbackLayers, reportSkipped, type Tolerance } from './helpers.js';

// fp32: statistics in double on both sides, the output formed in float (CUDA: one fma) — a float ulp or so; fp16:
// that can flip the output's fp16 rounding (2^-11 relative).
const FP32_TOL: Tolerance = { relL2: 1e-6, maxRel: 1e-5, absFloor: 1e-6 };
const FP16_TOL: Tolerance = { relL2: 1e-3, maxRel: 2e-3, absFloor: 1e-6 };

interface Case {
  name: string;
  x: number[];  // x and skip dims
  axis?: number;  // default -1
  scale: number[];  // scale / bias dims
  stats?: boolean;  // also the Mean and InvStdDev outputs
}

const cases: Case[] = [
  ...[64, 768, 1024, 4096, 1000].map((n) => ({ name: `fast path, rows of ${n} (vectorized)`, x: [37, n], scale: [n] })),
  { name: 'fast path, rows of 1001 (element by element)', x: [37, 1001], scale: [1001] },
  { name: 'fast path, [B, S, H] rows of 768 with statistics outputs', x: [3, 5, 768], scale: [768], stats: true },
  { name: 'general path, rows of 5000', x: [9, 5000], scale: [5000], stats: true },
  { name: 'general path, rows of 1030 (unvectorized above 1024)', x: [9, 1030], scale: [1030] },
  { name: 'general path, a scale broadcast over the normalized dims [3, 64]', x: [11, 3, 64], axis: -2, scale: [64] },
];

const numel = (d: readonly number[]): number => d.reduce((a, b) => a * b, 1);

type Variant = 'skip' | 'add' | 'unfused';

/**
 * LayerNorm of x + r: 'skip' a Normalization with skip input r added by hand; 'add' an Add the builder fuses into
 * the Normalization (one output only: the builder fuses single-output layer norms); 'unfused' the Add kept by
 * exposing the sum as an output.
 */
function define(c: Case, variant: Variant) {
  return (n: NetworkDefinition): void => {
    const x = n.addInput('x', 'float32', c.x);
    const r = n.addInput('r', 'float32', c.x);
    const scale = n.addConstant(c.scale, randomFloats(numel(c.scale), 101).map((v) => v + 1));
    const bias = n.addConstant(c.scale, randomFloats(numel(c.scale), 102));
    const s = variant === 'skip' ? x : n.addElementWise(x, r, 'add').output();
    if (variant === 'unfused') n.markOutput(s, 'sum');
    const inputs = variant === 'skip' ? [x, scale, bias, null, null, r] : [s, scale, bias];
    const stats = c.stats === true && variant !== 'add';
    const layer = n.addLayer('Normalization', inputs, { mode: 'layer', axis: c.axis ?? -1, epsilon: 1e-5 }, { numOutputs: stats ? 3 : 1 });
    n.markOutput(layer.output(0), 'y');
    if (stats) {
      n.markOutput(layer.output(1), 'mean');
      n.markOutput(layer.output(2), 'invStd');
    }
  };
}

async function load(c: Case, backend: 'cpu' | 'cuda', config: BuilderConfigOptions, variant: Variant = 'skip'): Promise<Engine> {
  const builder = new Builder({ backend });
  using network = builder.createNetwork();
  define(c, variant)(network);
  return Runtime.load(await builder.build(network, builder.createConfig(config)));
}

async function run(engine: Engine, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  using ctx = engine.createContext();
  return ctx.infer(feeds);
}

describe.skipIf(cudaSkipReason !== '')('Normalization with skip (skip layernorm): CUDA vs CPU', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const problems: string[] = [];
      // Residual-stream-like data: x and r of different scales and offsets, so the sum's rounding matters.
      const feeds = {
        x: tensor(randomFloats(numel(c.x), 103).map((v) => v * 4 + 1), c.x),
        r: tensor(randomFloats(numel(c.x), 104).map((v) => v * 0.7), c.x),
      };
      const modes: Array<[string, BuilderConfigOptions, Tolerance]> = [['strict fp32', { strictFp32: true }, FP32_TOL], ['fp16', { precision: ['fp16'] }, FP16_TOL]];
      for (const [label, config, tol] of modes) {
        using cpu = await load(c, 'cpu', config);
        using cuda = await load(c, 'cuda', config);
        for (const engine of [cpu, cuda]) {
          expect(engine.layers.map((l) => l.kind), label).toEqual(['Normalization']);
          expect(engine.layers[0]!.inputs[5], label).toBe('r');
        }
        expect(describeFallback(fallbackLayers(cuda)), label).toBe('none');
        const [want, got] = [await run(cpu, feeds), await run(cuda, feeds)];
        for (const name of Object.keys(want)) {
          const problem = checkAgreement(want[name]!, got[name]!, tol);
          if (problem) problems.push(`${label} ${name}: ${problem}`);
        }
        // The builder's fusion of Add -> Normalization gives the same layer, on the GPU.
        using fusedByBuilder = await load(c, 'cuda', config, 'add');
        expect(fusedByBuilder.layers.map((l) => l.kind), label).toEqual(['Normalization']);
        expect(describeFallback(fallbackLayers(fusedByBuilder)), label).toBe('none');
        if (label === 'fp16') {
          // The unfused fp16 Add stores the sum in fp16 and the Normalization kernel reads it back: the same values
          // the fused layer normalizes, through the same kernel code.
          using unfused = await load(c, 'cuda', config, 'unfused');
          expect(unfused.layers.map((l) => l.kind)).toEqual(['ElementWise', 'Normalization']);
          const plain = await run(unfused, feeds);
          for (const name of Object.keys(want))
            expect(Array.from(got[name]!.data as Float32Array), `${label} ${name}: fused vs unfused on CUDA`).toEqual(Array.from(plain[name]!.data as Float32Array));
        }
      }
      expect(problems).toEqual([]);
    });
  }
});

if (cudaSkipReason !== '') reportSkipped('Normalization with skip (skip layernorm): CUDA vs CPU', cudaSkipReason);
