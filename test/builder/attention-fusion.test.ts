/**
 * The builder's attention fusions: a constant scale of a MatMul's product (Mul / Div after it, or Mul of its
 * operands, as SDPA exports do) becomes the MatMul's alpha, and Softmax(Add(x, mask)) becomes Softmax with a
 * mask input. Each pattern is checked to fuse and to compute what the unfused layers did (float64 references);
 * near misses must not fuse. The MatMul alpha and Softmax mask are also checked as plain layers. The PyTorch
 * transformer fixtures get both fusions in every attention layer, then one Attention layer per block (the
 * attention fusion, tested in fused-attention.test.ts; not in the SDPA exports), and match their unfused engines
 * and onnxruntime.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Builder, OnnxParser, Runtime, tensor, type NetworkDefinition, type NetworkTensor, type Tensor } from '../../lib/index.js';
import { defineBert } from '../../bench/bert-network.js';
import { expectClose, randomFloats } from '../api/helpers.js';
import { rejection } from '../inferrt-errors.js';
import { runOrt, type HostTensor } from '../onnx/run.js';
import { runNetwork } from './network-engine.js';

const B = 2, H = 3, S = 4, D = 5;
type Feeds = Record<string, [Float32Array, number[]]>;

interface Built {
  kinds: string[];
  inputCounts: number[];
  fusionLog: string[];
  outputs: Record<string, Float32Array>;
}

/** Builds `define`'s network (dynamic dims: one profile fixed at the feeds' shapes) and runs it on `feeds`. */
async function buildAndRun(define: (n: NetworkDefinition) => void, feeds: Feeds, dynamic = false): Promise<Built> {
  const { plan, engine, out } = await runNetwork(define, feeds, { fixedProfile: dynamic });
  const built: Built = {
    kinds: engine.layers.map((l) => l.kind),
    inputCounts: engine.layers.map((l) => l.inputs.length),
    fusionLog: plan.buildLog.filter((l) => l.startsWith('fusion:')),
    outputs: Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array])),
  };
  engine.dispose();
  return built;
}

const scalar = (n: NetworkDefinition, v: number): NetworkTensor => n.addConstant([], new Float32Array([v]));
const volume = (dims: number[]): number => dims.reduce((a, b) => a * b, 1);

/** Offset into a tensor of `dims` that numpy broadcasting maps element `flat` of `out` to. */
function broadcastOffset(out: number[], dims: number[], flat: number): number {
  let off = 0, stride = 1;
  for (let i = out.length - 1, j = dims.length - 1; i >= 0; i--, j--) {
    const c = flat % out[i]!;
    flat = Math.floor(flat / out[i]!);
    if (j >= 0 && dims[j] !== 1) off += c * stride;
    if (j >= 0) stride *= dims[j]!;
  }
  return off;
}

const q = randomFloats(B * H * S * D, 31), k = randomFloats(B * H * S * D, 32);
const qkFeeds: Feeds = { q: [q, [B, H, S, D]], k: [k, [B, H, S, D]] };

/** alpha · q · kᵀ per (batch, head), in float64. */
function scoresReference(alpha: number): Float32Array {
  const out = new Float32Array(B * H * S * S);
  for (let m = 0; m < B * H; m++)
    for (let i = 0; i < S; i++)
      for (let j = 0; j < S; j++) {
        let v = 0;
        for (let d = 0; d < D; d++) v += q[(m * S + i) * D + d]! * k[(m * S + j) * D + d]!;
        out[(m * S + i) * S + j] = alpha * v;
      }
  return out;
}

/** (log-)softmax of x + mask (mask broadcast to xDims) along `axis`, in float64. */
function softmaxReference(x: Float32Array, xDims: number[], mask: Float32Array | null, maskDims: number[], axis = -1, log = false): Float32Array {
  const a = axis < 0 ? axis + xDims.length : axis;
  const n = xDims[a]!, inner = volume(xDims.slice(a + 1)), outer = volume(xDims.slice(0, a));
  const v = Float64Array.from(x, (xv, i) => xv + (mask ? mask[broadcastOffset(xDims, maskDims, i)]! : 0));
  const y = new Float32Array(x.length);
  for (let o = 0; o < outer; o++)
    for (let r = 0; r < inner; r++) {
      const at = (j: number): number => (o * n + j) * inner + r;
      let mx = -Infinity, sum = 0;
      for (let j = 0; j < n; j++) mx = Math.max(mx, v[at(j)]!);
      for (let j = 0; j < n; j++) sum += Math.exp(v[at(j)]! - mx);
      for (let j = 0; j < n; j++) y[at(j)] = log ? v[at(j)]! - mx - Math.log(sum) : Math.exp(v[at(j)]! - mx) / sum;
    }
  return y;
}

