/**
 * Implicit INT8 on the CPU reference backend: calibration, the INT8 layer pass, and the INT8 layers' arithmetic,
 * checked bit for bit against the plain-JS reference in int8-reference.ts (int8 operands, exact integer sums,
 * float32 epilogue), plus calibration caches in both formats and the typed errors.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Builder, EntropyCalibrator, InferrtError, MinMaxCalibrator, PercentileCalibrator, Runtime, tensor, type NetworkDefinition,
  type NetworkTensor,
  fromFloat16Bits, parseCalibrationCache, scaleOfAmax, toFloat16Bits,
} from '../../lib/index.js';
import { seededUniform } from '../seeded-uniform.js';
import { gelu, int8Conv2d, int8MatMul, maxAbs } from './int8-reference.js';

function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const next = seededUniform(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * next());
}

const M = 6, K = 24, N = 10;
const x = uniform(M * K, 1, -3, 3);
const w = uniform(K * N, 2);
const bias = uniform(N, 3, -0.5, 0.5);

/** x [M, K] → MatMul(W) + bias → relu → 'y'. */
function defineMatMul(n: NetworkDefinition, options: { fp32Layer?: boolean } = {}): void {
  const input = n.addInput('x', 'float32', [M, K]);
  const mm = n.addMatrixMultiply(input, n.addConstant([K, N], w, { name: 'W' }), { name: 'fc' });
  if (options.fp32Layer) mm.setPrecision('fp32');
  const add = n.addElementWise(mm.output(), n.addConstant([N], bias, { name: 'b' }), 'add');
  n.markOutput(n.addActivation(add.output(), 'relu').output(), 'y');
}

async function build(define: (n: NetworkDefinition) => void, config: Parameters<Builder['createConfig']>[0]) {
  const builder = new Builder({ backend: 'cpu' });
  using network = builder.createNetwork();
  define(network);
  const plan = await builder.build(network, builder.createConfig(config));
  return { plan, engine: await Runtime.load(plan) };
}

async function run(define: (n: NetworkDefinition) => void, feeds: Record<string, ReturnType<typeof tensor>>, config: Parameters<Builder['createConfig']>[0]) {
  const { plan, engine } = await build(define, config);
  using e = engine;
  using ctx = e.createContext();
  const out = await ctx.infer(feeds);
  return { log: [...plan.buildLog], layers: e.layers, y: out.y.data as Float32Array };
}

const tmp = (name: string) => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'inferrt-int8-')), name);

describe('implicit INT8: calibrated MatMul', () => {
  it('equals the integer reference bit for bit, and reports the layer as int8', async () => {
    const calibrator = new MinMaxCalibrator({ batches: [{ x: tensor(x, [M, K]) }] });
    const r = await run(defineMatMul, { x: tensor(x, [M, K]) }, { precision: ['int8'], int8Calibrator: calibrator });
    const expected = int8MatMul(x, w, bias, M, K, N, scaleOfAmax(maxAbs(x)), true);
    expect(Array.from(r.y)).toEqual(Array.from(expected));
    // The GEMM fusion took the bias Add and the relu into the MatMul first; the INT8 layer has their epilogue.
    expect(r.layers.filter((l) => l.precision === 'int8').map((l) => l.kind)).toEqual(['QuantizedMatMul']);
    expect(r.log.some((l) => l.startsWith('int8: 1 of 1 MatMul/Convolution layers run in int8: '))).toBe(true);
    expect(calibrator.scales?.get('x')).toBe(scaleOfAmax(maxAbs(x)));
  });

  it('leaves the replaced float weights out of the plan', async () => {
    const fp32 = await build(defineMatMul, { precision: [] });
    const int8 = await build(defineMatMul, { precision: ['int8'], int8Calibrator: new MinMaxCalibrator({ batches: [{ x: tensor(x, [M, K]) }] }) });
    fp32.engine.dispose();
    int8.engine.dispose();
    // W is 960 bytes of float32; its int8 form 240 bytes plus 40 of scales and the QuantizeLinear layer's few: with
    // the float W kept as well, the INT8 plan would be the larger one.
    expect(int8.plan.bytes.length).toBeLessThan(fp32.plan.bytes.length - 300);
  });

  it('in an fp16 build writes fp16 values (half_output): the reference rounded to fp16', async () => {
    const calibrator = new MinMaxCalibrator({ batches: [{ x: tensor(x, [M, K]) }] });
    const r = await run(defineMatMul, { x: tensor(x, [M, K]) }, { precision: ['fp16', 'int8'], int8Calibrator: calibrator });
    const expected = int8MatMul(x, w, bias, M, K, N, scaleOfAmax(maxAbs(x)), true);
    const want = fromFloat16Bits(toFloat16Bits(expected));
    expect(Array.from(r.y)).toEqual(Array.from(want));
    // Bias and relu went into the INT8 layer (GEMM fusion first), so its output is rounded to fp16 once.
    expect(r.layers.map((l) => `${l.kind}:${l.precision}`)).toEqual(['QuantizeLinear:fp32', 'QuantizedMatMul:int8']);
  });

  it('stays float where the user set fp32, or without a scale, and says why', async () => {
    const calibrator = new MinMaxCalibrator({ batches: [{ x: tensor(x, [M, K]) }] });
    const pinned = await run((n) => defineMatMul(n, { fp32Layer: true }), { x: tensor(x, [M, K]) }, { precision: ['int8'], int8Calibrator: calibrator });
    expect(pinned.log).toContain('int8: stay float: fc (its precision is set to fp32)');
    expect(pinned.layers.find((l) => l.name === 'fc')?.precision).toBe('fp32');
    const unscaled = await run(defineMatMul, { x: tensor(x, [M, K]) }, { precision: ['int8'] });
    expect(unscaled.log.some((l) => /^int8: stay float: \S+ \(no INT8 scale for its input 'x'\)$/.test(l))).toBe(true);
    expect(unscaled.log).toContain('precision: no layer runs in int8');
  });
});

