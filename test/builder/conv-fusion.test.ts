/**
 * The builder's convolution epilogue fusion: Convolution -> ReLU and Convolution -> Add(residual) [-> ReLU] become
 * one Convolution (activation attribute, residual input 3). Synthetic chains check what fuses, what must not
 * (intermediates exposed or read elsewhere, broadcast adds) and that the fused engine computes what the unfused
 * layers did; the PyTorch CNN exports fuse the expected counts and still match onnxruntime and their unfused build.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Builder, Runtime, type BuilderConfigOptions, type NetworkDefinition, type NetworkTensor } from '../../lib/index.js';
import { OnnxParser } from '../../lib/onnx/index.js';
import { expectClose, randomFloats } from '../api/helpers.js';
import { runOrt, type HostTensor } from '../onnx/run.js';
import { runNetwork } from './network-engine.js';

const N = 2, C = 3, M = 4, S = 6;  // x [N, C, S, S], weights [M, C, 3, 3] with pads 1: y [N, M, S, S]
const OUT = [N, M, S, S];
const numel = (d: readonly number[]): number => d.reduce((a, b) => a * b, 1);

interface Built {
  kinds: string[];
  inputs: string[][];
  outputNames: string[][];
  log: string | undefined;
  outputs: Record<string, Float32Array>;
}

async function buildAndRun(define: (n: NetworkDefinition) => void, feeds: Record<string, [Float32Array, number[]]>, config: BuilderConfigOptions = {}): Promise<Built> {
  const { plan, engine, out } = await runNetwork(define, feeds, { config });
  const result: Built = {
    kinds: engine.layers.map((l) => l.kind),
    inputs: engine.layers.map((l) => l.inputs),
    outputNames: engine.layers.map((l) => l.outputs),
    log: plan.buildLog.find((l) => l.startsWith('fusion:')),
    outputs: Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array])),
  };
  engine.dispose();
  return result;
}

/** |a - b| <= tol * max(|a|, |b|) for every element (zeros must match exactly). */
function expectRelClose(actual: Float32Array, expected: Float32Array, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, b = expected[i]!;
    if (!(Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b)))) throw new Error(`element ${i}: got ${a}, expected ${b}`);
  }
}

// ---------- synthetic chains ----------

const xData = randomFloats(N * C * S * S, 31), rData = randomFloats(numel(OUT), 32);
const wData = randomFloats(M * C * 9, 33), bData = randomFloats(M, 34);

type Tail = 'none' | 'relu' | 'clip0inf' | 'relu6' | 'add' | 'addRelu';
interface ConvOptions {
  tail: Tail;
  noBias?: boolean;
  residualFirst?: boolean;  // Add(residual, conv) instead of Add(conv, residual)
  residual?: 'input' | 'convAfter' | 'self';  // a network input, a second conv placed after the first, the conv itself
  residualShape?: number[];  // a broadcast operand instead of the full shape
  exposeConv?: boolean;  // the conv output (and a conv residual) is also a network output
  exposeSum?: boolean;  // the add output is also a network output
  readConvTwice?: boolean;  // the conv output also feeds another layer
}

function defineConv(o: ConvOptions) {
  return (n: NetworkDefinition): void => {
    const x = n.addInput('x', 'float32', [N, C, S, S]);
    const conv = (seed: number): NetworkTensor => n.addConvolution(x, n.addConstant([M, C, 3, 3], seed ? randomFloats(M * C * 9, seed) : wData),
      o.noBias ? null : n.addConstant([M], bData), { pads: [1, 1, 1, 1] }).output();
    const y = conv(0);
    let z = y;
    if (o.tail === 'relu') z = n.addActivation(y, 'relu').output();
    if (o.tail === 'clip0inf') z = n.addActivation(y, 'clip', { alpha: 0 }).output();
    if (o.tail === 'relu6') z = n.addActivation(y, 'clip', { alpha: 0, beta: 6 }).output();
    if (o.tail === 'add' || o.tail === 'addRelu') {
      let r: NetworkTensor;
      if (o.residual === 'convAfter') {
        r = conv(35);
        if (o.exposeConv) n.markOutput(r, 'residual');  // else the unfused reference fuses this conv instead
      }
      else if (o.residual === 'self') r = y;
      else r = o.residualShape ? n.addConstant(o.residualShape, randomFloats(numel(o.residualShape), 36)) : n.addInput('r', 'float32', OUT);
      const sum = (o.residualFirst ? n.addElementWise(r, y, 'add') : n.addElementWise(y, r, 'add')).output();
      z = o.tail === 'addRelu' ? n.addActivation(sum, 'relu').output() : sum;
      if (o.exposeSum) n.markOutput(sum, 'sum');
    }
    n.markOutput(z, 'z');
    if (o.exposeConv) n.markOutput(y, 'conv');
    if (o.readConvTwice) n.markOutput(n.addUnary(y, 'neg').output(), 'other');
  };
}

