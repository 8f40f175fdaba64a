/**
 * The Attention layer built with network.addAttention, on the CPU backend: against softmax(alpha·q·kᵀ + mask)·v
 * written out in float64 in the test (attention-reference.ts), for every stored layout of q, k, v and the output,
 * masks that broadcast in several ways, alpha, Sq ≠ Sk and D ≠ Dv, in fp32 and fp16 engines and with float16
 * tensors; rows with some or all logits -inf; against the unfused MatMul -> Softmax -> MatMul layers; and its
 * typed errors for inputs that do not fit.
 */
import { describe, expect, it } from 'vitest';
import { Builder, Runtime, tensor, toFloat16Bits, type NetworkDefinition, type Tensor } from '../../lib/index.js';
import { randomFloats } from '../api/helpers.js';
import { rejection, thrown } from '../inferrt-errors.js';
import {
  attentionReference, buildAndRun, expectCloseOrNaN, f32, roundHalf, storedDims, toLayout, volume, type AttentionData,
} from './attention-reference.js';

const dims = { B: 2, H: 3, Sq: 4, Sk: 5, D: 6, Dv: 3 };
const { B, H, Sq, Sk, D, Dv } = dims;
const qDims = [B, H, Sq, D], kDims = [B, H, Sk, D], vDims = [B, H, Sk, Dv], outDims = [B, H, Sq, Dv];
type Layout = [0 | 1, 0 | 1, 0 | 1, 0 | 1];

/** Random q, k, v (logical order); a padding-style mask of `maskDims` (0, small offsets, -10000) if given. */
function data(alpha: number, maskDims?: number[]): AttentionData {
  const mask = maskDims && {
    dims: maskDims,
    data: Float32Array.from(randomFloats(volume(maskDims), 74), (v, i) => (i % 4 === 3 ? -10000 : v)),
  };
  return { q: randomFloats(volume(qDims), 71), k: randomFloats(volume(kDims), 72), v: randomFloats(volume(vDims), 73), dims, mask, alpha };
}

/** A network of one Attention layer over inputs q, k, v (and mask) stored per `layout`. */
function defineAttention(a: AttentionData, layout: Layout, dtype: 'float32' | 'float16' = 'float32') {
  return (n: NetworkDefinition): void => {
    const q = n.addInput('q', dtype, storedDims(qDims, layout[0]));
    const k = n.addInput('k', dtype, storedDims(kDims, layout[1]));
    const v = n.addInput('v', dtype, storedDims(vDims, layout[2]));
    const mask = a.mask ? n.addInput('mask', 'float32', a.mask.dims) : undefined;
    n.markOutput(n.addAttention(q, k, v, { mask, alpha: a.alpha, layout, name: 'attn' }).output(), 'out');
  };
}

function feedsOf(a: AttentionData, layout: Layout): Record<'q' | 'k' | 'v', Tensor<'float32'>> & { mask?: Tensor<'float32'> } {
  const feeds = {
    q: f32(toLayout(a.q, qDims, layout[0]), storedDims(qDims, layout[0])),
    k: f32(toLayout(a.k, kDims, layout[1]), storedDims(kDims, layout[1])),
    v: f32(toLayout(a.v, vDims, layout[2]), storedDims(vDims, layout[2])),
  };
  return a.mask ? { ...feeds, mask: f32(a.mask.data, a.mask.dims) } : feeds;
}

/** `a` as an fp16 engine reads it: every input rounded to float16. */
const halved = (a: AttentionData): AttentionData => ({
  ...a, q: roundHalf(a.q), k: roundHalf(a.k), v: roundHalf(a.v), mask: a.mask && { ...a.mask, data: roundHalf(a.mask.data) },
});

const cases: Array<[string, Layout, number, number[] | undefined]> = [  // what, layout, alpha, mask dims
  ['all [B, H, S, D], no mask', [0, 0, 0, 0], 1, undefined],
  ['all [B, S, H, D], padding mask [B, 1, 1, Sk]', [1, 1, 1, 1], 0.125, [B, 1, 1, Sk]],
  ['k and out [B, S, H, D], mask [Sq, Sk]', [0, 1, 0, 1], 0.37, [Sq, Sk]],
  ['q and v [B, S, H, D], mask [1, H, Sq, Sk]', [1, 0, 1, 0], -0.5, [1, H, Sq, Sk]],
  ['v and out [B, S, H, D], full mask', [0, 0, 1, 1], 0.25, [B, H, Sq, Sk]],
  ['q and k [B, S, H, D], mask [Sk]', [1, 1, 0, 0], 2, [Sk]],
];