// ---------- MatMul scale -> alpha ----------

type ScaleForm = 'mul' | 'mul_const_first' | 'div' | 'operands' | 'operands_and_div';

function defineScaled(form: ScaleForm, c: number, o: { exposeProduct?: boolean; readTwice?: boolean; scaleAsInput?: boolean; scaleShape?: number[] } = {}) {
  return (n: NetworkDefinition): void => {
    let a = n.addInput('q', 'float32', [B, H, S, D]);
    let b = n.addInput('k', 'float32', [B, H, S, D]);
    const s = o.scaleAsInput ? n.addInput('c', 'float32', [1])
      : o.scaleShape ? n.addConstant(o.scaleShape, new Float32Array(volume(o.scaleShape)).fill(c)) : scalar(n, c);
    if (form.startsWith('operands')) {
      a = n.addElementWise(a, s, 'mul').output();
      b = n.addElementWise(scalar(n, c), b, 'mul').output();
    }
    const product = n.addMatrixMultiply(a, b, { transposeB: true }).output();
    let y = product;
    if (form === 'mul') y = n.addElementWise(product, s, 'mul').output();
    if (form === 'mul_const_first') y = n.addElementWise(s, product, 'mul').output();
    if (form === 'div' || form === 'operands_and_div') y = n.addElementWise(product, s, 'div').output();
    n.markOutput(y, 'y');
    if (o.exposeProduct) n.markOutput(product, 'product');
    if (o.readTwice) n.markOutput(n.addUnary(product, 'neg').output(), 'other');
  };
}

