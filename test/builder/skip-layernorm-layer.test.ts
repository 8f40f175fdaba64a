/**
 * Normalization layers with a skip input added by hand (network.addLayer('Normalization', [x, scale, bias, null,
 * null, skip], { mode: 'layer' })): x + skip is rounded to x's dtype and normalized, exactly as an Add layer feeding
 * a layer norm (float32, float16 tensors and fp16 engines), checked against that pair of layers and against a
 * reference computed here; the typed errors of the shape rule and of run-time dims.
 */
import { describe, expect, it } from 'vitest';
import {
  Builder, Runtime, floatToHalfBits, halfBitsToFloat, tensor, type BuilderConfigOptions, type NetworkDefinition, type NetworkTensor, type Tensor,
} from '../../lib/index.js';
import { randomFloats } from '../api/helpers.js';
import { rejection, thrown } from '../inferrt-errors.js';
import { expectNear, expectSameBits } from './pointwise-helpers.js';
import { runNetwork } from './network-engine.js';

const X = [2, 3, 8];
const xData = randomFloats(48, 91).map((v) => v * 3), skipData = randomFloats(48, 92).map((v) => v * 3);
const scaleData = randomFloats(8, 93).map((v) => v + 1), biasData = randomFloats(8, 94);

async function run(define: (n: NetworkDefinition) => void, feeds: Record<string, Tensor>, config: BuilderConfigOptions = {}): Promise<{ out: Record<string, Tensor>; kinds: string[] }> {
  const { engine, out } = await runNetwork(define, feeds, { config });
  const kinds = engine.layers.map((l) => l.kind);
  engine.dispose();
  return { out, kinds };
}

interface Norm {
  dtype: 'float32' | 'float16';
  axis?: number;
  stats?: boolean;  // also the Mean and InvStdDev outputs
}

/** One Normalization with a skip (fused), or Add then Normalization with the sum exposed so it stays (unfused). */
function define(o: Norm, fused: boolean) {
  return (n: NetworkDefinition): void => {
    const x = n.addInput('x', o.dtype, X);
    const skip = n.addInput('skip', o.dtype, X);
    const scale = n.addConstant([8], scaleData), bias = n.addConstant([8], biasData);
    const attrs = { mode: 'layer', axis: o.axis ?? -1, epsilon: 1e-5 };
    const numOutputs = o.stats ? 3 : 1;
    const sum = fused ? null : n.addElementWise(x, skip, 'add').output();
    if (sum) n.markOutput(sum, 'sum');
    const inputs = sum ? [sum, scale, bias] : [x, scale, bias, null, null, skip];
    const layer = n.addLayer('Normalization', inputs, attrs, { numOutputs });
    n.markOutput(layer.output(0), 'y');
    if (o.stats) {
      n.markOutput(layer.output(1), 'mean');
      n.markOutput(layer.output(2), 'invStd');
    }
  };
}

function feeds(dtype: 'float32' | 'float16'): Record<string, Tensor> {
  if (dtype === 'float32') return { x: tensor(xData, X), skip: tensor(skipData, X) };
  return { x: tensor(Uint16Array.from(xData, floatToHalfBits), X, 'float16'), skip: tensor(Uint16Array.from(skipData, floatToHalfBits), X, 'float16') };
}

const toHalf = (v: number): number => halfBitsToFloat(floatToHalfBits(v));

/**
 * Layer norm of s = fround(x + skip) over the last `count` dims, in double. `half`: x and skip are fp16 values and
 * each sum is rounded to fp16 too (unless `roundSum` is false, which no layer does: a control).
 */
function reference(half: boolean, count = 1, roundSum = half): { y: Float32Array; mean: Float32Array; invStd: Float32Array } {
  const xs = half ? xData.map(toHalf) : xData, ss = half ? skipData.map(toHalf) : skipData;
  const s = xs.map((v, i) => (roundSum ? toHalf(Math.fround(v + ss[i]!)) : Math.fround(v + ss[i]!)));
  const n = X.slice(X.length - count).reduce((a, b) => a * b, 1), rows = s.length / n;
  const y = new Float32Array(s.length), mean = new Float32Array(rows), invStd = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = s.subarray(r * n, (r + 1) * n);
    const m = row.reduce((a, b) => a + b, 0) / n;
    const inv = 1 / Math.sqrt(row.reduce((a, b) => a + (b - m) ** 2, 0) / n + 1e-5);
    for (let k = 0; k < n; k++) y[r * n + k] = (row[k]! - m) * inv * scaleData[k % 8]! + biasData[k % 8]!;
    mean[r] = m;
    invStd[r] = inv;
  }
  return { y, mean, invStd };
}

