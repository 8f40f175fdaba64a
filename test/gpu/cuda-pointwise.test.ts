/**
 * GPU suite, Pointwise layers (the builder's fused elementwise chains) on CUDA vs the CPU reference kernel.
 * Chains the builder fuses (SiLU, decomposed tanh-GELU, hard-swish with scalar constants, per-channel [C, 1, 1]
 * constants, broadcast graph inputs, a branch) and hand-written programs using every op, at sizes that exercise
 * each kernel path: the flat path four elements per access (large, and not a multiple of four), the flat path one
 * by one (fewer than four elements), and the broadcast path. Strict fp32 (same scalar math as the unfused
 * kernels, so only double-function ulps differ) and fp16 (both backends round inputs and the output to fp16 and
 * compute in fp32 between). Skipped, with the reason, where the addon has no CUDA part or no GPU is visible.
 */
import { describe, expect, it } from 'vitest';
import { Builder, Runtime, tensor, type BuilderConfigOptions, type Engine, type NetworkDefinition, type NetworkTensor, type Tensor } from '../../lib/index.js';
import { randomFloats } from '../api/helpers.js';
import { checkAgreement, cudaSkipReason, reportSkipped, type Tolerance } from './helpers.js';

// fp32: the Unary/Activation kernels' double functions differ from glibc's by an ulp or two, rarely moving a
// float rounding; fp16: such a move can flip one fp16 rounding of the output (2^-11 relative).
const FP32_TOL: Tolerance = { relL2: 1e-5, maxRel: 1e-4, absFloor: 1e-6 };
const FP16_TOL: Tolerance = { relL2: 2e-3, maxRel: 1e-2, absFloor: 1e-6 };

const numel = (d: readonly number[]): number => d.reduce((a, b) => a * b, 1);
const scalar = (n: NetworkDefinition, v: number): NetworkTensor => n.addConstant([], new Float32Array([v]));

interface Case {
  name: string;
  /** Builds the chain on input x (and y, shaped yDims(xDims), when given); returns the outputs. */
  build: (n: NetworkDefinition, x: NetworkTensor, y: NetworkTensor | null) => NetworkTensor[];
  yDims?: (x: number[]) => number[];
  pointwise: number;  // Pointwise layers expected
}

// Hand-written programs that between them use every op. Each op reads a graph input or a well-conditioned value
// (asin/acos/atanh of sin(x) / 2, acosh of cosh + 1/2), so an ulp of difference before it cannot grow into a large
// one; discontinuous ops (floor, ceil, round, sign, mod, fmod, thresholded_relu) read graph inputs only.
// x0 = x in [-3, 3], x1 = 0.5.
const trig = 't0=sin(x0); t1=mul(t0,x1); t2=asin(t1); t3=acos(t1); t4=atanh(t1); t5=tan(t0); t6=atan(t5); ' +
  't7=cos(x0); t8=sinh(t0); t9=asinh(t8); t10=cosh(t0); t11=add(t10,x1); t12=acosh(t11); t13=erf(x0); t14=exp(t0); ' +
  't15=floor(x0); t16=ceil(x0); t17=round(x0); t18=sign(x0); t19=add(t2,t3); t20=sub(t19,t4); t21=add(t20,t6); ' +
  't22=add(t21,t7); t23=add(t22,t9); t24=add(t23,t12); t25=add(t24,t13); t26=add(t25,t14); t27=add(t26,t15); ' +
  't28=add(t27,t16); t29=sub(t28,t17); t30=add(t29,t18)';
// x0 = x, x1 = y in [0.25, 2.25], broadcast from [C, ...].
const arithmetic = 't0=log(x1); t1=sqrt(x1); t2=reciprocal(x1); t3=abs(x0); t4=neg(t3); t5=pow(x1,x0); t6=max(x0,x1); ' +
  't7=min(x0,x1); t8=prelu(x0,x1); t9=mod(x0,x1); t10=fmod(x0,x1); t11=div(x0,x1); t12=mul(x0,x1); t13=add(t0,t1); ' +
  't14=sub(t13,t2); t15=add(t14,t4); t16=add(t15,t5); t17=sub(t16,t6); t18=add(t17,t7); t19=add(t18,t8); ' +
  't20=add(t19,t9); t21=add(t20,t10); t22=add(t21,t11); t23=add(t22,t12)';
// x0 = x.
const activations = 't0=relu(x0); t1=sigmoid(x0); t2=leaky_relu[alpha=0.3](x0); t3=elu[alpha=0.7](x0); t4=selu(x0); ' +
  't5=clip[alpha=-0.25,beta=0.5](x0); t6=hard_sigmoid[alpha=0.25,beta=0.4](x0); t7=hard_swish(x0); t8=softplus(x0); ' +
  't9=softsign(x0); t10=gelu(x0); t11=gelu[approximate=tanh](x0); t12=thresholded_relu[alpha=0.2](x0); ' +
  't13=celu[alpha=1.5](x0); t14=mish(x0); t15=add(t0,t1); t16=add(t15,t2); t17=add(t16,t3); t18=add(t17,t4); ' +
  't19=add(t18,t5); t20=add(t19,t6); t21=add(t20,t7); t22=add(t21,t8); t23=add(t22,t9); t24=add(t23,t10); ' +
  't25=add(t24,t11); t26=add(t25,t12); t27=add(t26,t13); t28=add(t27,t14)';