const feeds = (o: ConvOptions): Record<string, [Float32Array, number[]]> =>
  (o.tail.startsWith('add') && !o.residual && !o.residualShape ? { x: [xData, [N, C, S, S]], r: [rData, OUT] } : { x: [xData, [N, C, S, S]] });

/** The same network with the conv output exposed, which keeps every layer: the unfused reference. */
async function unfused(o: ConvOptions, config: BuilderConfigOptions = {}): Promise<Built> {
  const r = await buildAndRun(defineConv({ ...o, exposeConv: true }), feeds(o), config);
  expect(r.log ?? '').not.toMatch(/Conv\+/);
  return r;
}

/** conv(x, w) + b + residual, relu'd, in float64 (the reference of the Add + ReLU chain). */
function convReference(relu: boolean, residual: boolean): Float32Array {
  const y = new Float32Array(numel(OUT));
  for (let b = 0; b < N; b++) for (let m = 0; m < M; m++) for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) {
    let v = bData[m]!;
    for (let c = 0; c < C; c++) for (let ki = 0; ki < 3; ki++) for (let kj = 0; kj < 3; kj++) {
      const ii = i + ki - 1, jj = j + kj - 1;
      if (ii >= 0 && ii < S && jj >= 0 && jj < S) v += xData[((b * C + c) * S + ii) * S + jj]! * wData[((m * C + c) * 3 + ki) * 3 + kj]!;
    }
    const o = ((b * M + m) * S + i) * S + j;
    if (residual) v += rData[o]!;
    y[o] = relu ? Math.max(0, v) : v;
  }
  return y;
}

