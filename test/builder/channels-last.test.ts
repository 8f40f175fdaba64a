/**
 * Channels-last (NHWC) layers and the builder's channels-last pass, on the CPU backend (`channelsLast: true` forces
 * the pass; 'auto' turns it on only for CUDA fp16 engines). The IR contract (x [N, H, W, C], weights
 * [M, kH, kW, C/group]) is checked against float64 references written here; the pass is checked on ONNX models
 * built here and on the repo's CNN exports against onnxruntime-node, and against the same build without the pass
 * (the CPU reference runs the NCHW kernels on permuted data, so the two agree bit for bit).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addon } from '../../lib/binding.js';
import { Builder, NetworkDefinition, Runtime, tensor as hostTensor, type BuilderConfigOptions, type EngineLayer } from '../../lib/index.js';
import { OnnxParser } from '../../lib/onnx/index.js';
import { expectClose, randomFloats } from '../api/helpers.js';
import { modelsDir } from '../fixtures/manifest.js';
import { thrown } from '../inferrt-errors.js';
import { model, node, T, tensor, valueInfo } from '../onnx/helpers.js';
import { runOrt, type HostTensor } from '../onnx/run.js';
import { runNetwork as runOnCpu } from './network-engine.js';

const numel = (d: readonly number[]): number => d.reduce((a, b) => a * b, 1);

// ---------- the IR contract: channels_last = 1 layers against float64 references ----------

interface Window {
  kernel: [number, number];
  strides: [number, number];
  pads: [number, number, number, number];  // top, left, bottom, right
  dilations: [number, number];
}
const outSize = (size: number, k: number, s: number, pb: number, pe: number, d: number): number => Math.floor((size + pb + pe - d * (k - 1) - 1) / s) + 1;

/** y[n, oh, ow, m] = relu?(bias[m] + residual + sum over (kh, kw, c) of x[n, ih, iw, g*C/G + c] * w[m, kh, kw, c]). */
function convNhwc(x: Float32Array, [n, h, w, c]: number[], wt: Float32Array, m: number, group: number, win: Window, bias: Float32Array | null, residual: Float32Array | null, relu: boolean) {
  const [kh, kw] = win.kernel, cg = c / group, mg = m / group;
  const oh = outSize(h, kh, win.strides[0], win.pads[0], win.pads[2], win.dilations[0]);
  const ow = outSize(w, kw, win.strides[1], win.pads[1], win.pads[3], win.dilations[1]);
  const y = new Float32Array(n * oh * ow * m);
  for (let b = 0; b < n; b++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) for (let o = 0; o < m; o++) {
    let v = bias ? bias[o]! : 0;
    const first = Math.floor(o / mg) * cg;
    for (let a = 0; a < kh; a++) for (let e = 0; e < kw; e++) {
      const ii = i * win.strides[0] + a * win.dilations[0] - win.pads[0], jj = j * win.strides[1] + e * win.dilations[1] - win.pads[1];
      if (ii < 0 || ii >= h || jj < 0 || jj >= w) continue;
      for (let q = 0; q < cg; q++) v += x[((b * h + ii) * w + jj) * c + first + q]! * wt[((o * kh + a) * kw + e) * cg + q]!;
    }
    const at = ((b * oh + i) * ow + j) * m + o;
    if (residual) v += residual[at]!;
    y[at] = relu ? Math.max(0, v) : v;
  }
  return { y, dims: [n, oh, ow, m] };
}

/** Max or average (taps inside the input) pooling of NHWC x; kernel = whole plane for the global modes. */
function poolNhwc(x: Float32Array, [n, h, w, c]: number[], max: boolean, win: Window) {
  const [kh, kw] = win.kernel;
  const oh = outSize(h, kh, win.strides[0], win.pads[0], win.pads[2], 1), ow = outSize(w, kw, win.strides[1], win.pads[1], win.pads[3], 1);
  const y = new Float32Array(n * oh * ow * c);
  for (let b = 0; b < n; b++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) for (let q = 0; q < c; q++) {
    let best = -Infinity, sum = 0, count = 0;
    for (let a = 0; a < kh; a++) for (let e = 0; e < kw; e++) {
      const ii = i * win.strides[0] + a - win.pads[0], jj = j * win.strides[1] + e - win.pads[1];
      if (ii < 0 || ii >= h || jj < 0 || jj >= w) continue;
      const v = x[((b * h + ii) * w + jj) * c + q]!;
      best = Math.max(best, v);
      sum += v;
      count++;
    }
    y[((b * oh + i) * ow + j) * c + q] = max ? best : sum / count;
  }
  return { y, dims: [n, oh, ow, c] };
}