describe('implicit INT8: calibrated convolution', () => {
  const xDims: [number, number, number, number] = [2, 3, 7, 6];
  const wDims: [number, number, number, number] = [5, 3, 3, 3];
  const cx = uniform(2 * 3 * 7 * 6, 4, -2, 2);
  const cw = uniform(5 * 27, 5);
  const cb = uniform(5, 6, -0.3, 0.3);
  const defineConv = (n: NetworkDefinition) => {
    const input = n.addInput('x', 'float32', xDims);
    const conv = n.addConvolution(input, n.addConstant(wDims, cw, { name: 'W' }), n.addConstant([5], cb, { name: 'b' }), { pads: [1, 1, 1, 1], name: 'conv' });
    n.markOutput(n.addActivation(conv.output(), 'relu').output(), 'y');
  };

  for (const [label, make] of [
    ['min-max', () => new MinMaxCalibrator({ batches: [{ x: tensor(cx, xDims) }] })],
    ['entropy', () => new EntropyCalibrator({ batches: [{ x: tensor(cx, xDims) }] })],
    ['percentile', () => new PercentileCalibrator({ batches: [{ x: tensor(cx, xDims) }], percentile: 99 })],
  ] as const) {
    it(`equals the integer reference bit for bit at the ${label} calibrator's scale`, async () => {
      const calibrator = make();
      const r = await run(defineConv, { x: tensor(cx, xDims) }, { precision: ['int8'], int8Calibrator: calibrator });
      const scale = calibrator.scales!.get('x')!;
      expect(scale).toBeGreaterThan(0);
      if (label === 'min-max') expect(scale).toBe(scaleOfAmax(maxAbs(cx)));
      else expect(scale).toBeLessThanOrEqual(scaleOfAmax(maxAbs(cx)) * 1.001);
      expect(Array.from(r.y)).toEqual(Array.from(int8Conv2d(cx, xDims, cw, wDims, cb, 1, scale, true)));
      expect(r.layers.filter((l) => l.precision === 'int8').map((l) => l.kind)).toEqual(['QuantizedConvolution']);
    });
  }

  it('stays fp16 in an fp16 build when it has fewer than 16 input channels per group, and says why', async () => {
    const calibrator = new MinMaxCalibrator({ batches: [{ x: tensor(cx, xDims) }] });
    const r = await run(defineConv, { x: tensor(cx, xDims) }, { precision: ['fp16', 'int8'], int8Calibrator: calibrator });
    expect(r.log.some((l) => /^int8: stay float: \S+ \(C\/group = 3 < 16: fp16 is faster\)$/.test(l))).toBe(true);
    expect(r.layers.find((l) => l.kind === 'Convolution')?.precision).toBe('fp16');
    expect(r.layers.some((l) => l.precision === 'int8')).toBe(false);
  });
});

describe('implicit INT8: channels-last convolution (C = M = 16, residual)', () => {
  const xDims: [number, number, number, number] = [2, 16, 5, 6];
  const wDims: [number, number, number, number] = [16, 16, 3, 3];
  const cx = uniform(2 * 16 * 5 * 6, 7, -2, 2);
  const cw = uniform(16 * 16 * 9, 8);
  const cb = uniform(16, 9, -0.3, 0.3);
  // relu(conv(x) + b + x): the conv fusion takes the Add as the INT8 layer's residual.
  const defineBlock = (n: NetworkDefinition) => {
    const input = n.addInput('x', 'float32', xDims);
    const conv = n.addConvolution(input, n.addConstant(wDims, cw, { name: 'W' }), n.addConstant([16], cb, { name: 'b' }), { pads: [1, 1, 1, 1], name: 'conv' });
    n.markOutput(n.addActivation(n.addElementWise(conv.output(), input, 'add').output(), 'relu').output(), 'y');
  };
  const feeds = { x: tensor(cx, xDims) };

  for (const precision of [['int8'], ['fp16', 'int8']] as const) {
    it(`runs NHWC and gives the NCHW layer's results bit for bit (${precision.join(' + ')})`, async () => {
      const calibrator = new MinMaxCalibrator({ batches: [feeds] });
      const nhwc = await run(defineBlock, feeds, { precision: [...precision], int8Calibrator: calibrator, channelsLast: true });
      const nchw = await run(defineBlock, feeds, { precision: [...precision], int8Calibrator: calibrator, channelsLast: false });
      const conv = nhwc.layers.find((l) => l.kind === 'QuantizedConvolution');
      expect(conv?.channelsLast).toBe(true);
      expect(conv?.inputs).toHaveLength(5);  // x, w, dequantScale, bias, residual
      expect(nchw.layers.find((l) => l.kind === 'QuantizedConvolution')?.channelsLast).toBeUndefined();
      expect(nhwc.log.find((l) => l.startsWith('channels-last:'))).toMatch(/^channels-last: 1 convolutions, .* 3 transposes inserted$/);
      expect(Buffer.from(nhwc.y.buffer).equals(Buffer.from(nchw.y.buffer))).toBe(true);
      if (precision.length === 1) {  // against the reference: relu(int8 conv + x), the residual added before relu
        const scale = calibrator.scales!.get('x')!;
        const plain = int8Conv2d(cx, xDims, cw, wDims, cb, 1, scale, false);
        const want = plain.map((v, i) => Math.max(0, Math.fround(v + cx[i]!)));
        expect(Array.from(nhwc.y)).toEqual(Array.from(want));
      }
    });
  }
});