describe('MatMul scale fusion', () => {
  const cases: Array<[ScaleForm, number, number, number]> = [  // form, c, alpha, Mul/Div layers folded
    ['mul', 0.125, 0.125, 1],
    ['mul_const_first', 0.3, 0.3, 1],
    ['div', 8, 0.125, 1],
    ['div', 3, 1 / 3, 1],  // 1/3 is not a float: may differ from dividing by one float rounding (1e-5 holds)
    ['operands', 0.5, 0.25, 2],
    ['operands_and_div', 0.7, 0.7, 3],  // (0.7 q)(0.7 k)ᵀ / 0.7
  ];
  for (const [form, c, alpha, folded] of cases) {
    it(`folds ${form} by ${c} into the MatMul's alpha`, async () => {
      const r = await buildAndRun(defineScaled(form, c), qkFeeds);
      expect(r.kinds).toEqual(['MatMul']);
      expect(r.inputCounts).toEqual([2]);
      expect(r.fusionLog).toEqual([expect.stringMatching(new RegExp(`^fusion: 1 MatMul scale \\(${folded} Mul/Div into alpha\\); ${folded + 1} -> 1 layers$`))]);
      expectClose(r.outputs.y!, scoresReference(alpha));
    });
  }

  const misses: Array<[string, Parameters<typeof defineScaled>[2], Feeds]> = [
    ['the product is also a network output', { exposeProduct: true }, qkFeeds],
    ['the product has another reader', { readTwice: true }, qkFeeds],
    ['the scale is not a constant', { scaleAsInput: true }, { ...qkFeeds, c: [new Float32Array([0.125]), [1]] }],
    ['the scale has one value per column', { scaleShape: [S] }, qkFeeds],
  ];
  for (const [what, options, feeds] of misses) {
    it(`does not fold when ${what}`, async () => {
      const r = await buildAndRun(defineScaled('mul', 0.125, options), feeds);
      expect(r.kinds.slice(0, 2)).toEqual(['MatMul', 'ElementWise']);
      expect(r.fusionLog).toEqual([]);
      expectClose(r.outputs.y!, scoresReference(0.125));
    });
  }

  it('does not fold a scale dividing by the product, or a zero scale', async () => {
    for (const define of [
      (n: NetworkDefinition) => n.markOutput(n.addElementWise(scalar(n, 2), n.addMatrixMultiply(n.addInput('q', 'float32', [B, H, S, D]), n.addInput('k', 'float32', [B, H, S, D]), { transposeB: true }).output(), 'div').output(), 'y'),
      defineScaled('mul', 0),
    ]) {
      const r = await buildAndRun(define, qkFeeds);
      expect(r.kinds).toEqual(['MatMul', 'ElementWise']);
    }
  });

  it('never folds into an integer MatMul', async () => {
    const ints = Int32Array.from({ length: 6 }, (_, i) => i - 2);
    const builder = new Builder({ backend: 'cpu' });
    const n = builder.createNetwork();
    const a = n.addInput('a', 'int32', [2, 3]);
    const product = n.addMatrixMultiply(a, n.addConstant([3, 2], ints, { dtype: 'int32' })).output();
    n.markOutput(n.addElementWise(product, n.addConstant([], new Int32Array([3]), { dtype: 'int32' }), 'mul').output(), 'y');
    expect(() => n.addMatrixMultiply(a, n.addConstant([3, 2], ints, { dtype: 'int32' }), { alpha: 2 })).toThrow(/dtype int32/);
    const plan = await builder.build(n, builder.createConfig());
    n.dispose();
    const engine = await Runtime.load(plan);
    expect(engine.layers.map((l) => l.kind)).toEqual(['MatMul', 'ElementWise']);
    expect(plan.buildLog.filter((l) => l.startsWith('fusion:'))).toEqual([]);
    engine.dispose();
  });

  it('leaves a MatMul that got a bias from the GEMM fusion alone', async () => {
    const w = randomFloats(D * D, 33), bias = randomFloats(D, 34);
    const r = await buildAndRun((n) => {
      const y = n.addElementWise(n.addMatrixMultiply(n.addInput('q', 'float32', [B, H, S, D]), n.addConstant([D, D], w)).output(), n.addConstant([D], bias), 'add').output();
      n.markOutput(n.addElementWise(y, scalar(n, 0.5), 'mul').output(), 'y');
    }, { q: qkFeeds.q! });
    expect(r.kinds).toEqual(['MatMul', 'ElementWise']);
    expect(r.inputCounts).toEqual([3, 2]);
  });

  it('applies alpha before the bias and activation of a MatMul layer', async () => {
    const w = randomFloats(D * 2, 35), bias = randomFloats(2, 36);
    const r = await buildAndRun((n) => {
      const x = n.addInput('q', 'float32', [B, H, S, D]);
      const mm = n.addLayer('MatMul', [x, n.addConstant([D, 2], w), n.addConstant([2], bias)], { alpha: -1.5, activation: 'relu' });
      n.markOutput(mm.output(), 'y');
      n.markOutput(n.addMatrixMultiply(x, n.addConstant([D, 2], w), { alpha: 0.25 }).output(), 'plain');
    }, { q: qkFeeds.q! });
    const rows = B * H * S, y = new Float32Array(rows * 2), plain = new Float32Array(rows * 2);
    for (let r0 = 0; r0 < rows; r0++)
      for (let j = 0; j < 2; j++) {
        let v = 0;
        for (let d = 0; d < D; d++) v += q[r0 * D + d]! * w[d * 2 + j]!;
        y[r0 * 2 + j] = Math.max(0, -1.5 * v + bias[j]!);
        plain[r0 * 2 + j] = 0.25 * v;
      }
    expectClose(r.outputs.y!, y);
    expectClose(r.outputs.plain!, plain);
  });
});

// ---------- Softmax(Add(x, mask)) -> Softmax(x, mask) ----------

const scores = randomFloats(B * H * S * S, 41).map((v) => v * 4);

function defineMasked(maskDims: number[], o: { maskFirst?: boolean; axis?: number; log?: boolean; exposeSum?: boolean; readSumTwice?: boolean; xDims?: number[] } = {}) {
  return (n: NetworkDefinition): void => {
    const x = n.addInput('x', 'float32', o.xDims ?? [B, H, S, S]);
    const m = n.addInput('mask', 'float32', maskDims);
    const sum = o.maskFirst ? n.addElementWise(m, x, 'add').output() : n.addElementWise(x, m, 'add').output();
    n.markOutput(n.addSoftmax(sum, { axis: o.axis ?? -1, log: o.log }).output(), 'y');
    if (o.exposeSum) n.markOutput(sum, 'sum');
    if (o.readSumTwice) n.markOutput(n.addUnary(sum, 'neg').output(), 'other');
  };
}

/** Padding-style masks: 0 or -10000 (plus a small ramp so broadcasting mistakes show). */
const maskOf = (dims: number[]): Float32Array => Float32Array.from({ length: volume(dims) }, (_, i) => (i % 3 === 2 ? -10000 : i * 0.01));