async function runNetwork(define: (n: NetworkDefinition) => void, feeds: Record<string, [Float32Array, number[]]>, config: BuilderConfigOptions = {}) {
  const { plan, engine, out } = await runOnCpu(define, feeds, { config });
  const layers = engine.layers;
  engine.dispose();
  return { out, layers, log: plan.buildLog };
}

describe('channels_last = 1 layers (IR contract)', () => {
  const X = [2, 7, 6, 8];
  const x = randomFloats(numel(X), 41);

  it('Convolution: NHWC input, [M, kH, kW, C/group] weights, groups, strides, dilations, asymmetric pads, bias, residual and relu', async () => {
    const M = 12, G = 2, win: Window = { kernel: [3, 2], strides: [2, 1], pads: [1, 0, 2, 1], dilations: [1, 2] };
    const wt = randomFloats(M * 3 * 2 * (X[3]! / G), 42), bias = randomFloats(M, 43);
    const plain = convNhwc(x, X, wt, M, G, win, bias, null, false);
    const residual = randomFloats(plain.y.length, 44);
    const want = convNhwc(x, X, wt, M, G, win, bias, residual, true);
    const r = await runNetwork((n) => {
      const xi = n.addInput('x', 'float32', X);
      const attrs = { group: G, strides: win.strides, pads: win.pads, dilations: win.dilations, auto_pad: 'NOTSET', activation: 'relu', channels_last: 1 };
      const y = n.addLayer('Convolution', [xi, n.addConstant([M, 3, 2, X[3]! / G], wt), n.addConstant([M], bias), n.addInput('r', 'float32', want.dims)], attrs).output();
      n.markOutput(y, 'y');
      n.markOutput(n.addConvolution(xi, n.addConstant([M, 3, 2, X[3]! / G], wt), n.addConstant([M], bias), { group: G, ...win, kernelShape: win.kernel, channelsLast: true }).output(), 'plain');
    }, { x: [x, X], r: [residual, want.dims] });
    expect(r.out.y!.shape).toEqual(want.dims);
    expectClose(r.out.y!.data as Float32Array, want.y);
    expectClose(r.out.plain!.data as Float32Array, plain.y);
    expect(r.layers.every((l) => l.channelsLast)).toBe(true);
  });

  const pools: Array<[string, 'max' | 'average' | 'global_max' | 'global_average', Window]> = [
    ['max 3x3 stride 2 pads 1', 'max', { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1] }],
    ['average 2x3 stride 1 asymmetric pads', 'average', { kernel: [2, 3], strides: [1, 1], pads: [0, 1, 1, 0], dilations: [1, 1] }],
    ['global max', 'global_max', { kernel: [7, 6], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] }],
    ['global average', 'global_average', { kernel: [7, 6], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] }],
  ];
  for (const [label, mode, win] of pools) {
    it(`Pooling ${label} in NHWC`, async () => {
      const want = poolNhwc(x, X, mode.endsWith('max'), win);
      const r = await runNetwork((n) => {
        const global = mode.startsWith('global');
        const params = global ? { channelsLast: true } : { kernelShape: win.kernel, strides: win.strides, pads: win.pads, channelsLast: true };
        n.markOutput(n.addPooling(n.addInput('x', 'float32', X), mode, params).output(), 'y');
      }, { x: [x, X] });
      expect(r.out.y!.shape).toEqual(want.dims);
      expectClose(r.out.y!.data as Float32Array, want.y);
    });
  }

  it('rejects bad channels_last layers with typed errors', () => {
    const builder = new Builder({ backend: 'cpu' });
    using n = builder.createNetwork();
    const x4 = n.addInput('x', 'float32', [1, 5, 5, 8]);
    const x3 = n.addInput('x3', 'float32', [1, 5, 8]);
    const w = n.addConstant([4, 3, 3, 8], randomFloats(4 * 9 * 8, 1));
    let e = thrown(() => n.addLayer('Convolution', [x4, w], { channels_last: 2 }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/channels_last.*0 or 1, got 2/);
    e = thrown(() => n.addPooling(x4, 'max', { kernelShape: [2, 2], channelsLast: 'false' as unknown as boolean }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe("addPooling: channelsLast must be a boolean, got 'false'");
    e = thrown(() => n.addConvolution(x3, n.addConstant([4, 3, 8], randomFloats(96, 2)), null, { channelsLast: true }));
    expect(e.code).toBe('SHAPE_MISMATCH');
    expect(e.message).toMatch(/rank-4 input/);
    e = thrown(() => n.addConvolution(x4, n.addConstant([4, 8, 3, 3], randomFloats(288, 3)), null, { channelsLast: true }));  // NCHW-ordered weights
    expect(e.code).toBe('SHAPE_MISMATCH');
    expect(e.message).toMatch(/\[M, kH, kW, C\/group\]/);
    e = thrown(() => n.addPooling(x3, 'global_max', { channelsLast: true }));
    expect(e.code).toBe('SHAPE_MISMATCH');
  });
});

// ---------- the builder pass on ONNX models built here ----------

const relu = (i: string, o: string) => node('Relu', [i], [o]);
const conv = (i: string, w: string, o: string, attrs: Record<string, number[] | number> = {}) => node('Conv', [i, w], [o], attrs);
const weights = (name: string, dims: number[], seed: number) => tensor(name, T.FLOAT, dims, randomFloats(numel(dims), seed));

/** A ResNet-style stem: conv-relu, conv + identity shortcut + relu, a per-channel scale, max pool, two 1x1 branches
 * concatenated on channels, average pool, + 0.5, global average pool, flatten. Every conv qualifies (C, M % 8 == 0). */
function resnetBlockModel(): Uint8Array {
  const nodes = [
    node('Conv', ['x', 'w1', 'b1'], ['c1'], { pads: [1, 1, 1, 1] }), relu('c1', 'r1'),
    conv('r1', 'w2', 'c2', { pads: [1, 1, 1, 1] }), node('Add', ['c2', 'x'], ['s2']), relu('s2', 'r2'),
    node('Mul', ['r2', 'scale'], ['m']),
    node('MaxPool', ['m'], ['p'], { kernel_shape: [2, 2], strides: [2, 2] }),
    conv('p', 'w3', 'c3'), relu('c3', 'r3'), conv('p', 'w4', 'c4'),
    node('Concat', ['r3', 'c4'], ['cat'], { axis: 1 }),
    node('AveragePool', ['cat'], ['a'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
    node('Add', ['a', 'half'], ['ah']),
    node('GlobalAveragePool', ['ah'], ['g']), node('Flatten', ['g'], ['y']),
  ];
  const init = [weights('w1', [16, 16, 3, 3], 1), weights('b1', [16], 2), weights('w2', [16, 16, 3, 3], 3), weights('scale', [16, 1, 1], 4),
    weights('w3', [24, 16, 1, 1], 5), weights('w4', [8, 16, 1, 1], 6), tensor('half', T.FLOAT, [], [0.5])];
  return model({ nodes, inputs: [valueInfo('x', T.FLOAT, [2, 16, 8, 8])], outputs: [valueInfo('y', T.FLOAT, [2, 32])], initializers: init });
}

/** Convs that do not qualify (C = 3 with M = 12, C = 12, M = 12, C/group = 3) before one that does. */
function mixedModel(): Uint8Array {
  const nodes = [conv('x', 'w1', 'c1', { pads: [1, 1, 1, 1] }), conv('c1', 'w2', 'c2'), conv('c2', 'w3', 'c3'),
    conv('c3', 'w4', 'c4', { group: 4 }), conv('c4', 'w5', 'c5'), relu('c5', 'y')];
  const init = [weights('w1', [12, 3, 3, 3], 1), weights('w2', [16, 12, 1, 1], 2), weights('w3', [12, 16, 1, 1], 3),
    weights('w4', [16, 3, 1, 1], 4), weights('w5', [16, 16, 1, 1], 5)];
  return model({ nodes, inputs: [valueInfo('x', T.FLOAT, [2, 3, 6, 6])], outputs: [valueInfo('y', T.FLOAT, [2, 16, 6, 6])], initializers: init });
}

/** Weights scaled by 1 / sqrt(fan-in), so fp16 activations stay near 1. */
const scaledWeights = (name: string, dims: number[], seed: number) =>
  tensor(name, T.FLOAT, dims, randomFloats(numel(dims), seed).map((v) => v / Math.sqrt(numel(dims.slice(1)))));

/** A ResNet stem on C input channels: 7x7 stride-2 conv (C -> M, groups) + bias, relu, 3x3 stride-2 max pool, then a
 * 1x1 conv (M -> 16) and relu. */
function stemModel(c: number, m: number, group = 1): Uint8Array {
  const nodes = [node('Conv', ['x', 'w1', 'b1'], ['c1'], { strides: [2, 2], pads: [3, 3, 3, 3], group }), relu('c1', 'r1'),
    node('MaxPool', ['r1'], ['p'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }), conv('p', 'w2', 'c2'), relu('c2', 'y')];
  const init = [scaledWeights('w1', [m, c / group, 7, 7], 1), weights('b1', [m], 2), scaledWeights('w2', [16, m, 1, 1], 3)];
  return model({ nodes, inputs: [valueInfo('x', T.FLOAT, [2, c, 20, 20])], outputs: [valueInfo('y', T.FLOAT, [2, 16, 5, 5])], initializers: init });
}

/** Two stems (3 -> 16 3x3, 3 -> 8 1x1) on one 3-channel input, concatenated with that input on channels. */
function twoStemsModel(): Uint8Array {
  const nodes = [conv('x', 'wa', 'a', { pads: [1, 1, 1, 1] }), conv('x', 'wb', 'b'), node('Concat', ['x', 'a', 'b'], ['cat'], { axis: 1 }), relu('cat', 'y')];
  const init = [weights('wa', [16, 3, 3, 3], 1), weights('wb', [8, 3, 1, 1], 2)];
  return model({ nodes, inputs: [valueInfo('x', T.FLOAT, [2, 3, 6, 6])], outputs: [valueInfo('y', T.FLOAT, [2, 27, 6, 6])], initializers: init });
}

/** A TensorFlow-style graph: NHWC input transposed to NCHW, a depthwise conv and a 1x1 conv, transposed back. */
function nhwcGraphModel(): Uint8Array {
  const nodes = [node('Transpose', ['x'], ['xt'], { perm: [0, 3, 1, 2] }), conv('xt', 'dw', 'd', { group: 16, pads: [1, 1, 1, 1] }),
    relu('d', 'dr'), conv('dr', 'pw', 'c'), node('Transpose', ['c'], ['y'], { perm: [0, 2, 3, 1] })];
  const init = [weights('dw', [16, 1, 3, 3], 1), weights('pw', [24, 16, 1, 1], 2)];
  return model({ nodes, inputs: [valueInfo('x', T.FLOAT, [2, 5, 5, 16])], outputs: [valueInfo('y', T.FLOAT, [2, 5, 5, 24])], initializers: init });
}

interface Built {
  log: string[];
  layers: EngineLayer[];
  out: Record<string, Float32Array>;
}

async function buildOnnx(bytes: Uint8Array, inputs: Record<string, HostTensor>, config: BuilderConfigOptions): Promise<Built> {
  const builder = new Builder({ backend: 'cpu' });
  const network = builder.createNetwork();
  const parsed = OnnxParser.parse(network, bytes);
  const first = inputs[parsed.inputs[0]!]!.dims;
  const profiles = [{ [parsed.inputs[0]!]: { min: first, opt: first, max: first } }];
  const plan = await builder.build(network, builder.createConfig({ profiles, ...config }));
  network.dispose();
  const engine = await Runtime.load(plan);
  const out = await engine.createContext().infer(Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, { data: t.data as Float32Array, shape: t.dims }])));
  const layers = engine.layers;
  engine.dispose();
  return { log: [...plan.buildLog], layers, out: Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array])) };
}