describe('implicit INT8: a channels-last convolution writing int8 for the next one (output_scale)', () => {
  const xDims: [number, number, number, number] = [2, 16, 6, 5];
  const cx = uniform(2 * 16 * 6 * 5, 10, -2, 2);
  const w1 = uniform(16 * 16 * 9, 11), w2 = uniform(32 * 16, 12), b1 = uniform(16, 13, -0.3, 0.3);
  // conv 3x3 + relu -> conv 1x1: the first one's output is read only by the second's QuantizeLinear.
  const defineChain = (n: NetworkDefinition) => {
    const input = n.addInput('x', 'float32', xDims);
    const c1 = n.addConvolution(input, n.addConstant([16, 16, 3, 3], w1), n.addConstant([16], b1), { pads: [1, 1, 1, 1], name: 'c1' });
    const h = n.addActivation(c1.output(), 'relu', { name: 'h' }).output();
    n.markOutput(n.addConvolution(h, n.addConstant([32, 16, 1, 1], w2), null, { name: 'c2' }).output(), 'y');
  };
  const feeds = { x: tensor(cx, xDims) };

  it('drops the QuantizeLinear between them and gives the unfused build\'s outputs bit for bit (int8)', async () => {
    const calibrator = new MinMaxCalibrator({ batches: [feeds] });
    const fused = await run(defineChain, feeds, { precision: ['int8'], int8Calibrator: calibrator, channelsLast: true });
    const plain = await run(defineChain, feeds, { precision: ['int8'], int8Calibrator: calibrator, channelsLast: false });
    expect(fused.log).toContain('int8 outputs: 1 channels-last convolution write int8 for the QuantizeLinear layers that read them');
    expect(plain.log.some((l) => l.startsWith('int8 outputs:'))).toBe(false);
    expect(fused.layers.filter((l) => l.kind === 'QuantizeLinear')).toHaveLength(1);  // x's only
    expect(plain.layers.filter((l) => l.kind === 'QuantizeLinear')).toHaveLength(2);
    expect(fused.layers.filter((l) => l.kind === 'QuantizedConvolution' && l.channelsLast)).toHaveLength(2);
    // Unfused, the first layer's float32 output is divided by the scale in fp32 and rounded: what the fused one does.
    expect(Buffer.from(fused.y.buffer).equals(Buffer.from(plain.y.buffer))).toBe(true);
    expect(fused.y.some((v) => v !== 0)).toBe(true);
  });

  // h = relu(conv 3x3 (x)); y = relu(conv 3x3 (h) + h): the second convolution reads h as int8 and as its residual.
  const w3 = uniform(16 * 16 * 9, 14);
  const defineBlock = (exposeH: boolean) => (n: NetworkDefinition) => {
    const input = n.addInput('x', 'float32', xDims);
    const h = n.addActivation(n.addConvolution(input, n.addConstant([16, 16, 3, 3], w1), n.addConstant([16], b1), { pads: [1, 1, 1, 1] }).output(), 'relu').output();
    const c2 = n.addConvolution(h, n.addConstant([16, 16, 3, 3], w3), null, { pads: [1, 1, 1, 1] });
    n.markOutput(n.addActivation(n.addElementWise(c2.output(), h, 'add').output(), 'relu').output(), 'y');
    if (exposeH) n.markOutput(h, 'h');
  };

  for (const precision of [['int8'], ['fp16', 'int8']] as const) {
    it(`writes the int8 values as a second output where h stays a float output, bit for bit (${precision.join(' + ')})`, async () => {
      const calibrator = new MinMaxCalibrator({ batches: [feeds] });
      const config = { precision: [...precision], int8Calibrator: calibrator };
      const fused = await run(defineBlock(true), feeds, { ...config, channelsLast: true });
      const plain = await run(defineBlock(true), feeds, { ...config, channelsLast: false });
      expect(fused.log).toContain('int8 outputs: 1 channels-last convolution write int8 for the QuantizeLinear layers that read them');
      expect(fused.layers.find((l) => l.kind === 'QuantizedConvolution')!.outputs).toHaveLength(2);
      expect(fused.layers.filter((l) => l.kind === 'QuantizeLinear')).toHaveLength(1);
      expect(Buffer.from(fused.y.buffer).equals(Buffer.from(plain.y.buffer))).toBe(true);
    });
  }

  it('reads the residual as int8 where only residuals read the float value: within half a step of it', async () => {
    const calibrator = new MinMaxCalibrator({ batches: [feeds] });
    const fused = await run(defineBlock(false), feeds, { precision: ['int8'], int8Calibrator: calibrator, channelsLast: true });
    const plain = await run(defineBlock(false), feeds, { precision: ['int8'], int8Calibrator: calibrator, channelsLast: false });
    expect(fused.log).toContain('int8 outputs: 1 channels-last convolution write int8 for the QuantizeLinear layers that read them; of those convolutions, 1 write no float output, their readers taking the int8 one as residual');
    const [first] = fused.layers.filter((l) => l.kind === 'QuantizedConvolution');
    expect(first!.outputs).toHaveLength(1);
    // y' = relu((acc * dq / s + q) * s) with q = round(h / s): h moves by half a step at most, y with it.
    const step = Math.max(...calibrator.scales!.values());
    let worst = 0, differing = 0;
    for (let i = 0; i < fused.y.length; i++) {
      worst = Math.max(worst, Math.abs(fused.y[i]! - plain.y[i]!));
      if (fused.y[i] !== plain.y[i]) differing++;
    }
    expect(differing).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(0.5 * step * 1.0001);
  });

  it('in an fp16 build quantizes the unrounded float value: within a quantization step of the unfused build', async () => {
    const calibrator = new MinMaxCalibrator({ batches: [feeds] });
    const fused = await run(defineChain, feeds, { precision: ['fp16', 'int8'], int8Calibrator: calibrator, channelsLast: true });
    const plain = await run(defineChain, feeds, { precision: ['fp16', 'int8'], int8Calibrator: calibrator, channelsLast: false });
    expect(fused.layers.filter((l) => l.kind === 'QuantizeLinear')).toHaveLength(1);
    let differing = 0, worst = 0;
    for (let i = 0; i < fused.y.length; i++) {
      if (fused.y[i] !== plain.y[i]) differing++;
      worst = Math.max(worst, Math.abs(fused.y[i]! - plain.y[i]!));
    }
    // Unfused, the value is rounded to fp16 before the division: that moves an int8 value by one at most, and for a
    // few values; each moves the 32 outputs of its position by a weight times the scale.
    expect(differing).toBeGreaterThan(0);
    expect(differing).toBeLessThan(fused.y.length / 5);
    expect(worst).toBeLessThan(0.05 * Math.max(...Array.from(plain.y, Math.abs)));
  });
});