describe('Attention layer vs the formula', () => {
  for (const [what, layout, alpha, maskDims] of cases) {
    const a = data(alpha, maskDims);
    it(`${what}, alpha ${alpha}: fp32 engine`, async () => {
      const r = await buildAndRun(defineAttention(a, layout), feedsOf(a, layout));
      expect(r.kinds).toEqual(['Attention']);
      expectCloseOrNaN(r.outputs.out!, toLayout(attentionReference(a), outDims, layout[3]), 1e-5);
    });
    it(`${what}, alpha ${alpha}: fp16 engine (fp16 storage, fp32 math)`, async () => {
      const r = await buildAndRun(defineAttention(a, layout), feedsOf(a, layout), { precision: ['fp16'] });
      expect(r.precisions).toEqual(['fp16']);
      // Inputs rounded to fp16 on the way in, the result rounded once on the way out: half an fp16 ulp (2^-11).
      expectCloseOrNaN(r.outputs.out!, toLayout(attentionReference(halved(a)), outDims, layout[3]), 1e-3);
    });
  }

  it('reads and writes float16 tensors (fp32 mask)', async () => {
    const layout: Layout = [1, 0, 1, 1];
    const a = halved(data(0.3, [B, 1, Sq, Sk]));
    const f = feedsOf(a, layout);
    const half = (t: { data: Float32Array; shape: number[] }) => tensor(toFloat16Bits(t.data), t.shape, 'float16');
    const r = await buildAndRun(defineAttention(a, layout, 'float16'), { q: half(f.q), k: half(f.k), v: half(f.v), mask: f.mask! });
    expectCloseOrNaN(r.outputs.out!, toLayout(attentionReference(a), outDims, 1), 1e-3);
  });

  it('gives a NaN row where every logit is -inf and finite rows where only some are', async () => {
    const a = data(0.5, [Sq, Sk]);
    a.mask!.data.fill(0);
    a.mask!.data.fill(-Infinity, 0, 2);         // row 0: keys 0 and 1 masked out
    a.mask!.data.fill(-Infinity, Sk, 2 * Sk);   // row 1: every key masked out
    const r = await buildAndRun(defineAttention(a, [0, 0, 0, 0]), feedsOf(a, [0, 0, 0, 0]));
    const want = attentionReference(a);
    const rowNaN = (i: number) => Array.from({ length: B * H }, (_, bh) => Number.isNaN(r.outputs.out![(bh * Sq + i) * Dv]!));
    expect(rowNaN(1)).toEqual(new Array(B * H).fill(true));
    expect(rowNaN(0)).toEqual(new Array(B * H).fill(false));
    expectCloseOrNaN(r.outputs.out!, want, 1e-5);
  });

  it('equals MatMul(q, kᵀ, alpha) -> Softmax(mask) -> MatMul(·, v) of the same network to 1e-6', async () => {
    const a = data(0.2, [B, 1, 1, Sk]);
    const r = await buildAndRun((n) => {
      defineAttention(a, [0, 0, 0, 0])(n);
      const [q, k, v, mask] = ['q', 'k', 'v', 'mask'].map((name) => n.getTensor(name)!);
      const scores = n.addMatrixMultiply(q!, k!, { transposeB: true, alpha: 0.2 }).output();
      const probs = n.addSoftmax(scores, { axis: -1, mask }).output();
      n.markOutput(n.addMatrixMultiply(probs, v!).output(), 'unfused');
      n.markOutput(scores, 'scores');  // an output: keeps the builder from fusing these layers
    }, feedsOf(a, [0, 0, 0, 0]));
    expect(r.kinds).toEqual(['Attention', 'MatMul', 'Softmax', 'MatMul']);
    expectCloseOrNaN(r.outputs.out!, r.outputs.unfused!, 1e-6);
  });
});