describe('convolution fusion', () => {
  const fuses: Array<[string, ConvOptions, RegExp, number]> = [
    ['Conv + ReLU', { tail: 'relu' }, /^fusion: 1 Conv\+ReLU; 2 -> 1 layers$/, 3],
    ['Conv + Clip(0, +inf)', { tail: 'clip0inf' }, /^fusion: 1 Conv\+ReLU;/, 3],
    ['Conv (no bias) + ReLU', { tail: 'relu', noBias: true }, /^fusion: 1 Conv\+ReLU;/, 3],
    ['Conv + Add(residual) + ReLU', { tail: 'addRelu' }, /^fusion: 1 Conv\+add\+ReLU; 3 -> 1 layers$/, 4],
    ['Conv + Add(residual, conv) + ReLU', { tail: 'addRelu', residualFirst: true }, /^fusion: 1 Conv\+add\+ReLU;/, 4],
    ['Conv + Add(residual)', { tail: 'add' }, /^fusion: 1 Conv\+add; 2 -> 1 layers$/, 4],
    ['Conv (no bias) + Add(residual) + ReLU', { tail: 'addRelu', noBias: true }, /^fusion: 1 Conv\+add\+ReLU;/, 4],
  ];
  for (const [label, o, log, inputs] of fuses) {
    it(`fuses ${label} into one Convolution`, async () => {
      const r = await buildAndRun(defineConv(o), feeds(o));
      expect(r.kinds).toEqual(['Convolution']);
      expect(r.inputs[0]).toHaveLength(inputs);
      if (o.noBias) expect(r.inputs[0]![2]).toBe('');  // absent bias, then the residual
      else expect(r.inputs[0]![2]).not.toBe('');
      expect(r.log).toMatch(log);
      expectRelClose(r.outputs.z!, (await unfused(o)).outputs.z!);
      if (!o.noBias) expectClose(r.outputs.z!, convReference(o.tail !== 'add', o.tail.startsWith('add')));
    });
  }

  it('fuses a residual computed after the conv in layer order (the fused layer sits at the add)', async () => {
    const o: ConvOptions = { tail: 'addRelu', residual: 'convAfter' };
    const r = await buildAndRun(defineConv(o), feeds(o));
    expect(r.kinds).toEqual(['Convolution', 'Convolution']);  // the residual's conv first, then the fused one
    expect(r.inputs[1]).toHaveLength(4);
    expect(r.inputs[1]![3]).toBe(r.outputNames[0]![0]);
    expectRelClose(r.outputs.z!, (await unfused(o)).outputs.z!);
  });

  it('fuses in fp16 too, within an fp16 rounding of the unfused layers', async () => {
    const o: ConvOptions = { tail: 'addRelu' };
    const r = await buildAndRun(defineConv(o), feeds(o), { precision: ['fp16'] });
    expect(r.kinds).toEqual(['Convolution']);
    expectClose(r.outputs.z!, (await unfused(o, { precision: ['fp16'] })).outputs.z!, 4e-3);
  });

  // An add + relu left behind becomes one Pointwise layer (pointwise fusion runs after this one).
  const misses: Array<[string, ConvOptions, string[]]> = [
    ['the conv output is also a network output', { tail: 'relu', exposeConv: true }, ['Convolution', 'Activation']],
    ['the conv output has another reader', { tail: 'addRelu', readConvTwice: true }, ['Convolution', 'Pointwise', 'Unary']],
    ['the activation is ReLU6 (Clip 0..6)', { tail: 'relu6' }, ['Convolution', 'Activation']],
    ['the add broadcasts a [1, M, S, S] operand', { tail: 'addRelu', residualShape: [1, M, S, S] }, ['Convolution', 'Pointwise']],
    ['the add broadcasts a per-channel [M, 1, 1] operand', { tail: 'add', residualShape: [M, 1, 1] }, ['Convolution', 'ElementWise']],
    ['the add reads the conv output twice', { tail: 'addRelu', residual: 'self' }, ['Convolution', 'Pointwise']],
  ];
  for (const [label, o, kinds] of misses) {
    it(`does not fuse when ${label}`, async () => {
      const r = await buildAndRun(defineConv(o), feeds(o));
      expect(r.kinds).toEqual(kinds);
      expect(r.log ?? '').not.toMatch(/Conv\+/);
    });
  }

  it('stops before the ReLU when the add output is also a network output', async () => {
    const o: ConvOptions = { tail: 'addRelu', exposeSum: true };
    const r = await buildAndRun(defineConv(o), feeds(o));
    expect(r.kinds).toEqual(['Convolution', 'Activation']);
    expect(r.log).toMatch(/^fusion: 1 Conv\+add;/);
    expectClose(r.outputs.sum!, convReference(false, true));
    expectClose(r.outputs.z!, convReference(true, true));
  });
});

describe('Convolution residual / activation attributes', () => {
  const add = (residualDims: number[], activation = 'relu') => (n: NetworkDefinition): void => {
    const x = n.addInput('x', 'float32', [N, C, S, S]);
    const attrs = { pads: [1, 1, 1, 1], group: 1, auto_pad: 'NOTSET', activation };
    n.addLayer('Convolution', [x, n.addConstant([M, C, 3, 3], wData), null, n.addInput('r', 'float32', residualDims)], attrs);
  };
  it('rejects a residual that is not the output shape', () => {
    const builder = new Builder({ backend: 'cpu' });
    using network = builder.createNetwork();
    expect(() => add([N, M, S, 1])(network)).toThrow(/residual/);
  });
  it('rejects an activation other than none / relu', () => {
    const builder = new Builder({ backend: 'cpu' });
    using network = builder.createNetwork();
    expect(() => add(OUT, 'sigmoid')(network)).toThrow(/activation/);
  });
});

// ---------- PyTorch CNN exports ----------

const models = fileURLToPath(new URL('../fixtures/models', import.meta.url));