describe('implicit INT8: a max pooling writing int8 for the next convolution (output_scale)', () => {
  const xDims: [number, number, number, number] = [2, 16, 9, 8];
  const cx = uniform(2 * 16 * 9 * 8, 20, -2, 2);
  const w1 = uniform(16 * 16 * 9, 21), w2 = uniform(32 * 16, 22), b1 = uniform(16, 23, -0.3, 0.3);
  // conv 3x3 + relu -> max pool 3x3 stride 2 pad 1 (ResNet's stem pool) -> conv 1x1. With `exposePool` the pool's
  // float output is also a network output, which keeps its QuantizeLinear: the unfused build.
  const defineStem = (exposePool: boolean, mode: 'max' | 'global_max') => (n: NetworkDefinition) => {
    const input = n.addInput('x', 'float32', xDims);
    const c1 = n.addConvolution(input, n.addConstant([16, 16, 3, 3], w1), n.addConstant([16], b1), { pads: [1, 1, 1, 1] });
    const h = n.addActivation(c1.output(), 'relu').output();
    const window = mode === 'max' ? { kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } : {};
    const p = n.addPooling(h, mode, { ...window, name: 'pool' }).output();
    n.markOutput(n.addConvolution(p, n.addConstant([32, 16, 1, 1], w2), null, { name: 'c2' }).output(), 'y');
    if (exposePool) n.markOutput(p, 'p');
  };
  const feeds = { x: tensor(cx, xDims) };

  for (const mode of ['max', 'global_max'] as const) {
    for (const precision of [['int8'], ['fp16', 'int8']] as const) {
      it(`drops the QuantizeLinear after the ${mode} pool, bit for bit with the unfused build (${precision.join(' + ')})`, async () => {
        // A calibrator each: scales go by tensor name, and marking the pool's output renames it (min-max gives both
        // the same scale: the pool computes the same values).
        const config = () => ({ precision: [...precision], int8Calibrator: new MinMaxCalibrator({ batches: [feeds] }) });
        const fused = await run(defineStem(false, mode), feeds, config());
        const plain = await run(defineStem(true, mode), feeds, config());
        expect(fused.log).toContain('int8 outputs: 1 max pooling write int8 for the QuantizeLinear layers that read them');
        expect(plain.log.some((l) => l.startsWith('int8 outputs:'))).toBe(false);
        expect(fused.layers.filter((l) => l.kind === 'QuantizeLinear')).toHaveLength(1);  // x's only
        expect(plain.layers.filter((l) => l.kind === 'QuantizeLinear')).toHaveLength(2);
        // The fused pool quantizes the maximum it computes by the QuantizeLinear's rule.
        expect(Buffer.from(fused.y.buffer).equals(Buffer.from(plain.y.buffer))).toBe(true);
        expect(fused.y.some((v) => v !== 0)).toBe(true);
      });
    }
  }

  it('NaN, infinities, signed zeros and windows past the edge (ceil_mode) give the unfused values (fp16 + int8)', async () => {
    // x -> max pool 2x2 stride 2 ceil_mode (its last row and column of windows hang over the edge) -> conv 1x1: the
    // pool reads the network input, so the feed's special values reach it. Calibrated on finite values.
    const dims: [number, number, number, number] = [1, 16, 5, 5];
    const define = (exposePool: boolean) => (n: NetworkDefinition) => {
      const input = n.addInput('x', 'float32', dims);
      const p = n.addPooling(input, 'max', { kernelShape: [2, 2], strides: [2, 2], ceilMode: true }).output();
      n.markOutput(n.addConvolution(p, n.addConstant([32, 16, 1, 1], w2), null).output(), 'y');
      if (exposePool) n.markOutput(p, 'p');
    };
    const finite = uniform(16 * 25, 24, -2, 2);
    const special = finite.slice();
    const values = [NaN, Infinity, -Infinity, -0, 0, 1e6, -1e6];
    for (let i = 0; i < special.length; i += 3) special[i] = values[(i / 3) % values.length]!;
    const calibrated = () => new MinMaxCalibrator({ batches: [{ x: tensor(finite, dims) }] });
    const feedsWithSpecials = { x: tensor(special, dims) };
    const fused = await run(define(false), feedsWithSpecials, { precision: ['fp16', 'int8'], int8Calibrator: calibrated() });
    const plain = await run(define(true), feedsWithSpecials, { precision: ['fp16', 'int8'], int8Calibrator: calibrated() });
    expect(fused.log).toContain('int8 outputs: 1 max pooling write int8 for the QuantizeLinear layers that read them');
    expect(Buffer.from(fused.y.buffer).equals(Buffer.from(plain.y.buffer))).toBe(true);
    expect(fused.y.some((v) => v !== 0)).toBe(true);
  });

  it('rejects output_scale on an average pooling or an integer input, naming the layer', async () => {
    const builder = new Builder({ backend: 'cpu' });
    using n = builder.createNetwork();
    const x = n.addInput('x', 'float32', [1, 2, 4, 4]);
    const xi = n.addCast(x, 'int32').output();
    const window = { kernel_shape: [2, 2], output_scale: 0.125 };
    expect(() => n.addLayer('Pooling', [x], { mode: 'average', ...window }, { name: 'avg' }))
      .toThrow(/layer 'avg' \(Pooling\): Pooling with output_scale needs max pooling of a float input, got mode 'average' on float32/);
    expect(() => n.addLayer('Pooling', [xi], { mode: 'max', ...window }, { name: 'imax' }))
      .toThrow(/layer 'imax' \(Pooling\): Pooling with output_scale needs max pooling of a float input, got mode 'max' on int32/);
  });
});