describe('masked softmax fusion', () => {
  const shapes: Array<[string, number[], { maskFirst?: boolean; axis?: number; log?: boolean }]> = [
    ['a padding mask [B, 1, 1, S]', [B, 1, 1, S], {}],
    ['a padding mask added first', [B, 1, 1, S], { maskFirst: true }],
    ['a causal mask [S, S]', [S, S], {}],
    ['a full mask [B, H, S, S]', [B, H, S, S], {}],
    ['a one-element mask', [1], {}],
    ['a mask [B, 1, S, 1] along axis 2', [B, 1, S, 1], { axis: 2 }],
    ['a padding mask with log softmax', [B, 1, 1, S], { log: true }],
  ];
  for (const [what, maskDims, options] of shapes) {
    it(`fuses ${what}`, async () => {
      const mask = maskOf(maskDims);
      const r = await buildAndRun(defineMasked(maskDims, options), { x: [scores, [B, H, S, S]], mask: [mask, maskDims] });
      expect(r.kinds).toEqual(['Softmax']);
      expect(r.inputCounts).toEqual([2]);
      expect(r.fusionLog).toEqual(['fusion: 1 masked softmax; 2 -> 1 layers']);
      expectClose(r.outputs.y!, softmaxReference(scores, [B, H, S, S], mask, maskDims, options.axis, options.log));
    });
  }

  it('fuses with x as the operand of the full shape when it is the second one', async () => {
    const xDims = [B, 1, S, S], maskDims = [B, H, S, S];  // the "mask" operand is the larger one: it plays x
    const x = scores.slice(0, volume(xDims)), mask = maskOf(maskDims);
    const r = await buildAndRun(defineMasked(maskDims, { xDims }), { x: [x, xDims], mask: [mask, maskDims] });
    expect(r.kinds).toEqual(['Softmax']);
    expectClose(r.outputs.y!, softmaxReference(mask, maskDims, x, xDims));
  });

  const misses: Array<[string, number[], Parameters<typeof defineMasked>[1]]> = [
    ['neither operand has the full shape', [B, 1, 1, S], { xDims: [B, H, S, 1] }],
    ['the sum is also a network output', [B, 1, 1, S], { exposeSum: true }],
    ['the sum has another reader', [B, 1, 1, S], { readSumTwice: true }],
  ];
  for (const [what, maskDims, options] of misses) {
    it(`does not fuse when ${what}`, async () => {
      const xDims = options?.xDims ?? [B, H, S, S];
      const x = scores.slice(0, volume(xDims)), mask = maskOf(maskDims);
      const r = await buildAndRun(defineMasked(maskDims, options), { x: [x, xDims], mask: [mask, maskDims] });
      expect(r.kinds.slice(0, 2)).toEqual(['ElementWise', 'Softmax']);
      expect(r.fusionLog).toEqual([]);
    });
  }

  it('with dynamic dims, takes x from a MatMul and otherwise does not guess', async () => {
    const define = (fromMatMul: boolean) => (n: NetworkDefinition): void => {
      const x = fromMatMul
        ? n.addMatrixMultiply(n.addInput('q', 'float32', [-1, -1, -1, D]), n.addInput('k', 'float32', [-1, -1, -1, D]), { transposeB: true }).output()
        : n.addInput('x', 'float32', [-1, -1, -1, -1]);
      const m = n.addInput('mask', 'float32', [-1, -1, -1, -1]);
      n.markOutput(n.addSoftmax(n.addElementWise(m, x, 'add').output()).output(), 'y');
    };
    const maskDims = [B, 1, S, S], mask = maskOf(maskDims);
    const fused = await buildAndRun(define(true), { ...qkFeeds, mask: [mask, maskDims] }, true);
    expect(fused.kinds).toEqual(['MatMul', 'Softmax']);
    expectClose(fused.outputs.y!, softmaxReference(scoresReference(1), [B, H, S, S], mask, maskDims));
    const unfused = await buildAndRun(define(false), { x: [scores, [B, H, S, S]], mask: [mask, maskDims] }, true);
    expect(unfused.kinds).toEqual(['ElementWise', 'Softmax']);
  });
});