const cases: Case[] = [
  { name: 'SiLU x * sigmoid(x)', pointwise: 1, build: (n, x) => [n.addElementWise(x, n.addActivation(x, 'sigmoid').output(), 'mul').output()] },
  {
    name: 'decomposed tanh-GELU', pointwise: 1, build: (n, x) => {
      const cube = n.addElementWise(x, scalar(n, 3), 'pow').output();
      const inner = n.addElementWise(x, n.addElementWise(cube, scalar(n, 0.044715), 'mul').output(), 'add').output();
      const t = n.addActivation(n.addElementWise(inner, scalar(n, Math.sqrt(2 / Math.PI)), 'mul').output(), 'tanh').output();
      const xo = n.addElementWise(x, n.addElementWise(t, scalar(n, 1), 'add').output(), 'mul').output();
      return [n.addElementWise(xo, scalar(n, 0.5), 'mul').output()];
    },
  },
  {
    name: 'hard-swish x * clip(x + 3, 0, 6) / 6 (scalar constants)', pointwise: 1, build: (n, x) => {
      const c = n.addActivation(n.addElementWise(x, scalar(n, 3), 'add').output(), 'clip', { alpha: 0, beta: 6 }).output();
      return [n.addElementWise(n.addElementWise(x, c, 'mul').output(), scalar(n, 6), 'div').output()];
    },
  },
  {
    name: 'per-channel [C, 1, 1] scale and shift, relu (broadcast path)', pointwise: 1, build: (n, x) => {
      const c = x.dims[1]!;
      const scale = n.addConstant([c, 1, 1], randomFloats(c, 51));
      const shift = n.addConstant([c, 1, 1], randomFloats(c, 52));
      const m = n.addElementWise(x, scale, 'mul').output();
      return [n.addActivation(n.addElementWise(m, shift, 'add').output(), 'relu').output()];
    },
  },
  {
    name: 'a branch t * sigmoid(t), t = x + y', pointwise: 1, yDims: (d) => d, build: (n, x, y) => {
      const t = n.addElementWise(x, y!, 'add').output();
      return [n.addElementWise(t, n.addActivation(t, 'sigmoid').output(), 'mul').output()];
    },
  },
  {
    name: 'broadcast graph inputs [N, 1, ...] with [1, C, 1...]', pointwise: 1,
    yDims: (d) => d.map((v, i) => (i === 1 ? v : 1)),
    build: (n, x, y) => {
      const xs = n.addReduce(x, 'mean', { axes: [1], keepDims: true }).output();  // [N, 1, ...]
      const e = n.addUnary(n.addElementWise(xs, y!, 'sub').output(), 'exp').output();
      return [n.addElementWise(e, y!, 'mul').output()];
    },
  },
  {
    name: 'every op (hand-written programs)', pointwise: 3, yDims: (d) => d.slice(1), build: (n, x, y) => [
      n.addLayer('Pointwise', [x, scalar(n, 0.5)], { program: trig }).output(),
      n.addLayer('Pointwise', [x, y!], { program: arithmetic }).output(),
      n.addLayer('Pointwise', [x], { program: activations }).output(),
    ],
  },
];

// A large flat size that is not a multiple of 4, a small odd one, and one of fewer than 4 elements.
const sizes: number[][] = [[3, 31, 61, 67], [3, 5, 7, 11], [1, 3, 1, 1]];

function define(c: Case, dims: number[]) {
  return (n: NetworkDefinition): void => {
    const x = n.addInput('x', 'float32', dims);
    const y = c.yDims ? n.addInput('y', 'float32', c.yDims(dims)) : null;
    c.build(n, x, y).forEach((t, i) => n.markOutput(t, `z${i}`));
  };
}

async function load(c: Case, dims: number[], backend: 'cpu' | 'cuda', config: BuilderConfigOptions): Promise<Engine> {
  const builder = new Builder({ backend });
  using network = builder.createNetwork();
  define(c, dims)(network);
  return Runtime.load(await builder.build(network, builder.createConfig(config)));
}

async function run(engine: Engine, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  using ctx = engine.createContext();
  return ctx.infer(feeds);
}

describe.skipIf(cudaSkipReason !== '')('Pointwise: CUDA vs CPU', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const problems: string[] = [];
      for (const dims of sizes) {
        const feeds: Record<string, Tensor> = { x: tensor(randomFloats(numel(dims), 53).map((v) => v * 3), dims) };
        if (c.yDims) feeds.y = tensor(randomFloats(numel(c.yDims(dims)), 54).map((v) => v + 1.25), c.yDims(dims));  // [0.25, 2.25]
        const modes: Array<[string, BuilderConfigOptions, Tolerance]> = [['strict fp32', { strictFp32: true }, FP32_TOL], ['fp16', { precision: ['fp16'] }, FP16_TOL]];
        for (const [label, config, tol] of modes) {
          using cpu = await load(c, dims, 'cpu', config);
          using cuda = await load(c, dims, 'cuda', config);
          const fused = cuda.layers.filter((l) => l.kind === 'Pointwise');
          expect(fused, `${label} [${dims}]`).toHaveLength(c.pointwise);
          expect(fused.map((l) => l.runsOn), `${label} [${dims}]`).toEqual(fused.map(() => 'cuda'));
          expect(cpu.layers.filter((l) => l.kind === 'Pointwise')).toHaveLength(c.pointwise);
          const [want, got] = [await run(cpu, feeds), await run(cuda, feeds)];
          for (const name of Object.keys(want)) {
            const problem = checkAgreement(want[name]!, got[name]!, tol);
            if (problem) problems.push(`${label} [${dims}] ${name}: ${problem}`);
          }
        }
      }
      expect(problems).toEqual([]);
    });
  }
});

if (cudaSkipReason !== '') reportSkipped('Pointwise: CUDA vs CPU', cudaSkipReason);