describe('implicit INT8: an fp16-engine GEMM writing int8 for the next one (output_scale)', () => {
  // K1 and K2 multiples of 16: the first GEMM is one CUDA runs on cuDNN, which fuses the int8 output (with K2 = 40
  // it would not, and the QuantizeLinear stays).
  const K1 = 32;
  const x1 = uniform(M * K1, 20, -3, 3);
  const w1 = uniform(K1 * 48, 21), b1 = uniform(48, 22, -0.3, 0.3), w2 = uniform(48 * N, 23);
  // x -> MatMul + bias + relu (h) -> MatMul: the first GEMM's output is read only by the second's QuantizeLinear
  // (BERT's FFN-in and FFN-out), unless h is an output too.
  const defineChain = (exposeH: boolean, K2 = 32, act: 'relu' | 'gelu' = 'relu') => (n: NetworkDefinition) => {
    const input = n.addInput('x', 'float32', [M, K1]);
    const mm = n.addMatrixMultiply(input, n.addConstant([K1, K2], w1.subarray(0, K1 * K2)), { name: 'fc1' }).output();
    const h = n.addActivation(n.addElementWise(mm, n.addConstant([K2], b1.subarray(0, K2)), 'add').output(), act, { name: 'h' }).output();
    n.markOutput(n.addMatrixMultiply(h, n.addConstant([K2, N], w2.subarray(0, K2 * N)), { name: 'fc2' }).output(), 'y');
    if (exposeH) n.markOutput(h, 'h');
  };
  const K2 = 32;
  const feeds = { x: tensor(x1, [M, K1]) };
  const half = (v: Float32Array) => fromFloat16Bits(toFloat16Bits(v));

  for (const exposeH of [false, true]) {
    it(`drops the QuantizeLinear between them: ${exposeH ? 'int8 values beside h, from h as stored in fp16' : 'int8 values alone, from the unrounded value'}`, async () => {
      const calibrator = new MinMaxCalibrator({ batches: [feeds] });
      const r = await run(defineChain(exposeH), feeds, { precision: ['fp16', 'int8'], int8Calibrator: calibrator });
      expect(r.log).toContain('int8 outputs: 1 fp16-engine GEMM write int8 for the QuantizeLinear layers that read them');
      expect(r.layers.filter((l) => l.kind === 'QuantizeLinear')).toHaveLength(1);  // x's only
      const gemms = r.layers.filter((l) => l.kind === 'QuantizedMatMul');
      expect(gemms.map((l) => l.outputs.length)).toEqual([exposeH ? 2 : 1, 1]);
      // The reference: h in float32, its int8 values (from h rounded to fp16 where h is stored), the second GEMM.
      const scales = calibrator.scales!;
      const hScale = scales.get(exposeH ? 'h' : 'h:0')!;  // the relu layer 'h' output, renamed where it is an output
      const h = int8MatMul(x1, w1.subarray(0, K1 * K2), b1.subarray(0, K2), M, K1, K2, scales.get('x')!, true);
      const y = int8MatMul(exposeH ? half(h) : h, w2.subarray(0, K2 * N), new Float32Array(N), M, K2, N, hScale, false);
      expect(Array.from(r.y)).toEqual(Array.from(half(y)));
      expect(r.y.some((v) => v !== 0)).toBe(true);
    });
  }

  it('hands an exact GELU to the QuantizeLinear after the GEMM: GELU of the fp16-rounded pre-activation, quantized (the reference bit for bit)', async () => {
    const calibrator = new MinMaxCalibrator({ batches: [feeds] });
    const r = await run(defineChain(false, K2, 'gelu'), feeds, { precision: ['fp16', 'int8'], int8Calibrator: calibrator });
    expect(r.log).toContain('int8 GELU: 1 fp16-engine GEMM write the pre-activation in fp16 and the QuantizeLinear after each applies the exact GELU');
    expect(r.log.some((l) => l.startsWith('int8 outputs:'))).toBe(false);  // the GEMM keeps its fp16 output
    expect(r.layers.map((l) => l.kind)).toEqual(['QuantizeLinear', 'QuantizedMatMul', 'QuantizeLinear', 'QuantizedMatMul']);
    const scales = calibrator.scales!;
    const pre = half(int8MatMul(x1, w1.subarray(0, K1 * K2), b1.subarray(0, K2), M, K1, K2, scales.get('x')!, false));
    const h = Float32Array.from(pre, gelu);  // int8MatMul quantizes it with h's scale: the QuantizeLinear's values
    const y = int8MatMul(h, w2.subarray(0, K2 * N), new Float32Array(N), M, K2, N, scales.get('h:0')!, false);
    expect(Array.from(r.y)).toEqual(Array.from(half(y)));
    expect(pre.some((v) => v < 0) && pre.some((v) => v > 0)).toBe(true);  // GELU's two sides are both exercised
  });

  it('keeps the GELU in the GEMM where h is also an output (int8 beside it), in int8-only builds and where N is not a multiple of 16', async () => {
    for (const [precision, exposeH, k2] of [[['fp16', 'int8'], true, K2], [['int8'], false, K2], [['fp16', 'int8'], false, 40]] as const) {
      const calibrator = new MinMaxCalibrator({ batches: [feeds] });
      const r = await run(defineChain(exposeH, k2, 'gelu'), feeds, { precision: [...precision], int8Calibrator: calibrator });
      expect(r.log.some((l) => l.startsWith('int8 GELU:')), `${precision.join(' + ')}, h exposed: ${exposeH}, N = ${k2}`).toBe(false);
    }
  });

  it('keeps the QuantizeLinear in int8-only builds and where N is not a multiple of 16 (not a cuDNN GEMM on CUDA)', async () => {
    for (const [precision, k2] of [[['int8'], 32], [['fp16', 'int8'], 40]] as const) {
      const calibrator = new MinMaxCalibrator({ batches: [feeds] });
      const r = await run(defineChain(false, k2), feeds, { precision: [...precision], int8Calibrator: calibrator });
      expect(r.log.some((l) => l.startsWith('int8 outputs:')), `${precision.join(' + ')}, N = ${k2}`).toBe(false);
      expect(r.layers.filter((l) => l.kind === 'QuantizeLinear')).toHaveLength(2);
    }
  });
});