describe('Softmax mask input', () => {
  it('is checked against x by the shape rule: dtype, rank and broadcast', () => {
    const n = new Builder({ backend: 'cpu' }).createNetwork();
    const x = n.addInput('x', 'float32', [B, S]);
    expect(() => n.addSoftmax(x, { mask: n.addInput('m1', 'float32', [B, S + 1]) })).toThrow(/does not broadcast/);
    expect(() => n.addSoftmax(x, { mask: n.addInput('m2', 'float32', [1, B, S]) })).toThrow(/more dims/);
    expect(() => n.addSoftmax(x, { mask: n.addInput('m3', 'int32', [S]) })).toThrow(/dtype int32/);
    expect(() => n.addSoftmax(n.addInput('x1', 'float32', [1, S]), { mask: n.addInput('m4', 'float32', [B, S]) })).toThrow(/does not broadcast/);
    n.dispose();
  });

  it('rejects a mask larger than x found at run time with SHAPE_MISMATCH', async () => {
    const builder = new Builder({ backend: 'cpu' });
    const n = builder.createNetwork();
    n.markOutput(n.addSoftmax(n.addInput('x', 'float32', [-1, S]), { mask: n.addInput('mask', 'float32', [-1, S]) }).output(), 'y');
    const range = { min: [1, S], opt: [2, S], max: [2, S] };
    const engine = await Runtime.load(await builder.build(n, builder.createConfig({ profiles: [{ x: range, mask: range }] })));
    const ctx = engine.createContext();
    const err = await rejection(ctx.infer({ x: tensor(new Float32Array(S), [1, S]), mask: tensor(new Float32Array(2 * S), [2, S]) }));
    expect(err.code).toBe('SHAPE_MISMATCH');
    const x = scores.slice(0, 2 * S);
    const ok = await ctx.infer({ x: tensor(x, [2, S]), mask: tensor(new Float32Array(2 * S), [2, S]) });
    expectClose(ok.y!.data as Float32Array, softmaxReference(x, [2, S], null, []));
    engine.dispose();
  });
});

// ---------- whole attention blocks ----------

describe('attention blocks', () => {
  it('fuses the hand-built BERT of the benchmarks: 2 scales and 2 masked softmaxes, then 2 Attention layers', async () => {
    const builder = new Builder({ backend: 'cpu' });
    const network = builder.createNetwork();
    defineBert(network);
    const range = { min: [1, 1], opt: [2, 8], max: [2, 8] };
    const plan = await builder.build(network, builder.createConfig({ profiles: [{ input_ids: range, attention_mask: range }] }));
    network.dispose();
    expect(plan.buildLog.filter((l) => l.startsWith('fusion:'))).toEqual([
      'fusion: 12 MatMul+bias GEMMs (2 with GELU, 0 with ReLU); 2 MatMul scales (2 Mul/Div into alpha); 2 masked softmaxes; 70 -> 52 layers',
    ]);
    expect(plan.buildLog.filter((l) => l.startsWith('attention:'))).toEqual(['attention: 2 fused (8 transposes absorbed)']);
    const engine = await Runtime.load(plan);
    expect(engine.layers.filter((l) => l.kind === 'Softmax')).toEqual([]);
    expect(engine.layers.filter((l) => l.kind === 'Attention').map((l) => l.inputs.length)).toEqual([4, 4]);  // q, k, v, mask
    engine.dispose();
  });

  const models = fileURLToPath(new URL('../fixtures/models', import.meta.url));
  // file, Mul/Div layers folded (SDPA exports scale q and k), Attention layers made from the blocks (the SDPA exports
  // zero the NaN rows of fully masked queries between Softmax and the second MatMul: zero_nan_rows; the dynamo one
  // writes Kᵀ as Reshape -> Transpose -> Reshape, which the reshape-transpose folding makes one Transpose)
  const fixtures: Array<[string, number, number]> = [
    ['bert_torchscript_op13.onnx', 2, 2], ['bert_dynamo_op18.onnx', 2, 2], ['bert_sdpa_torchscript_op17.onnx', 4, 2],
    ['bert_sdpa_dynamo_op18.onnx', 4, 2], ['distilbert_torchscript_op17.onnx', 2, 2], ['distilbert_dynamo_op18.onnx', 2, 2],
    ['roberta_torchscript_op17.onnx', 2, 2], ['roberta_dynamo_op18.onnx', 2, 2], ['gpt2_torchscript_op17.onnx', 2, 2],
    ['gpt2_dynamo_op18.onnx', 2, 2],
  ];
  for (const [file, folded, blocks] of fixtures) {
    it.skipIf(!fs.existsSync(path.join(models, file)))(`${file}: fuses both attention layers, matches onnxruntime and its unfused engine at 1e-5`, async () => {
      const bytes = new Uint8Array(fs.readFileSync(path.join(models, file)));
      const fused = await runFixture(bytes, false);
      const unfused = await runFixture(bytes, true);
      expect(fused.log).toEqual([expect.stringMatching(new RegExp(` 2 MatMul scales \\(${folded} Mul/Div into alpha\\); 2 masked softmaxes;`))]);
      expect(unfused.log.join('')).not.toMatch(/MatMul scale|masked softmax|attention:/);
      expect(fused.attentionLog).toEqual(blocks ? [`attention: ${blocks} fused (8 transposes absorbed)`] : []);
      expect(fused.attentionLayers).toBe(blocks);
      expect(fused.softmaxMasks).toEqual(blocks ? [] : [2, 2]);
      for (const [name, want] of Object.entries(fused.outputs)) {
        if (name.startsWith('blocker')) continue;
        const got = unfused.outputs[name]!;
        expect(got.shape).toEqual(want.shape);
        expectClose(got.data as Float32Array, want.data as Float32Array, 1e-5);
      }
      const theirs = await runOrt(bytes, Object.fromEntries(fused.inputs.map((n) => [n, fixtureInput(n)])));
      for (const [name, want] of Object.entries(theirs)) expectClose(fused.outputs[name]!.data as Float32Array, want.data as Float32Array, 1e-5);
    });
  }
});

