/**
 * GPU suite, channels-last (NHWC) layers on CUDA vs the CPU reference:
 * - the CNN exports built for CUDA fp16 with the default channelsLast 'auto' (the builder converts the qualifying
 *   convolutions and the layers between them; cuDNN runs them with NHWC descriptors, pooling with our NHWC kernels)
 *   against the CPU fp16 build (which stays NCHW), with no layer on the CPU fallback; and built in fp32 with
 *   channelsLast forced on, against the CPU fp32 build;
 * - single NHWC convolutions (bias, fused relu / residual, groups, depthwise, strides, asymmetric pads through the
 *   zero-padded NHWC copy) and poolings (max, average with count_include_pad, global; float and int32) against the
 *   CPU's channels_last reference, in strict fp32, TF32 and fp16, and max pooling bit for bit on NaNs and signed zeros;
 * - two contexts of one engine running at once, and eager runs without CUDA graphs (the cuDNN plan each step keeps);
 * - a 3-channel ResNet stem (7x7 conv + relu + max pool) in fp16 'auto': the builder pads its channels to 8 (a Pad
 *   layer on the GPU) and runs conv and pool NHWC, against the CPU fp16 build (NCHW).
 * Skipped, with the reason, where the addon has no CUDA part or no GPU is visible.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Builder, OnnxParser, Runtime, tensor, type BuilderConfigOptions, type Engine, type NetworkDefinition, type Tensor } from '../../lib/index.js';
import { randomFloats } from '../api/helpers.js';
import { modelsDir } from '../fixtures/manifest.js';
import { checkAgreement, cudaSkipReason, describeFallback, fallbackLayers, reportSkipped, type Tolerance, loadNetwork } from './helpers.js';

// The fixture suite's tolerances (cuda-fixtures.test.ts says where they come from).
const TF32_TOL: Tolerance = { relL2: 5e-3, maxRel: 2e-2, absFloor: 1e-6 };
const FP32_TOL: Tolerance = { relL2: 1e-4, maxRel: 1e-4, absFloor: 1e-6 };
const FP16_TOL: Tolerance = { relL2: 1e-2, maxRel: 5e-2, absFloor: 1e-6 };

const numel = (d: readonly number[]): number => d.reduce((a, b) => a * b, 1);
const TITLE = 'channels-last (NHWC) on CUDA vs CPU';
const fixtures = ['demo_cnn.onnx', 'resnet_torchscript_op13.onnx', 'resnet_dynamo_op18.onnx', 'mobilenetv2_torchscript_op13.onnx',
  'mobilenetv2_dynamo_op18.onnx', 'squeezenet_torchscript_op13.onnx', 'squeezenet_dynamo_op18.onnx',
  'shufflenetv2_torchscript_op17.onnx', 'shufflenetv2_dynamo_op18.onnx'];

async function loadFixture(file: string, backend: 'cpu' | 'cuda', config: BuilderConfigOptions, dims: number[]) {
  const builder = new Builder({ backend });
  using network = builder.createNetwork();
  const parsed = await OnnxParser.parseFile(network, path.join(modelsDir, file));
  const range = { min: [1, ...dims.slice(1)], opt: dims, max: dims };
  const plan = await builder.build(network, builder.createConfig({ ...config, profiles: [{ [parsed.inputs[0]!]: range }] }));
  return { engine: await Runtime.load(plan), log: plan.buildLog, input: parsed.inputs[0]! };
}

async function infer(engine: Engine, feeds: Record<string, Tensor>, cudaGraphs = true): Promise<Record<string, Tensor>> {
  using ctx = engine.createContext({ cudaGraphs });
  return ctx.infer(feeds);
}

function compare(reference: Record<string, Tensor>, actual: Record<string, Tensor>, tol: Tolerance, label: string): string[] {
  const problems: string[] = [];
  for (const [name, want] of Object.entries(reference)) {
    const problem = actual[name] ? checkAgreement(want, actual[name]!, tol) : 'missing';
    if (problem) problems.push(`${label} ${name}: ${problem}`);
  }
  return problems;
}

describe.skipIf(cudaSkipReason !== '' || !fs.existsSync(modelsDir))(`${TITLE}: CNN exports`, () => {
  for (const file of fixtures) {
    it(`${file}: fp16 with channelsLast 'auto', fp32 with channelsLast forced`, async () => {
      const side = file === 'demo_cnn.onnx' ? 32 : 64;
      const dims = [3, 3, side, side];
      const problems: string[] = [];
      const runs: Array<[string, BuilderConfigOptions, BuilderConfigOptions, Tolerance]> = [
        ['fp16 auto', { precision: ['fp16'] }, { precision: ['fp16'] }, FP16_TOL],
        ['strict fp32 forced', { strictFp32: true, channelsLast: true }, { strictFp32: true }, FP32_TOL],
        ['tf32 forced', { channelsLast: true }, { strictFp32: true }, TF32_TOL],
      ];
      for (const [label, cudaConfig, cpuConfig, tol] of runs) {
        const cuda = await loadFixture(file, 'cuda', cudaConfig, dims);
        const cpu = await loadFixture(file, 'cpu', cpuConfig, dims);
        try {
          expect(cuda.log.find((l) => l.startsWith('channels-last:')), label).toMatch(/^channels-last: [1-9]\d* convolutions/);
          expect(cuda.engine.layers.some((l) => l.kind === 'Convolution' && l.channelsLast), label).toBe(true);
          expect(cpu.engine.layers.some((l) => l.channelsLast), `${label}: the CPU reference stays NCHW`).toBe(false);
          expect(describeFallback(fallbackLayers(cuda.engine)), `${label}: layers on the CPU fallback`).toBe('none');
          for (const batch of [1, 3]) {
            const shape = [batch, ...dims.slice(1)];
            const data = Float32Array.from({ length: numel(shape) }, (_, i) => Math.sin(i * 0.37) + 0.5 * Math.cos(i * 0.011));
            const feeds = { [cuda.input]: tensor(data, shape) };
            problems.push(...compare(await infer(cpu.engine, feeds), await infer(cuda.engine, feeds), tol, `${label} batch ${batch}`));
          }
        } finally {
          cuda.engine.dispose();
          cpu.engine.dispose();
        }
      }
      expect(problems).toEqual([]);
    });
  }
});

// ---------- single NHWC layers ----------

interface ConvCase {
  name: string;
  x: [number, number, number, number];  // NHWC
  m: number;
  kernel: [number, number];
  group?: number;
  pads?: number[];
  autoPad?: 'SAME_UPPER';
  strides?: number[];
  bias?: boolean;
  tail?: 'relu' | 'addRelu' | 'add';
}

const convCases: ConvCase[] = [
  { name: '3x3 + bias', x: [4, 28, 28, 16], m: 32, kernel: [3, 3], pads: [1, 1, 1, 1], bias: true },
  { name: '3x3 + bias + relu', x: [4, 28, 28, 16], m: 32, kernel: [3, 3], pads: [1, 1, 1, 1], bias: true, tail: 'relu' },
  { name: '1x1 no bias + residual + relu', x: [4, 14, 14, 64], m: 64, kernel: [1, 1], tail: 'addRelu' },
  { name: '1x1 + bias + residual (identity)', x: [2, 14, 14, 32], m: 16, kernel: [1, 1], bias: true, tail: 'add' },
  { name: 'stride-2 3x3 + bias + relu', x: [2, 17, 17, 24], m: 48, kernel: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2], bias: true, tail: 'relu' },
  { name: 'grouped (C/group 8) 3x3 + bias', x: [2, 16, 16, 32], m: 32, kernel: [3, 3], group: 4, pads: [1, 1, 1, 1], bias: true },
  { name: 'depthwise 3x3 + bias + relu', x: [2, 16, 16, 32], m: 32, kernel: [3, 3], group: 32, pads: [1, 1, 1, 1], bias: true, tail: 'relu' },
  { name: 'asymmetric pads (SAME_UPPER 2x2) + residual + relu', x: [2, 9, 9, 8], m: 8, kernel: [2, 2], autoPad: 'SAME_UPPER', bias: true, tail: 'addRelu' },
  { name: 'C not a multiple of 8 (3 -> 8, 7x7 stride 2)', x: [2, 32, 32, 3], m: 8, kernel: [7, 7], pads: [3, 3, 3, 3], strides: [2, 2], bias: true },
];

function convOut(c: ConvCase): number[] {
  const spatial = [c.x[1], c.x[2]].map((d, i) => {
    const s = c.strides?.[i] ?? 1;
    if (c.autoPad) return Math.ceil(d / s);
    return Math.floor((d + (c.pads?.[i] ?? 0) + (c.pads?.[i + 2] ?? 0) - c.kernel[i]!) / s) + 1;
  });
  return [c.x[0], ...spatial, c.m];
}

function defineConv(c: ConvCase) {
  return (n: NetworkDefinition): void => {
    const x = n.addInput('x', 'float32', c.x);
    const group = c.group ?? 1;
    const wDims = [c.m, ...c.kernel, c.x[3] / group];
    const scale = 1 / Math.sqrt(numel(wDims.slice(1)));
    const w = n.addConstant(wDims, randomFloats(numel(wDims), 51).map((v) => v * scale));
    const b = c.bias ? n.addConstant([c.m], randomFloats(c.m, 52)) : null;
    const attrs: Record<string, number | string | number[]> = { group, channels_last: 1, auto_pad: c.autoPad ?? 'NOTSET' };
    if (c.pads) attrs.pads = c.pads;
    if (c.strides) attrs.strides = c.strides;
    if (c.tail === 'relu' || c.tail === 'addRelu') attrs.activation = 'relu';
    const inputs = [x, w, b];
    if (c.tail === 'add' || c.tail === 'addRelu') inputs.push(n.addInput('r', 'float32', convOut(c)));
    n.markOutput(n.addLayer('Convolution', inputs, attrs).output(), 'z');
  };
}

interface PoolCase {
  name: string;
  mode: 'max' | 'average' | 'global_max' | 'global_average';
  x: number[];
  dtype?: 'int32';
  kernel?: number[];
  strides?: number[];
  pads?: number[];
  countIncludePad?: boolean;
  ceilMode?: boolean;
}

const poolCases: PoolCase[] = [
  { name: 'max 3x3 stride 2 pads 1', mode: 'max', x: [4, 56, 56, 64], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
  { name: 'max 2x2 ceil_mode, C = 3', mode: 'max', x: [2, 9, 9, 3], kernel: [2, 2], strides: [2, 2], ceilMode: true },
  { name: 'average 3x3 count_include_pad', mode: 'average', x: [2, 13, 13, 40], kernel: [3, 3], pads: [1, 1, 1, 1], countIncludePad: true },
  { name: 'average 2x3 asymmetric pads', mode: 'average', x: [2, 7, 6, 24], kernel: [2, 3], pads: [0, 1, 1, 0] },
  { name: 'global average, C = 2048 (ResNet-50 head)', mode: 'global_average', x: [8, 7, 7, 2048] },
  { name: 'global average, C = 37 (a partial lane chunk)', mode: 'global_average', x: [3, 5, 9, 37] },
  { name: 'global max', mode: 'global_max', x: [4, 14, 14, 96] },
  { name: 'global max int32', mode: 'global_max', x: [2, 6, 6, 40], dtype: 'int32' },
  { name: 'max 3x3 int32', mode: 'max', x: [2, 8, 8, 16], kernel: [3, 3], pads: [1, 1, 1, 1], dtype: 'int32' },
];

function definePool(c: PoolCase) {
  return (n: NetworkDefinition): void => {
    const x = n.addInput('x', c.dtype ?? 'float32', c.x);
    const global = c.mode.startsWith('global');
    const params = global ? { channelsLast: true } : { kernelShape: c.kernel, strides: c.strides, pads: c.pads, countIncludePad: c.countIncludePad, ceilMode: c.ceilMode, channelsLast: true };
    n.markOutput(n.addPooling(x, c.mode, params).output(), 'z');
  };
}

const precisions: Array<[string, BuilderConfigOptions, BuilderConfigOptions, Tolerance]> = [
  ['strict fp32', { strictFp32: true }, { strictFp32: true }, FP32_TOL],
  ['tf32', {}, { strictFp32: true }, TF32_TOL],
  ['fp16', { precision: ['fp16'] }, { precision: ['fp16'] }, FP16_TOL],
];

describe.skipIf(cudaSkipReason !== '')(`${TITLE}: single layers`, () => {
  for (const c of convCases) {
    it(`Convolution ${c.name}`, async () => {
      const feeds: Record<string, Tensor> = { x: tensor(randomFloats(numel(c.x), 53), c.x) };
      if (c.tail === 'add' || c.tail === 'addRelu') feeds.r = tensor(randomFloats(numel(convOut(c)), 54), convOut(c));
      const problems: string[] = [];
      for (const [label, cudaConfig, cpuConfig, tol] of precisions) {
        using cpu = await loadNetwork(defineConv(c), 'cpu', cpuConfig);
        using cuda = await loadNetwork(defineConv(c), 'cuda', cudaConfig);
        expect(cuda.layers.map((l) => [l.kind, l.runsOn, l.channelsLast]), label).toEqual([['Convolution', 'cuda', true]]);
        problems.push(...compare(await infer(cpu, feeds), await infer(cuda, feeds), tol, label));
      }
      expect(problems).toEqual([]);
    });
  }

  for (const c of poolCases) {
    it(`Pooling ${c.name}`, async () => {
      const data = c.dtype === 'int32' ? Int32Array.from(randomFloats(numel(c.x), 55), (v) => Math.round(v * 1000)) : randomFloats(numel(c.x), 55);
      const feeds = { x: tensor(data, c.x) };
      const problems: string[] = [];
      for (const [label, cudaConfig, cpuConfig, tol] of c.dtype ? precisions.slice(0, 1) : precisions) {
        using cpu = await loadNetwork(definePool(c), 'cpu', cpuConfig);
        using cuda = await loadNetwork(definePool(c), 'cuda', cudaConfig);
        expect(cuda.layers.map((l) => [l.kind, l.runsOn, l.channelsLast]), label).toEqual([['Pooling', 'cuda', true]]);
        problems.push(...compare(await infer(cpu, feeds), await infer(cuda, feeds), tol, label));
      }
      expect(problems).toEqual([]);
    });
  }

  it('NHWC max pooling (16-byte channel vectors) keeps the CPU rules bit for bit in fp32 and fp16: NaN never wins, the first of equal zeros stays', async () => {
    // Values <= 0 with many signed zeros and NaNs, and one all-NaN window (image 0's corner: -inf).
    const dims = [2, 9, 9, 32];
    const data = Float32Array.from(randomFloats(numel(dims), 58), (v, i) =>
      i % 7 === 0 ? NaN : i % 3 === 0 ? -0 : i % 5 === 0 ? 0 : -Math.abs(v));
    for (const at of [0, 1, 9, 10]) data.fill(NaN, at * 32, at * 32 + 32);
    const c: PoolCase = { name: 'signed zeros and NaN', mode: 'max', x: dims, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] };
    const problems: string[] = [];
    for (const [label, cudaConfig, cpuConfig] of precisions) {
      using cpu = await loadNetwork(definePool(c), 'cpu', cpuConfig);
      using cuda = await loadNetwork(definePool(c), 'cuda', cudaConfig);
      const want = (await infer(cpu, { x: tensor(data, dims) })).z!.data as Float32Array;
      const got = (await infer(cuda, { x: tensor(data, dims) })).z!.data as Float32Array;
      const differ = want.findIndex((v, i) => !Object.is(v, got[i]));
      if (differ >= 0) problems.push(`${label}: element ${differ} is ${got[differ]}, the CPU gives ${want[differ]}`);
      expect(want.some((v) => Object.is(v, -0)) && want.some((v) => v === -Infinity), `${label}: the input exercises the rules`).toBe(true);
    }
    expect(problems).toEqual([]);
  });

  it('Pad of the last dim alone (the channel padding; written in 16-byte chunks) equals the CPU bit for bit', async () => {
    // [5, 7, 3] -> [5, 7, 8] (4-byte elements: two chunks per row), with a begin pad, a value and a crop.
    const cases: Array<{ pads: number[]; value?: number; dims: number[] }> = [
      { pads: [0, 0, 0, 0, 0, 5], dims: [5, 7, 8] },
      { pads: [0, 0, 2, 0, 0, 3], value: -1.5, dims: [5, 7, 8] },
      { pads: [0, 0, -1, 0, 0, 6], dims: [5, 7, 8] },
    ];
    const data = randomFloats(5 * 7 * 3, 59);
    const problems: string[] = [];
    for (const c of cases) {
      const define = (n: NetworkDefinition): void => {
        const inputs = [n.addInput('x', 'float32', [5, 7, 3]), n.addConstant([6], BigInt64Array.from(c.pads, BigInt), { dtype: 'int64' })];
        if (c.value !== undefined) inputs.push(n.addConstant([], Float32Array.of(c.value)));
        n.markOutput(n.addLayer('Pad', inputs, {}).output(), 'z');
      };
      for (const [label, cudaConfig, cpuConfig] of precisions) {
        using cpu = await loadNetwork(define, 'cpu', cpuConfig);
        using cuda = await loadNetwork(define, 'cuda', cudaConfig);
        expect(cuda.layers.map((l) => [l.kind, l.runsOn]), label).toEqual([['Pad', 'cuda']]);
        const want = (await infer(cpu, { x: tensor(data, [5, 7, 3]) })).z!;
        const got = (await infer(cuda, { x: tensor(data, [5, 7, 3]) })).z!;
        expect(got.shape, label).toEqual(c.dims);
        const differ = (want.data as Float32Array).findIndex((v, i) => !Object.is(v, (got.data as Float32Array)[i]));
        if (differ >= 0) problems.push(`${label} pads ${c.pads}: element ${differ} differs`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('Pad of the last dim alone with 1-byte and 8-byte elements equals the CPU (int8 [5, 7, 3] -> 16, int64 -> 8)', async () => {
    const problems: string[] = [];
    for (const [dtype, width] of [['int8', 16], ['int64', 8]] as const) {
      const count = 5 * 7 * 3;
      const data = dtype === 'int8' ? Int8Array.from({ length: count }, (_, i) => ((i * 37) % 255) - 127) : BigInt64Array.from({ length: count }, (_, i) => BigInt(i * 1_000_003) * (i % 2 ? -1n : 1n) * 4_294_967_297n);
      for (const begin of [0, 2]) {
        const pads = [0, 0, begin, 0, 0, width - 3 - begin];
        const define = (n: NetworkDefinition): void => {
          const x = n.addInput('x', dtype, [5, 7, 3]);
          n.markOutput(n.addLayer('Pad', [x, n.addConstant([6], BigInt64Array.from(pads, BigInt), { dtype: 'int64' })], {}).output(), 'z');
        };
        using cpu = await loadNetwork(define, 'cpu', {});
        using cuda = await loadNetwork(define, 'cuda', {});
        expect(cuda.layers.map((l) => [l.kind, l.runsOn]), dtype).toEqual([['Pad', 'cuda']]);
        const want = (await infer(cpu, { x: tensor(data, [5, 7, 3]) })).z!;
        const got = (await infer(cuda, { x: tensor(data, [5, 7, 3]) })).z!;
        expect(got.shape, dtype).toEqual([5, 7, width]);
        const w = Array.from(want.data as ArrayLike<number | bigint>), g = Array.from(got.data as ArrayLike<number | bigint>);
        const differ = w.findIndex((v, i) => v !== g[i]);
        if (differ >= 0) problems.push(`${dtype} pads ${pads}: element ${differ} is ${g[differ]}, the CPU gives ${w[differ]}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('two contexts at once and eager runs without CUDA graphs agree with the CPU (the plan each step keeps)', async () => {
    const c = convCases[2]!;
    const feeds: Record<string, Tensor> = { x: tensor(randomFloats(numel(c.x), 56), c.x), r: tensor(randomFloats(numel(convOut(c)), 57), convOut(c)) };
    using cpu = await loadNetwork(defineConv(c), 'cpu', { precision: ['fp16'] });
    using cuda = await loadNetwork(defineConv(c), 'cuda', { precision: ['fp16'] });
    const want = await infer(cpu, feeds);
    using a = cuda.createContext({ cudaGraphs: false });
    using b = cuda.createContext({ cudaGraphs: false });
    const problems: string[] = [];
    for (let round = 0; round < 3; round++) {
      const [ra, rb] = await Promise.all([a.infer(feeds), b.infer(feeds)]);
      problems.push(...compare(want, ra, FP16_TOL, `context a, run ${round}`), ...compare(want, rb, FP16_TOL, `context b, run ${round}`));
    }
    expect(problems).toEqual([]);
  });
});

describe.skipIf(cudaSkipReason !== '')(`${TITLE}: a 3-channel stem`, () => {
  it("7x7 stride-2 conv 3 -> 64 + relu + 3x3 max pool, fp16 'auto': channels padded to 8, all on the GPU", async () => {
    const X = [4, 3, 64, 64], wDims = [64, 3, 7, 7];
    const define = (n: NetworkDefinition): void => {
      const w = n.addConstant(wDims, randomFloats(numel(wDims), 61).map((v) => v / Math.sqrt(numel(wDims.slice(1)))));
      const params = { kernelShape: [7, 7], strides: [2, 2], pads: [3, 3, 3, 3] };
      const c = n.addConvolution(n.addInput('x', 'float32', X), w, n.addConstant([64], randomFloats(64, 62)), params).output();
      const r = n.addActivation(c, 'relu').output();
      n.markOutput(n.addPooling(r, 'max', { kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }).output(), 'z');
    };
    const builder = new Builder({ backend: 'cuda' });
    using network = builder.createNetwork();
    define(network);
    const plan = await builder.build(network, builder.createConfig({ precision: ['fp16'] }));
    expect(plan.buildLog.find((l) => l.startsWith('channels-last:'))).toMatch(/^channels-last: 1 convolutions \(1 with channels padded 3 -> 8\), 1 pooling layers/);
    using cuda = await Runtime.load(plan);
    using cpu = await loadNetwork(define, 'cpu', { precision: ['fp16'] });
    expect(cuda.layers.map((l) => [l.kind, l.runsOn, !!l.channelsLast])).toEqual([['Transpose', 'cuda', false], ['Pad', 'cuda', false],
      ['Convolution', 'cuda', true], ['Pooling', 'cuda', true], ['Transpose', 'cuda', false]]);
    expect(cuda.layers.every((l) => l.precision === 'fp16')).toBe(true);
    expect(describeFallback(fallbackLayers(cuda))).toBe('none');
    expect(cpu.layers.some((l) => l.channelsLast)).toBe(false);
    const feeds = { x: tensor(randomFloats(numel(X), 63), X) };
    expect(compare(await infer(cpu, feeds), await infer(cuda, feeds), FP16_TOL, 'fp16 auto')).toEqual([]);
    expect(compare(await infer(cpu, feeds), await infer(cuda, feeds, false), FP16_TOL, 'fp16 auto, eager')).toEqual([]);
  });
});

if (cudaSkipReason !== '') reportSkipped(TITLE, cudaSkipReason);