describe('implicit INT8: a layer norm writing int8 beside its float output (output_scale)', () => {
  // x -> LayerNorm (h) -> MatMul -> y: BERT's layer norms, whose output the next GEMM reads in int8 and the residual
  // path in float (here: h is also a network output).
  const D = 32;
  const lx = uniform(M * D, 30, -3, 3), gamma = uniform(D, 31, 0.5, 1.5), beta = uniform(D, 32, -0.2, 0.2);
  const lw = uniform(D * N, 33);
  const defineNormGemm = (exposeH: boolean) => (n: NetworkDefinition) => {
    const input = n.addInput('x', 'float32', [M, D]);
    const h = n.addLayerNormalization(input, n.addConstant([D], gamma), n.addConstant([D], beta), { name: 'ln' }).output();
    n.markOutput(n.addMatrixMultiply(h, n.addConstant([D, N], lw), { name: 'fc' }).output(), 'y');
    if (exposeH) n.markOutput(h, 'h');
  };
  const feeds = { x: tensor(lx, [M, D]) };
  const half = (v: Float32Array) => fromFloat16Bits(toFloat16Bits(v));

  for (const precision of [['int8'], ['fp16', 'int8']] as const) {
    it(`drops the QuantizeLinear: its int8 values from h as stored, bit for bit (${precision.join(' + ')})`, async () => {
      const calibrator = new MinMaxCalibrator({ batches: [feeds] });
      const { plan, engine } = await build(defineNormGemm(true), { precision: [...precision], int8Calibrator: calibrator });
      using e = engine;
      using ctx = e.createContext();
      const out = await ctx.infer(feeds);
      expect(plan.buildLog).toContain('int8 outputs: 1 layer normalization write int8 for the QuantizeLinear layers that read them');
      expect(e.layers.filter((l) => l.kind === 'QuantizeLinear')).toHaveLength(0);
      expect(e.layers.find((l) => l.kind === 'Normalization')!.outputs).toHaveLength(2);
      // The unfused QuantizeLinear would have read h as returned (fp16 values in an fp16 build).
      const h = out.h.data as Float32Array, y = out.y.data as Float32Array;
      const ref = int8MatMul(h, lw, new Float32Array(N), M, D, N, calibrator.scales!.get('h')!, false);
      expect(Array.from(y)).toEqual(Array.from(precision.length > 1 ? half(ref) : ref));
      expect(y.some((v) => v !== 0)).toBe(true);
    });
  }

  it('keeps the QuantizeLinear where nothing else reads the layer norm\'s output', async () => {
    const calibrator = new MinMaxCalibrator({ batches: [feeds] });
    const r = await run(defineNormGemm(false), feeds, { precision: ['fp16', 'int8'], int8Calibrator: calibrator });
    expect(r.log.some((l) => l.startsWith('int8 outputs:'))).toBe(false);
    expect(r.layers.filter((l) => l.kind === 'QuantizeLinear')).toHaveLength(1);
    expect(r.layers.find((l) => l.kind === 'Normalization')!.outputs).toHaveLength(1);
  });

  it('keeps the QuantizeLinear for rows CUDA\'s fast layer norm kernel cannot read in 8-element vectors (12 wide)', async () => {
    const narrow = (n: NetworkDefinition) => {
      const input = n.addInput('x', 'float32', [M, 12]);
      const h = n.addLayerNormalization(input, n.addConstant([12], gamma.subarray(0, 12)), null).output();
      n.markOutput(n.addMatrixMultiply(h, n.addConstant([12, N], lw.subarray(0, 12 * N))).output(), 'y');
      n.markOutput(h, 'h');
    };
    const narrowFeeds = { x: tensor(lx.subarray(0, M * 12), [M, 12]) };
    const r = await run(narrow, narrowFeeds, { precision: ['fp16', 'int8'], int8Calibrator: new MinMaxCalibrator({ batches: [narrowFeeds] }) });
    expect(r.log.some((l) => l.startsWith('int8 outputs:'))).toBe(false);
    expect(r.layers.filter((l) => l.kind === 'QuantizeLinear')).toHaveLength(1);
  });
});