const floats = (t: Tensor): Float32Array => (t.dtype === 'float16' ? Float32Array.from(t.data as Uint16Array, halfBitsToFloat) : (t.data as Float32Array));

describe('Normalization with a skip input, by hand', () => {
  it('float32: the same bits as Add -> Normalization, and the reference', async () => {
    const fused = await run(define({ dtype: 'float32', stats: true }, true), feeds('float32'));
    expect(fused.kinds).toEqual(['Normalization']);
    const plain = await run(define({ dtype: 'float32', stats: true }, false), feeds('float32'));
    expect(plain.kinds).toEqual(['ElementWise', 'Normalization']);
    const ref = reference(false);
    for (const name of ['y', 'mean', 'invStd'] as const) {
      expectSameBits(fused.out[name]!.data as Float32Array, plain.out[name]!.data as Float32Array, name);
      expectNear(fused.out[name]!.data as Float32Array, ref[name], 1e-5, name);
    }
    expect(fused.out.mean!.shape).toEqual([2, 3, 1]);
  });

  it('float32 over the last two dims (axis -2)', async () => {
    const fused = await run(define({ dtype: 'float32', axis: -2 }, true), feeds('float32'));
    const plain = await run(define({ dtype: 'float32', axis: -2 }, false), feeds('float32'));
    expectSameBits(fused.out.y!.data as Float32Array, plain.out.y!.data as Float32Array, 'y');
    expectNear(fused.out.y!.data as Float32Array, reference(false, 2).y, 1e-5, 'y');
  });

  it('float16 tensors: the sum is rounded to fp16 first, as the Add stores it', async () => {
    const fused = await run(define({ dtype: 'float16' }, true), feeds('float16'));
    expect(fused.out.y!.dtype).toBe('float16');
    const plain = await run(define({ dtype: 'float16' }, false), feeds('float16'));
    expect(Array.from(fused.out.y!.data as Uint16Array)).toEqual(Array.from(plain.out.y!.data as Uint16Array));
    expectNear(floats(fused.out.y!), reference(true).y, 2e-3, 'y');
  });

  it('an fp16 engine of a float32 network: the sum is rounded to fp16 too', async () => {
    const config: BuilderConfigOptions = { precision: ['fp16'] };
    const fused = await run(define({ dtype: 'float32' }, true), feeds('float32'), config);
    const plain = await run(define({ dtype: 'float32' }, false), feeds('float32'), config);
    expectSameBits(fused.out.y!.data as Float32Array, plain.out.y!.data as Float32Array, 'y');
    expectNear(fused.out.y!.data as Float32Array, reference(true).y, 2e-3, 'y');
    // Control: the same fp16 inputs summed without rounding the sum give other outputs for this data.
    const unrounded = reference(true, 1, false).y.map(toHalf);
    expect(Array.from(fused.out.y!.data as Float32Array)).not.toEqual(Array.from(unrounded));
  });

  it('addLayerNormalization takes the skip as a parameter', async () => {
    const r = await run((n) => {
      const x = n.addInput('x', 'float32', X), skip = n.addInput('skip', 'float32', X);
      const layer = n.addLayerNormalization(x, n.addConstant([8], scaleData), n.addConstant([8], biasData), { skip });
      n.markOutput(layer.output(), 'y');
    }, feeds('float32'));
    expectNear(r.out.y!.data as Float32Array, reference(false).y, 1e-5, 'y');
  });
});