describe.skipIf(!fs.existsSync(models))('convolution fusion on PyTorch CNN exports', () => {
  // file, fusion-line part, Activation layers left, Convolutions with a residual input
  const cases: Array<[string, string, number, number]> = [
    ['demo_cnn.onnx', ' 3 Conv+ReLU;', 0, 0],
    ['resnet_torchscript_op13.onnx', ' 5 Conv+ReLU, 4 Conv+add+ReLU;', 0, 4],
    ['resnet_dynamo_op18.onnx', ' 5 Conv+ReLU, 4 Conv+add+ReLU;', 0, 4],
    ['mobilenetv2_torchscript_op13.onnx', ' 3 Conv+add;', 17, 3],  // ReLU6 stays
    ['mobilenetv2_dynamo_op18.onnx', ' 3 Conv+add;', 17, 3],
    // HardSwish stays; the 9 squeeze-excite HardSigmoids join their Mul in a Pointwise layer.
    ['mobilenetv3_torchscript_op17.onnx', ' 14 Conv+ReLU, 7 Conv+add;', 19, 7],
    ['mobilenetv3_dynamo_op18.onnx', ' 14 Conv+ReLU, 7 Conv+add;', 19, 7],
    ['squeezenet_torchscript_op13.onnx', ' 20 Conv+ReLU;', 0, 0],
    ['squeezenet_dynamo_op18.onnx', ' 20 Conv+ReLU;', 0, 0],
    ['shufflenetv2_torchscript_op17.onnx', ' 17 Conv+ReLU;', 0, 0],
    ['shufflenetv2_dynamo_op18.onnx', ' 17 Conv+ReLU;', 0, 0],
  ];

  /** Builds `bytes` for batch 1..2 (exposing every conv output when `unfused`) and runs it on `inputs`. */
  async function build(bytes: Uint8Array, inputs: Record<string, HostTensor>, unfused: boolean) {
    const builder = new Builder({ backend: 'cpu' });
    const network = builder.createNetwork();
    const parsed = OnnxParser.parse(network, bytes);
    if (unfused) {
      for (let i = 0; i < network.numLayers; i++) {
        const layer = network.getLayer(i);
        if (layer.kind === 'Convolution') network.markOutput(layer.output(), `conv_${i}`);
      }
    }
    const dims = inputs[parsed.inputs[0]!]!.dims;
    const range = { min: [1, ...dims.slice(1)], opt: dims, max: dims };
    const plan = await builder.build(network, builder.createConfig({ profiles: [{ [parsed.inputs[0]!]: range }] }));
    network.dispose();
    const engine = await Runtime.load(plan);
    const ctx = engine.createContext();
    const out = await ctx.infer(Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, { data: t.data as Float32Array, shape: t.dims }])));
    const layers = engine.layers;
    engine.dispose();
    return { plan, layers, out };
  }

  for (const [file, part, activations, residuals] of cases) {
    it(`${file}: fuses${part} and still matches onnxruntime and the unfused build`, async () => {
      const bytes = new Uint8Array(fs.readFileSync(path.join(models, file)));
      const side = file === 'demo_cnn.onnx' ? 32 : 64;
      const dims = [2, 3, side, side];
      const data = Float32Array.from({ length: numel(dims) }, (_, i) => Math.sin(i * 0.37) + 0.5 * Math.cos(i * 0.011));
      const inputs: Record<string, HostTensor> = { input: { dtype: 'float32', dims, data } };
      const fused = await build(bytes, inputs, false);
      const line = fused.plan.buildLog.find((l) => l.startsWith('fusion:'));
      expect(line).toContain(part);
      expect(fused.layers.filter((l) => l.kind === 'Activation')).toHaveLength(activations);
      expect(fused.layers.filter((l) => l.kind === 'Convolution' && l.inputs.length === 4)).toHaveLength(residuals);
      if (file.startsWith('resnet')) expect(fused.layers.map((l) => l.kind)).not.toContain('ElementWise');
      const reference = await build(bytes, inputs, true);
      expect(reference.plan.buildLog.find((l) => l.startsWith('fusion:')) ?? '').not.toContain('Conv+');
      const theirs = await runOrt(bytes, inputs);
      for (const [name, want] of Object.entries(theirs)) {
        expect(fused.out[name]!.shape, name).toEqual(want.dims);
        expectClose(fused.out[name]!.data as Float32Array, want.data as Float32Array, 1e-4);
        expectRelClose(fused.out[name]!.data as Float32Array, reference.out[name]!.data as Float32Array);
      }
    });
  }
});