const line = (b: Built): string | undefined => b.log.find((l) => l.startsWith('channels-last:'));
const count = (b: Built, kind: string, nhwc?: boolean): number => b.layers.filter((l) => l.kind === kind && (nhwc === undefined || !!l.channelsLast === nhwc)).length;
const input = (dims: number[], seed = 7): HostTensor => ({ dtype: 'float32', dims, data: randomFloats(numel(dims), seed) });

function expectSame(a: Record<string, Float32Array>, b: Record<string, Float32Array>): void {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const [k, v] of Object.entries(a)) expect(Buffer.from(v.buffer, v.byteOffset, v.byteLength).equals(Buffer.from(b[k]!.buffer, b[k]!.byteOffset, b[k]!.byteLength)), k).toBe(true);
}

describe('the channels-last pass', () => {
  it('converts a ResNet-style block: one transpose in, one out; pooling, scale, concat and adds stay NHWC', async () => {
    const bytes = resnetBlockModel();
    const feeds = { x: input([2, 16, 8, 8]) };
    const on = await buildOnnx(bytes, feeds, { channelsLast: true });
    expect(line(on)).toBe('channels-last: 4 convolutions, 3 pooling layers, 3 elementwise/concat layers in NHWC, 2 transposes inserted');
    expect(count(on, 'Convolution', true)).toBe(4);
    expect(count(on, 'Convolution', false)).toBe(0);
    expect(count(on, 'Pooling', true)).toBe(3);
    expect(count(on, 'Transpose')).toBe(2);
    expect(on.layers[0]!.kind).toBe('Transpose');  // x -> NHWC, shared by the first conv and the fused shortcut
    expect(on.layers.at(-2)!.kind).toBe('Transpose');  // [2, 1, 1, 32] back to NCHW before Flatten
    expectClose(on.out.y!, (await runOrt(bytes, feeds)).y!.data as Float32Array, 1e-5);
    const off = await buildOnnx(bytes, feeds, { channelsLast: false });
    expect(line(off)).toBeUndefined();
    expect(off.layers.some((l) => l.channelsLast)).toBe(false);
    expectSame(on.out, off.out);
  });

  it('leaves convolutions whose channels per group are not multiples of 8 in NCHW', async () => {
    const bytes = mixedModel();
    const feeds = { x: input([2, 3, 6, 6]) };
    const on = await buildOnnx(bytes, feeds, { channelsLast: true });
    expect(on.layers.filter((l) => l.kind === 'Convolution').map((l) => !!l.channelsLast)).toEqual([false, false, false, false, true]);
    expect(count(on, 'Transpose')).toBe(2);
    expect(count(on, 'Pad')).toBe(0);
    expect(line(on)).toMatch(/^channels-last: 1 convolutions, 0 pooling layers, 0 elementwise\/concat layers in NHWC, 2 transposes inserted$/);
    expectClose(on.out.y!, (await runOrt(bytes, feeds)).y!.data as Float32Array, 1e-5);
    expectSame(on.out, (await buildOnnx(bytes, feeds, { channelsLast: false })).out);
  });

  for (const c of [3, 1]) {
    for (const fp16 of [false, true]) {
      it(`pads a C = ${c} stem's channels to 8 and converts it and its max pool (${fp16 ? 'fp16' : 'fp32'})`, async () => {
        const bytes = stemModel(c, 16);
        const feeds = { x: input([2, c, 20, 20]) };
        const precision: BuilderConfigOptions = fp16 ? { precision: ['fp16'] } : {};
        const on = await buildOnnx(bytes, feeds, { ...precision, channelsLast: true });
        expect(line(on)).toBe(`channels-last: 2 convolutions (1 with channels padded ${c} -> 8), 1 pooling layers, 0 elementwise/concat layers in NHWC, 2 transposes inserted`);
        expect(on.layers.map((l) => `${l.kind}${l.channelsLast ? ' nhwc' : ''}`)).toEqual(['Transpose', 'Pad', 'Convolution nhwc', 'Pooling nhwc', 'Convolution nhwc', 'Transpose']);
        const [toNhwc, pad, stem] = on.layers;
        expect(pad!.inputs[0]).toBe(toNhwc!.outputs[0]);
        expect(on.layers.filter((l) => l.inputs.includes(pad!.outputs[0]!))).toEqual([stem]);  // the padded copy is the stem's alone
        expect(on.layers.every((l) => l.precision === (fp16 ? 'fp16' : 'fp32'))).toBe(true);
        expectClose(on.out.y!, (await runOrt(bytes, feeds)).y!.data as Float32Array, fp16 ? 1e-2 : 1e-5);
        const off = await buildOnnx(bytes, feeds, { ...precision, channelsLast: false });
        expect(off.layers.map((l) => l.kind)).toEqual(['Convolution', 'Pooling', 'Convolution']);
        expectSame(on.out, off.out);
      });
    }
  }

  for (const [m, group] of [[12, 1], [24, 3]] as const) {
    it(`leaves a C = 3 stem with M = ${m}, group ${group} in NCHW`, async () => {
      const bytes = stemModel(3, m, group);
      const feeds = { x: input([2, 3, 20, 20]) };
      const on = await buildOnnx(bytes, feeds, { channelsLast: true });
      expect(on.layers.filter((l) => l.kind !== 'Transpose').map((l) => `${l.kind}${l.channelsLast ? ' nhwc' : ''}`))
        .toEqual(['Convolution', 'Pooling', m % 8 === 0 ? 'Convolution nhwc' : 'Convolution']);  // M = 24 -> 16 converts
      expect(count(on, 'Pad')).toBe(0);
      expect(line(on) ?? '').not.toMatch(/padded/);
      expectClose(on.out.y!, (await runOrt(bytes, feeds)).y!.data as Float32Array, 1e-5);
      expectSame(on.out, (await buildOnnx(bytes, feeds, { channelsLast: false })).out);
    });
  }

  it('shares one padded copy between the stems of one input; other readers get the unpadded NHWC input', async () => {
    const bytes = twoStemsModel();
    const feeds = { x: input([2, 3, 6, 6]) };
    const on = await buildOnnx(bytes, feeds, { channelsLast: true });
    expect(line(on)).toBe('channels-last: 2 convolutions (2 with channels padded 3 -> 8), 0 pooling layers, 2 elementwise/concat layers in NHWC, 2 transposes inserted');
    expect(on.layers.map((l) => `${l.kind}${l.channelsLast ? ' nhwc' : ''}`)).toEqual(['Transpose', 'Pad', 'Convolution nhwc', 'Convolution nhwc', 'Concat', 'Activation', 'Transpose']);
    const [toNhwc, pad, a, b, cat] = on.layers;
    expect([a!.inputs[0], b!.inputs[0]]).toEqual([pad!.outputs[0], pad!.outputs[0]]);
    expect(cat!.inputs).toEqual([toNhwc!.outputs[0], a!.outputs[0], b!.outputs[0]]);  // x's 3 channels, not the padded 8
    expectClose(on.out.y!, (await runOrt(bytes, feeds)).y!.data as Float32Array, 1e-5);
    expectSame(on.out, (await buildOnnx(bytes, feeds, { channelsLast: false })).out);
  });

  it("cancels the model's own NHWC <-> NCHW transposes against the inserted ones (depthwise convs convert)", async () => {
    const bytes = nhwcGraphModel();
    const feeds = { x: input([2, 5, 5, 16]) };
    const on = await buildOnnx(bytes, feeds, { channelsLast: true });
    expect(on.layers.map((l) => `${l.kind}${l.channelsLast ? ' nhwc' : ''}`)).toEqual(['Convolution nhwc', 'Convolution nhwc']);
    expect(line(on)).toMatch(/0 transposes inserted; 4 back-to-back transposes removed$/);
    expect(on.layers[0]!.inputs[0]).toBe('x');
    expect(on.layers[1]!.outputs[0]).toBe('y');
    expectClose(on.out.y!, (await runOrt(bytes, feeds)).y!.data as Float32Array, 1e-5);
  });

  it('keeps an NHWC tensor that is also a network output available in NCHW under its name', async () => {
    const r = await runNetwork((n) => {
      const x = n.addInput('x', 'float32', [1, 8, 4, 4]);
      const c = n.addConvolution(x, n.addConstant([8, 8, 1, 1], randomFloats(64, 5)), null).output();
      n.markOutput(c, 'mid');
      n.markOutput(n.addConvolution(c, n.addConstant([8, 8, 1, 1], randomFloats(64, 6)), null).output(), 'y');
    }, { x: [randomFloats(128, 7), [1, 8, 4, 4]] }, { channelsLast: true });
    const plain = await runNetwork((n) => {
      const x = n.addInput('x', 'float32', [1, 8, 4, 4]);
      const c = n.addConvolution(x, n.addConstant([8, 8, 1, 1], randomFloats(64, 5)), null).output();
      n.markOutput(c, 'mid');
      n.markOutput(n.addConvolution(c, n.addConstant([8, 8, 1, 1], randomFloats(64, 6)), null).output(), 'y');
    }, { x: [randomFloats(128, 7), [1, 8, 4, 4]] });
    // x in; both convs NHWC; 'mid' and 'y' made NCHW at the end, for the outputs only
    expect(r.layers.map((l) => l.kind)).toEqual(['Transpose', 'Convolution', 'Convolution', 'Transpose', 'Transpose']);
    expect(r.out.mid!.shape).toEqual([1, 8, 4, 4]);
    expectClose(r.out.mid!.data as Float32Array, plain.out.mid!.data as Float32Array, 0);
    expectClose(r.out.y!.data as Float32Array, plain.out.y!.data as Float32Array, 0);
  });

  it('gives an fp32 layer its own fp32 transpose of an input an fp16 layer also reads (no fp16 rounding)', async () => {
    const define = (n: NetworkDefinition) => {
      const x = n.addInput('x', 'float32', [1, 8, 4, 4]);
      n.markOutput(n.addConvolution(x, n.addConstant([8, 8, 1, 1], randomFloats(64, 3)), null, { kernelShape: [1, 1] }).output(), 'ya');
      const b = n.addConvolution(x, n.addConstant([8, 8, 1, 1], randomFloats(64, 4)), null, { kernelShape: [1, 1] });
      b.setPrecision('fp32');
      n.markOutput(b.output(), 'yb');
    };
    const run = async (channelsLast: boolean) => {
      const builder = new Builder({ backend: 'cpu' });
      using n = builder.createNetwork();
      define(n);
      using engine = await Runtime.load(await builder.build(n, builder.createConfig({ precision: ['fp16'], channelsLast })));
      using ctx = engine.createContext();
      const transposesIn = engine.layers.filter((l) => l.kind === 'Transpose' && l.inputs[0] === 'x').map((l) => l.precision);
      return { transposesIn, out: await ctx.infer({ x: hostTensor(randomFloats(128, 5), [1, 8, 4, 4]) }) };
    };
    const on = await run(true), off = await run(false);
    expect(on.transposesIn.sort()).toEqual(['fp16', 'fp32']);
    expect(Array.from(on.out.yb!.data as Float32Array)).toEqual(Array.from(off.out.yb!.data as Float32Array));
  });

  it('runs fp16 engines the same as without the pass; auto leaves CPU engines NCHW', async () => {
    const bytes = resnetBlockModel();
    const feeds = { x: input([2, 16, 8, 8]) };
    const on = await buildOnnx(bytes, feeds, { precision: ['fp16'], channelsLast: true });
    expect(count(on, 'Convolution', true)).toBe(4);
    expect(on.layers.filter((l) => l.kind === 'Transpose').map((l) => l.precision)).toEqual(['fp16', 'fp16']);
    const auto = await buildOnnx(bytes, feeds, { precision: ['fp16'] });
    expect(line(auto)).toBeUndefined();
    expect(auto.layers.some((l) => l.channelsLast || l.kind === 'Transpose')).toBe(false);
    expectSame(on.out, auto.out);
    expectClose(on.out.y!, (await runOrt(bytes, feeds)).y!.data as Float32Array, 1e-2);
  });

  it('validates the option (in JS, and again in the addon)', async () => {
    using net = new NetworkDefinition();
    net.markOutput(net.addActivation(net.addInput('x', 'float32', [1, 8, 2, 2]), 'relu').output(), 'y');
    const native = { fp16: false, int8: false, tf32: false, sparseWeights: false, workspaceBytes: 0, backend: 'cpu', profiles: [] };
    let failure: unknown;
    await addon.buildPlan(net.native(), { ...native, channelsLast: 'on' as never }, null).catch((e: unknown) => { failure = e; });
    expect(failure).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/channelsLast must be true, false or 'auto', got/) });
    const builder = new Builder({ backend: 'cpu' });
    for (const bad of ['on', 1, null]) {
      const e = thrown(() => builder.createConfig({ channelsLast: bad as never }));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toMatch(/channelsLast must be true, false or 'auto'/);
    }
    expect(builder.createConfig({}).channelsLast).toBe('auto');
    expect(builder.createConfig({ channelsLast: true }).channelsLast).toBe(true);
  });
});