describe('Normalization skip errors', () => {
  function network(): { n: NetworkDefinition; x: NetworkTensor; scale: NetworkTensor; bias: NetworkTensor } {
    const n = new Builder({ backend: 'cpu' }).createNetwork();
    return { n, x: n.addInput('x', 'float32', X), scale: n.addConstant([8], scaleData), bias: n.addConstant([8], biasData) };
  }

  it('rejects a skip in batch and instance modes (INVALID_MODEL naming the layer and mode)', () => {
    const { n, x } = network();
    const c = n.addConstant([3], Float32Array.of(0, 0, 0)), one = n.addConstant([3], Float32Array.of(1, 1, 1));
    const bn = thrown(() => n.addLayer('Normalization', [x, one, c, c, one, x], { mode: 'batch' }, { name: 'bn' }));
    expect(bn.code).toBe('INVALID_MODEL');
    expect(bn.message).toMatch(/layer 'bn' \(Normalization\): skip \(input 5\) is only allowed in layer mode, got mode 'batch'/);
    const inorm = thrown(() => n.addLayer('Normalization', [x, one, c, null, null, x], { mode: 'instance' }, { name: 'in' }));
    expect(inorm.code).toBe('INVALID_MODEL');
    expect(inorm.message).toMatch(/layer 'in' \(Normalization\): skip \(input 5\) is only allowed in layer mode, got mode 'instance'/);
    n.dispose();
  });

  it('rejects a skip of other dims (also broadcastable ones, and another rank) with SHAPE_MISMATCH', () => {
    const { n, x, scale, bias } = network();
    for (const dims of [[2, 3, 4], [1, 3, 8], [3, 8], [2, 3, 8, 1]]) {
      const skip = n.addInput(`skip${dims.join('x')}`, 'float32', dims);
      const e = thrown(() => n.addLayer('Normalization', [x, scale, bias, null, null, skip], { mode: 'layer' }, { name: 'ln' }));
      expect(e.code).toBe('SHAPE_MISMATCH');
      expect(e.message).toMatch(/layer 'ln' \(Normalization\): skip \(input 5\) has shape \[.*\], expected x's shape \[2, 3, 8\]/);
      expect(e.message).toContain(`[${dims.join(', ')}]`);
    }
    n.dispose();
  });

  it('rejects a skip of another dtype with DTYPE_MISMATCH', () => {
    const { n, x, scale, bias } = network();
    const skip = n.addInput('skip', 'float16', X);
    const e = thrown(() => n.addLayer('Normalization', [x, scale, bias, null, null, skip], { mode: 'layer' }, { name: 'ln' }));
    expect(e.code).toBe('DTYPE_MISMATCH');
    expect(e.message).toMatch(/layer 'ln' \(Normalization\): skip \(input 5\) has dtype float16, expected x's dtype float32/);
    n.dispose();
  });

  it('rejects a seventh input', () => {
    const { n, x, scale, bias } = network();
    const e = thrown(() => n.addLayer('Normalization', [x, scale, bias, null, null, x, x], { mode: 'layer' }, { name: 'ln' }));
    expect(e.message).toMatch(/layer 'ln' \(Normalization\)/);
    n.dispose();
  });

  it('checks dims known only at run time (SHAPE_MISMATCH, no broadcast)', async () => {
    const builder = new Builder({ backend: 'cpu' });
    const n = builder.createNetwork();
    const x = n.addInput('x', 'float32', [-1, 8]), skip = n.addInput('skip', 'float32', [-1, 8]);
    n.markOutput(n.addLayerNormalization(x, n.addConstant([8], scaleData), null, { skip, name: 'ln' }).output(), 'y');
    const range = { min: [1, 8], opt: [2, 8], max: [4, 8] };
    const engine = await Runtime.load(await builder.build(n, builder.createConfig({ profiles: [{ x: range, skip: range }] })));
    n.dispose();
    const ctx = engine.createContext();
    const ok = await ctx.infer({ x: tensor(xData.subarray(0, 16), [2, 8]), skip: tensor(skipData.subarray(0, 16), [2, 8]) });
    expect(ok.y!.shape).toEqual([2, 8]);
    const e = await rejection(ctx.infer({ x: tensor(xData.subarray(0, 16), [2, 8]), skip: tensor(skipData.subarray(0, 8), [1, 8]) }));
    expect(e.code).toBe('SHAPE_MISMATCH');
    expect(e.message).toMatch(/'ln'.*skip \(input 5\) has shape \[1, 8\], expected x's shape \[2, 8\]/);
    engine.dispose();
  });
});