describe('implicit INT8: attention writing int8 for the output projection (output_scale)', () => {
  // BERT's self-attention: q, k, v projections -> heads -> softmax(q kᵀ / 4) v -> merged heads -> output projection.
  // The merged heads are read only by the projection's QuantizeLinear: the fused attention writes its int8 values,
  // and the Reshape merging the heads moves int8. Exposing them as an output keeps the QuantizeLinear: the reference.
  const B = 2, S = 8, H = 2, Dh = 32, W = H * Dh;
  const ax = uniform(B * S * W, 40, -2, 2);
  const proj = [41, 42, 43, 44].map((seed) => uniform(W * W, seed, -0.3, 0.3));
  const defineAttention = (exposeContext: boolean) => (n: NetworkDefinition) => {
    const input = n.addInput('x', 'float32', [B, S, W]);
    const heads = (t: NetworkTensor) => n.addTranspose(n.addReshape(t, [0, 0, H, Dh]).output(), [0, 2, 1, 3]).output();
    const [q, k, v] = proj.slice(0, 3).map((w) => heads(n.addMatrixMultiply(input, n.addConstant([W, W], w)).output()));
    const scores = n.addElementWise(n.addMatrixMultiply(q!, k!, { transposeB: true }).output(), n.addConstant([1], Float32Array.of(0.25)), 'mul').output();
    const context = n.addMatrixMultiply(n.addSoftmax(scores, { axis: -1 }).output(), v!).output();
    const merged = n.addReshape(n.addTranspose(context, [0, 2, 1, 3]).output(), [0, 0, W]).output();
    n.markOutput(n.addMatrixMultiply(merged, n.addConstant([W, W], proj[3]!)).output(), 'y');
    if (exposeContext) n.markOutput(merged, 'context');
  };
  const feeds = { x: tensor(ax, [B, S, W]) };

  for (const precision of [['int8'], ['fp16', 'int8']] as const) {
    it(`drops the QuantizeLinear after the merged heads: the unfused build's outputs bit for bit (${precision.join(' + ')})`, async () => {
      // One calibrator each: the merged heads' tensor is named 'context' only where it is an output.
      const calibrator = () => new MinMaxCalibrator({ batches: [feeds] });
      const fused = await run(defineAttention(false), feeds, { precision: [...precision], int8Calibrator: calibrator() });
      const plain = await run(defineAttention(true), feeds, { precision: [...precision], int8Calibrator: calibrator() });
      expect(fused.log).toContain('int8 outputs: 1 attention layer write int8 for the QuantizeLinear layers that read them');
      expect(plain.log.some((l) => l.startsWith('int8 outputs:'))).toBe(false);
      expect(fused.layers.filter((l) => l.kind === 'Attention')).toHaveLength(1);
      expect(fused.layers.filter((l) => l.kind === 'QuantizeLinear')).toHaveLength(1);  // x's only
      expect(plain.layers.filter((l) => l.kind === 'QuantizeLinear')).toHaveLength(2);
      expect(Buffer.from(fused.y.buffer).equals(Buffer.from(plain.y.buffer))).toBe(true);
      expect(fused.y.some((v) => v !== 0)).toBe(true);
    });
  }
});