// ---------- the repo's CNN exports ----------

describe.skipIf(!fs.existsSync(modelsDir))('the channels-last pass on the CNN exports', () => {
  // file, convolutions converted, of them with padded channels, convolutions left NCHW, transposes, Pad layers.
  // The stems (C = 3) are padded; the squeezenet exports' 4-channel squeeze outputs too (each read by 2 convs).
  const cases: Array<[string, number, number, number, number, number]> = [
    ['demo_cnn.onnx', 3, 1, 0, 2, 1],
    ['resnet_torchscript_op13.onnx', 12, 1, 0, 2, 1],
    ['resnet_dynamo_op18.onnx', 12, 1, 0, 2, 1],
    ['mobilenetv2_torchscript_op13.onnx', 25, 1, 0, 2, 1],
    ['mobilenetv2_dynamo_op18.onnx', 25, 1, 0, 2, 1],
    ['squeezenet_torchscript_op13.onnx', 14, 5, 6, 8, 3],
    ['squeezenet_dynamo_op18.onnx', 14, 5, 6, 8, 3],
    ['shufflenetv2_torchscript_op17.onnx', 18, 1, 8, 14, 1],
    ['shufflenetv2_dynamo_op18.onnx', 26, 1, 0, 14, 1],
  ];
  for (const [file, nhwc, padded, nchw, transposes, pads] of cases) {
    it(`${file}: ${nhwc} convolutions NHWC (${padded} padded), ${transposes} transposes; matches onnxruntime and the NCHW build`, async () => {
      const bytes = new Uint8Array(fs.readFileSync(path.join(modelsDir, file)));
      const side = file === 'demo_cnn.onnx' ? 32 : 64;
      const dims = [2, 3, side, side];
      const data = Float32Array.from({ length: numel(dims) }, (_, i) => Math.sin(i * 0.37) + 0.5 * Math.cos(i * 0.011));
      const feeds: Record<string, HostTensor> = { input: { dtype: 'float32', dims, data } };
      const on = await buildOnnx(bytes, feeds, { channelsLast: true });
      expect([count(on, 'Convolution', true), count(on, 'Convolution', false)]).toEqual([nhwc, nchw]);
      expect(line(on)).toMatch(new RegExp(`^channels-last: ${nhwc} convolutions \\(${padded} with channels padded [\\d/]+ -> 8\\), .* ${transposes} transposes inserted$`));
      const before = (await buildOnnx(bytes, feeds, { channelsLast: false }));
      expect(count(on, 'Transpose') - count(before, 'Transpose')).toBe(transposes);
      expect(count(on, 'Pad') - count(before, 'Pad')).toBe(pads);
      const theirs = await runOrt(bytes, feeds);
      for (const [name, want] of Object.entries(theirs)) expectClose(on.out[name]!, want.data as Float32Array, 1e-4);
      expectSame(on.out, before.out);
    });
  }
});