/**
 * Builds and runs a transformer fixture on the CPU (batch 2 × sequence 6, the second row padded). With `unfused`,
 * the tensors the attention fusions would remove are also marked as outputs (named blocker*), which stops them.
 */
async function runFixture(bytes: Uint8Array, unfused: boolean): Promise<{ log: string[]; attentionLog: string[]; softmaxMasks: number[]; attentionLayers: number; inputs: string[]; outputs: Record<string, Tensor> }> {
  const builder = new Builder({ backend: 'cpu' });
  const network = builder.createNetwork();
  const parsed = OnnxParser.parse(network, bytes);
  if (unfused) {
    const producer = new Map<string, string>();
    for (let i = 0; i < network.numLayers; i++) for (const t of network.getLayer(i).outputs) producer.set(t.name, network.getLayer(i).kind);
    const block = new Set<string>();
    for (let i = 0; i < network.numLayers; i++) {
      const l = network.getLayer(i);
      if (l.kind === 'Softmax') block.add(l.inputs[0]!.name);
      if (l.kind === 'MatMul' && l.inputs.every((t) => t && !t.isConstant)) {
        block.add(l.outputs[0]!.name);
        for (const t of l.inputs) if (t && producer.get(t.name) === 'ElementWise') block.add(t.name);
      }
    }
    let i = 0;
    for (const name of block) network.markOutput(network.getTensor(name)!, `blocker${i++}`);
  }
  const range = { min: [1, 1], opt: [2, 6], max: [2, 6] };
  const plan = await builder.build(network, builder.createConfig({ profiles: [Object.fromEntries(parsed.inputs.map((n) => [n, range]))] }));
  network.dispose();
  const engine = await Runtime.load(plan);
  const feeds = parsed.inputs.map((n) => [n, { data: fixtureInput(n).data as BigInt64Array, shape: [2, 6] }]);
  const outputs = await engine.createContext().infer(Object.fromEntries(feeds));
  const softmaxMasks = engine.layers.filter((l) => l.kind === 'Softmax').map((l) => l.inputs.length);
  const attentionLayers = engine.layers.filter((l) => l.kind === 'Attention').length;
  engine.dispose();
  const log = plan.buildLog;
  return { log: log.filter((l) => l.startsWith('fusion:')), attentionLog: log.filter((l) => l.startsWith('attention:')), softmaxMasks, attentionLayers, inputs: parsed.inputs, outputs };
}

/** The fixtures' inputs at batch 2 × sequence 6, the second row padded by 2. */
function fixtureInput(name: string): HostTensor {
  const values: Record<string, (i: number) => number> = {
    input_ids: (i) => (i * 7 + 3) % 50, attention_mask: (i) => (i < 10 ? 1 : 0), token_type_ids: (i) => i % 2,
  };
  return { dtype: 'int64', dims: [2, 6], data: BigInt64Array.from({ length: 12 }, (_, i) => BigInt(values[name]!(i))) };
}