describe('Attention layer errors', () => {
  const net = () => new Builder({ backend: 'cpu' }).createNetwork();

  it('names the layer and the tensor whose dims do not fit', () => {
    using n = net();
    const q = n.addInput('q', 'float32', [2, 8, 16, 32]);
    const cases: Array<[number[], number[], RegExp]> = [  // k, v, message
      [[2, 8, 16, 64], [2, 8, 16, 32], /layer 'attn3' \(Attention\): k dims \[2, 8, 16, 64\] do not match q's D=32/],
      [[1, 8, 16, 32], [2, 8, 16, 32], /k dims \[1, 8, 16, 32\] do not match q's B=2/],  // no broadcasting
      [[2, 8, 16, 32], [2, 4, 16, 32], /v dims \[2, 4, 16, 32\] do not match q's H=8/],
      [[2, 8, 16, 32], [2, 8, 12, 32], /v dims \[2, 8, 12, 32\] do not match k's Sk=16/],
    ];
    cases.forEach(([kd, vd, message], i) => {
      const e = thrown(() => n.addAttention(q, n.addInput(`k${i}`, 'float32', kd), n.addInput(`v${i}`, 'float32', vd), { name: 'attn3' }));
      expect(e.code).toBe('SHAPE_MISMATCH');
      expect(e.message).toMatch(message);
    });
    const k1 = n.addInput('k_bshd', 'float32', [2, 16, 4, 32]);  // layout 1: H = 4
    const e = thrown(() => n.addAttention(q, k1, k1, { layout: [0, 1, 1, 0] }));
    expect(e.message).toMatch(/k dims \[2, 16, 4, 32\] \(layout 1: \[B, S, H, D\]\) do not match q's H=8/);
    expect(n.addAttention(q, n.addInput('k_ok', 'float32', [2, 16, 8, 32]), n.addInput('v_ok', 'float32', [2, 8, 16, 7]), { layout: [0, 1, 0, 1] }).output().dims)
      .toEqual([2, 16, 8, 7]);
  });

  it('rejects wrong dtypes, ranks, masks and attributes with typed errors', () => {
    using n = net();
    const q = n.addInput('q', 'float32', [2, 3, 4, 5]), k = n.addInput('k', 'float32', [2, 3, 6, 5]);
    const expectError = (fn: () => unknown, code: string, message: RegExp) => {
      const e = thrown(fn);
      expect(e.code).toBe(code);
      expect(e.message).toMatch(message);
    };
    expectError(() => n.addAttention(q, n.addInput('kh', 'float16', [2, 3, 6, 5]), k), 'DTYPE_MISMATCH', /k has dtype float16 but q has float32/);
    expectError(() => n.addAttention(n.addInput('qi', 'int32', [2, 3, 4, 5]), k, k), 'DTYPE_MISMATCH', /q has dtype int32, expected float32 or float16/);
    expectError(() => n.addAttention(n.addInput('q3', 'float32', [6, 4, 5]), k, k), 'SHAPE_MISMATCH', /q must have rank 4/);
    expectError(() => n.addAttention(q, k, k, { mask: n.addInput('m1', 'float32', [2, 1, 4, 5]) }), 'SHAPE_MISMATCH',
      /mask \[2, 1, 4, 5\] does not broadcast to the scores \[B, H, Sq, Sk\] = \[2, 3, 4, 6\]/);
    expectError(() => n.addAttention(q, k, k, { mask: n.addInput('m2', 'float32', [1, 2, 3, 4, 6]) }), 'SHAPE_MISMATCH', /mask .* has rank 5/);
    expectError(() => n.addAttention(q, k, k, { mask: n.addInput('m3', 'int32', [6]) }), 'DTYPE_MISMATCH', /mask \(input 3\) has dtype int32/);
    expectError(() => n.addLayer('Attention', [q, k, k], { layout: [0, 0, 2, 0] }), 'INVALID_ARGUMENT', /'layout' entry 2 must be 0/);
    expectError(() => n.addLayer('Attention', [q, k, k], { layout: [0, 0, 0] }), 'INVALID_ARGUMENT', /'layout' needs 4 entries/);
    expectError(() => n.addAttention(q, k, k, { alpha: Infinity }), 'INVALID_ARGUMENT', /'alpha' must be a finite float/);
    expect(n.addAttention(q, k, k, { mask: n.addInput('m4', 'float32', [4, 1]) }).output().dims).toEqual([2, 3, 4, 5]);
  });

  it('rejects dims found not to fit at run time with SHAPE_MISMATCH', async () => {
    const builder = new Builder({ backend: 'cpu' });
    const n = builder.createNetwork();
    n.markOutput(n.addAttention(n.addInput('q', 'float32', [-1, H, Sq, D]), n.addInput('k', 'float32', [-1, H, Sk, D]), n.addInput('v', 'float32', [-1, H, Sk, Dv])).output(), 'out');
    const range = (s: number, d: number) => ({ min: [1, H, s, d], opt: [B, H, s, d], max: [B, H, s, d] });
    using engine = await Runtime.load(await builder.build(n, builder.createConfig({ profiles: [{ q: range(Sq, D), k: range(Sk, D), v: range(Sk, Dv) }] })));
    n.dispose();
    using ctx = engine.createContext();
    const zeros = (d: number[]) => f32(new Float32Array(volume(d)), d);
    const err = await rejection(ctx.infer({ q: zeros(qDims), k: zeros([1, H, Sk, D]), v: zeros([1, H, Sk, Dv]) }));
    expect(err.code).toBe('SHAPE_MISMATCH');
    expect(err.message).toMatch(/k dims \[1, 3, 5, 6\] do not match q's B=2/);
  });
});