describe('explicit Q/DQ: a QuantizeLinear with an activation', () => {
  // x -> QuantizeLinear (int8, scale 0.05, relu) -> DequantizeLinear -> MatMul -> y: not a plain Q/DQ pair, so an
  // int8 build must not fold it (folding would drop the relu): the plain build's outputs, bit for bit.
  const define = (n: NetworkDefinition) => {
    const scale = n.addConstant([], Float32Array.of(0.05));
    const q = n.addLayer('QuantizeLinear', [n.addInput('x', 'float32', [M, K]), scale], { outputDType: 'int8', activation: 'relu' }).output();
    const dq = n.addLayer('DequantizeLinear', [q, scale]).output();
    n.markOutput(n.addMatrixMultiply(dq, n.addConstant([K, N], w)).output(), 'y');
  };
  it('is not folded as a Q/DQ pair: the relu stays', async () => {
    const feeds = { x: tensor(x, [M, K]) };
    const plain = await run(define, feeds, {});
    const int8 = await run(define, feeds, { precision: ['int8'] });
    expect(int8.log.some((l) => /int8: explicit quantization: [1-9]\d* Q\/DQ pair/.test(l)), int8.log.join('\n')).toBe(false);
    expect(Array.from(int8.y)).toEqual(Array.from(plain.y));
    expect(plain.y.some((v) => v < 0) && plain.y.some((v) => v > 0)).toBe(true);
  });
});

describe('calibration caches', () => {
  it('writes an inferrt cache after calibrating, and a later build reads it instead of calibrating', async () => {
    const file = tmp('mm.cache');
    const first = new EntropyCalibrator({ batches: [{ x: tensor(x, [M, K]) }], cacheFile: file });
    const a = await run(defineMatMul, { x: tensor(x, [M, K]) }, { precision: ['int8'], int8Calibrator: first });
    const cache = parseCalibrationCache(fs.readFileSync(file, 'utf8'));
    expect(cache).toMatchObject({ format: 'inferrt', algorithm: 'EntropyCalibration2' });
    expect(cache.scales.get('x')).toBe(first.scales!.get('x'));
    const messages: string[] = [];
    const builder = new Builder({ backend: 'cpu' });
    using network = builder.createNetwork();
    defineMatMul(network);
    const noBatches = new EntropyCalibrator({ batches: [], cacheFile: file });
    const plan = await builder.build(network, builder.createConfig({ precision: ['int8'], int8Calibrator: noBatches }), {
      onProgress: (p) => p.stage === 'calibrate' && messages.push(p.message),
    });
    expect(messages).toEqual([`read 1 scales from calibration cache '${file}' (inferrt EntropyCalibration2)`]);
    using engine = await Runtime.load(plan);
    using ctx = engine.createContext();
    expect(Array.from((await ctx.infer({ x: tensor(x, [M, K]) })).y.data as Float32Array)).toEqual(Array.from(a.y));
  });

  it('reads a TensorRT cache and uses its scale', async () => {
    const file = tmp('trt.cache');
    fs.writeFileSync(file, 'TRT-8601-EntropyCalibration2\nx: 3c23d70a\nunused: 3f800000\n');  // x: 0.01
    const r = await run(defineMatMul, { x: tensor(x, [M, K]) }, { precision: ['int8'], int8Calibrator: new EntropyCalibrator({ batches: [], cacheFile: file }) });
    expect(Array.from(r.y)).toEqual(Array.from(int8MatMul(x, w, bias, M, K, N, Math.fround(0.01), true)));
  });

  it('fails on a malformed cache naming the line', async () => {
    const file = tmp('bad.cache');
    fs.writeFileSync(file, 'TRT-8601-EntropyCalibration2\nx: 3c23d7\n');
    const calibrator = new EntropyCalibrator({ batches: [], cacheFile: file });
    await expect(run(defineMatMul, { x: tensor(x, [M, K]) }, { precision: ['int8'], int8Calibrator: calibrator })).rejects.toThrow(/line 2/);
  });
});

describe('calibrator errors', () => {
  it('rejects bad options and a calibrator without int8 with INVALID_ARGUMENT', () => {
    const bad = (f: () => unknown, pattern: RegExp) => {
      expect(f).toThrow(InferrtError);
      expect(f).toThrow(pattern);
    };
    bad(() => new EntropyCalibrator({ batches: 5 as never }), /options.batches must be an iterable/);
    bad(() => new MinMaxCalibrator({ batches: [], maxBatches: 0 }), /maxBatches must be an integer >= 1, got 0/);
    bad(() => new PercentileCalibrator({ batches: [], percentile: 100.5 }), /percentile must be a number in \(0, 100\], got 100.5/);
    bad(() => new EntropyCalibrator({ batches: [], quantBins: 4096 }), /quantBins must be an integer in \[1, bins = 2048\]/);
    const builder = new Builder({ backend: 'cpu' });
    bad(() => builder.createConfig({ int8Calibrator: new MinMaxCalibrator({ batches: [] }) }), /int8Calibrator needs 'int8' in precision/);
    bad(() => builder.createConfig({ precision: ['int8'], int8Calibrator: {} as never }), /int8Calibrator must be an EntropyCalibrator/);
  });

  it('fails the build when the batches yield nothing, or a batch has the wrong shape', async () => {
    const none = new MinMaxCalibrator({ batches: [] });
    await expect(run(defineMatMul, { x: tensor(x, [M, K]) }, { precision: ['int8'], int8Calibrator: none })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/yielded no batch/) });
    async function* wrongShape() {
      yield { x: tensor(new Float32Array(M * (K + 1)), [M, K + 1]) };
    }
    const wrong = new MinMaxCalibrator({ batches: wrongShape() });
    await expect(run(defineMatMul, { x: tensor(x, [M, K]) }, { precision: ['int8'], int8Calibrator: wrong })).rejects.toBeInstanceOf(InferrtError);
  });
});
