/**
 * PackedAttention v1 on the CPU backend against an unfused reference built from ordinary layers: per sequence,
 * Slice its tokens, Reshape / Transpose to heads, MatMul(q, kᵀ), Mul(alpha), Softmax, MatMul(p, v), back to
 * [L, H], and Concat. Lengths 1 to 512 one at a time and mixed, empty sequences, fp32 / fp16 builds, float16
 * tensors, D = 64 and D = 24, and the typed errors for bad offsets and shapes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  Builder, Runtime, fromFloat16Bits, tensor, toFloat16Bits,
  type Engine, type NetworkDefinition, type NetworkTensor,
} from '../../lib/index.js';
import { rejection, thrown } from '../inferrt-errors.js';
import { LENGTHS, configFor, expectClose, offsetsOf, randomFloats, runNetwork, type BuildPrecision } from './helpers.js';

const MAX_SEQ_LEN = 512;
const MAX_TOKENS = LENGTHS.reduce((a, b) => a + b);

interface Geometry {
  hidden: number;
  heads: number;
}

/** The reference: standard attention per sequence from plain layers (empty sequences give no rows). */
function defineReference(network: NetworkDefinition, qkv: NetworkTensor, lengths: readonly number[], g: Geometry, alphaValue: number): NetworkTensor {
  const d = g.hidden / g.heads;
  const alpha = network.addConstant([1], new Float32Array([alphaValue]));
  const rows: NetworkTensor[] = [];
  let start = 0;
  for (const length of lengths) {
    if (length === 0) continue;
    const tokens = network.addSlice(qkv, [start], [start + length], [0]).output();
    start += length;
    const split = network.addReshape(tokens, [length, 3, g.heads, d]).output();
    const transposed = network.addTranspose(split, [1, 2, 0, 3]).output(); // [3, heads, L, D]
    // Rank-3 operands [heads, L, D]: the builder's attention fusion takes rank 4 only, so these layers stay
    // unfused and round as separate layers do (in fp16 builds: every intermediate to fp16).
    const heads = network.addReshape(transposed, [3 * g.heads, length, d]).output();
    const part = (i: number) => network.addSlice(heads, [i * g.heads], [(i + 1) * g.heads], [0]).output();
    const scores = network.addMatrixMultiply(part(0), part(1), { transposeB: true }).output(); // [heads, L, L]
    const scaled = network.addElementWise(scores, alpha, 'mul').output();
    const probs = network.addSoftmax(scaled, { axis: -1 }).output();
    const context = network.addMatrixMultiply(probs, part(2)).output(); // [heads, L, D]
    const perToken = network.addTranspose(context, [1, 0, 2]).output();
    rows.push(network.addReshape(perToken, [length, g.hidden]).output());
  }
  return rows.length === 1 ? rows[0]! : network.addConcat(rows, 0).output();
}

async function reference(
  qkv: Float32Array, lengths: readonly number[], g: Geometry, precision: BuildPrecision, alpha = 1 / Math.sqrt(g.hidden / g.heads),
): Promise<Float32Array> {
  const tokens = qkv.length / (3 * g.hidden);
  const out = await runNetwork((network) => {
    const input = network.addInput('qkv', 'float32', [tokens, 3 * g.hidden]);
    network.markOutput(defineReference(network, input, lengths, g, alpha), 'out');
  }, { qkv: tensor(qkv, [tokens, 3 * g.hidden]) }, configFor(precision));
  return out.out!.data as Float32Array;
}

/** One engine per geometry and precision: qkv [T, 3H] and cu_seqlens [B + 1] dynamic (dims -1) at build time. */
const engines = new Map<string, Promise<Engine>>();
afterAll(async () => {
  for (const e of engines.values()) (await e).dispose();
});

function pluginEngine(g: Geometry, precision: BuildPrecision, dtype: 'float32' | 'float16' = 'float32'): Promise<Engine> {
  const key = `${g.hidden}/${g.heads}/${precision}/${dtype}`;
  let engine = engines.get(key);
  if (!engine) {
    engine = (async () => {
      const builder = new Builder({ backend: 'cpu' });
      using network = builder.createNetwork();
      const qkv = network.addInput('qkv', dtype, [-1, 3 * g.hidden]);
      const cu = network.addInput('cu_seqlens', 'int32', [-1]);
      const attn = network.addPlugin('PackedAttention', [qkv, cu], { num_heads: g.heads, max_seq_len: MAX_SEQ_LEN }, { name: 'attn' });
      network.markOutput(attn.output(), 'out');
      const profiles = [{ qkv: { min: [1, 3 * g.hidden], opt: [128, 3 * g.hidden], max: [MAX_TOKENS, 3 * g.hidden] }, cu_seqlens: { min: [2], opt: [3], max: [10] } }];
      return Runtime.load(await builder.build(network, builder.createConfig(configFor(precision, { profiles }))));
    })();
    engines.set(key, engine);
  }
  return engine;
}

async function runPlugin(g: Geometry, precision: BuildPrecision, qkv: Float32Array, cu: Int32Array): Promise<Float32Array> {
  using ctx = (await pluginEngine(g, precision)).createContext();
  const out = await ctx.infer({ qkv: tensor(qkv, [qkv.length / (3 * g.hidden), 3 * g.hidden]), cu_seqlens: tensor(cu, [cu.length]) });
  expect(out.out!.shape).toEqual([qkv.length / (3 * g.hidden), g.hidden]);
  return out.out!.data as Float32Array;
}

/** qkv for `lengths`: uniform in [-2, 2), so the softmax is far from uniform. */
function qkvFor(lengths: readonly number[], g: Geometry, seed: number): Float32Array {
  return randomFloats(lengths.reduce((a, b) => a + b, 0) * 3 * g.hidden, seed, 2);
}

const D64: Geometry = { hidden: 128, heads: 2 };
const D24: Geometry = { hidden: 96, heads: 4 };
// fp32: the plugin rounds exactly where the unfused layers do, so only the summation order of a fused reference
// could differ. fp16: the reference rounds every intermediate (scores, probabilities) to fp16, the plugin only its
// output.
const TOLERANCE = { fp32: 1e-6, fp16: 5e-3 };

describe('PackedAttention v1 (CPU) matches unfused per-sequence attention', () => {
  const cases: Array<{ lengths: number[]; g: Geometry; precision: BuildPrecision }> = [
    ...LENGTHS.map((n) => ({ lengths: [n], g: D64, precision: 'fp32' as const })),
    { lengths: LENGTHS, g: D64, precision: 'fp32' },
    { lengths: [65, 1, 512, 2, 64, 63], g: D24, precision: 'fp32' },
    { lengths: [3, 0, 5], g: D64, precision: 'fp32' },
    { lengths: [0, 7, 0, 0], g: D24, precision: 'fp32' },
    { lengths: LENGTHS, g: D64, precision: 'fp16' },
    { lengths: [384, 0, 2, 65], g: D24, precision: 'fp16' },
  ];
  for (const [i, { lengths, g, precision }] of cases.entries()) {
    it(`lengths [${lengths.join(', ')}], D = ${g.hidden / g.heads}, ${precision}`, async () => {
      const qkv = qkvFor(lengths, g, 100 + i);
      const got = await runPlugin(g, precision, qkv, offsetsOf(lengths));
      expectClose(got, await reference(qkv, lengths, g, precision), TOLERANCE[precision]);
    });
  }

  it('16 heads of D = 64 over a 512-token sequence and a mixed batch', async () => {
    const g: Geometry = { hidden: 1024, heads: 16 };
    for (const [i, lengths] of [[512], [1, 130, 65]].entries()) {
      const qkv = qkvFor(lengths, g, 300 + i);
      expectClose(await runPlugin(g, 'fp32', qkv, offsetsOf(lengths)), await reference(qkv, lengths, g, 'fp32'), TOLERANCE.fp32);
    }
  });

  it('keeps sequences apart: changing one sequence changes only its own rows', async () => {
    const lengths = [5, 9, 4];
    const cu = offsetsOf(lengths);
    const qkv = qkvFor(lengths, D64, 7);
    const before = await runPlugin(D64, 'fp32', qkv, cu);
    const changed = qkv.slice();
    for (let i = cu[1]! * 3 * D64.hidden; i < cu[2]! * 3 * D64.hidden; i++) changed[i] = -changed[i]! + 0.5;
    const after = await runPlugin(D64, 'fp32', changed, cu);
    const row = (data: Float32Array, t: number) => Array.from(data.subarray(t * D64.hidden, (t + 1) * D64.hidden));
    for (let t = 0; t < cu[3]!; t++) {
      if (t >= cu[1]! && t < cu[2]!) expect(row(after, t)).not.toEqual(row(before, t));
      else expect(row(after, t)).toEqual(row(before, t));
    }
  });

  it('honours an explicit alpha attribute', async () => {
    const lengths = [6, 3];
    const qkv = qkvFor(lengths, D24, 8);
    const out = await runNetwork((network) => {
      const x = network.addInput('qkv', 'float32', [9, 3 * D24.hidden]);
      const cu = network.addInput('cu_seqlens', 'int32', [3]);
      network.markOutput(network.addPlugin('PackedAttention', [x, cu], { num_heads: D24.heads, max_seq_len: 8, alpha: 0.5 }).output(), 'out');
    }, { qkv: tensor(qkv, [9, 3 * D24.hidden]), cu_seqlens: tensor(offsetsOf(lengths), [3]) });
    expectClose(out.out!.data as Float32Array, await reference(qkv, lengths, D24, 'fp32', 0.5), 1e-5);
  });

  it('takes float16 tensors and rounds only its output', async () => {
    const g = D64;
    const lengths = [65, 0, 2, 30];
    const bits = toFloat16Bits(qkvFor(lengths, g, 9));
    const qkv16 = fromFloat16Bits(bits); // the exact fp32 values of the fp16 inputs
    const engine = await pluginEngine(g, 'fp32', 'float16');
    using ctx = engine.createContext();
    const cu = offsetsOf(lengths);
    const out = await ctx.infer({ qkv: tensor(bits, [cu[4]!, 3 * g.hidden], 'float16'), cu_seqlens: tensor(cu, [5]) });
    expect(out.out!.dtype).toBe('float16');
    // fp16 has 11 significant bits: outputs of magnitude < 2 are within 2^-11 of the exact value.
    expectClose(fromFloat16Bits(out.out!.data as Uint16Array), await reference(qkv16, lengths, g, 'fp32'), 2 ** -11 + 1e-6);
  });
});

describe('PackedAttention v1 errors', () => {
  const g = D64;
  const qkvOf = (tokens: number) => tensor(new Float32Array(tokens * 3 * g.hidden), [tokens, 3 * g.hidden]);

  const badOffsets: Array<[string, number[], number, string]> = [
    ['not starting at 0', [1, 5, 8], 8, 'cu_seqlens[0] = 1; the first offset must be 0'],
    ['decreasing', [0, 5, 3, 8], 8, 'cu_seqlens[2] = 3 is less than cu_seqlens[1] = 5; offsets must never decrease'],
    ['ending before the last token', [0, 5, 7], 8, 'cu_seqlens[2] = 7 but the packed input has 8 tokens'],
    ['ending after the last token', [0, 5, 9], 8, 'cu_seqlens[2] = 9 but the packed input has 8 tokens'],
    ['with a sequence over max_seq_len', [0, 1, 514], 514, 'cu_seqlens[2] = 514 makes sequence 1 513 tokens long, more than max_seq_len 512'],
    ['negative', [0, -4, 8], 8, 'cu_seqlens[1] = -4 is less than cu_seqlens[0] = 0'],
  ];
  for (const [what, cu, tokens, message] of badOffsets) {
    it(`rejects cu_seqlens ${what} with INVALID_ARGUMENT naming the index and value`, async () => {
      using ctx = (await pluginEngine(g, 'fp32')).createContext();
      const e = await rejection(ctx.infer({ qkv: qkvOf(tokens), cu_seqlens: tensor(Int32Array.from(cu), [cu.length]) }));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toContain("PackedAttention layer 'attn': " + message);
      // The context stays usable.
      const ok = await ctx.infer({ qkv: qkvOf(4), cu_seqlens: tensor(Int32Array.from([0, 4]), [2]) });
      expect(Array.from(ok.out!.data as Float32Array).every((v) => v === 0)).toBe(true);
    });
  }

  function addAttention(network: NetworkDefinition, columns: number, attrs: Record<string, number>, cuDtype: 'int32' | 'int64' = 'int32') {
    const qkv = network.addInput('qkv', 'float32', [-1, columns]);
    const cu = network.addInput('cu_seqlens', cuDtype, [-1]);
    return network.addPlugin('PackedAttention', [qkv, cu], attrs, { name: 'attn' });
  }
  const shapeErrors: Array<[string, number, Record<string, number>, 'int32' | 'int64', string, string]> = [
    ['hidden not divisible by num_heads', 3 * 100, { num_heads: 3, max_seq_len: 8 }, 'int32', 'SHAPE_MISMATCH', 'hidden size 100 (300 columns / 3), not divisible by num_heads 3'],
    ['qkv columns not a multiple of 3', 128, { num_heads: 2, max_seq_len: 8 }, 'int32', 'SHAPE_MISMATCH', 'input 0 (qkv) has 128 columns'],
    ['int64 cu_seqlens', 384, { num_heads: 2, max_seq_len: 8 }, 'int64', 'DTYPE_MISMATCH', 'input 1 (cu_seqlens) has dtype int64, expected int32'],
    ['no num_heads', 384, { max_seq_len: 8 }, 'int32', 'INVALID_ARGUMENT', "attribute 'num_heads' is required"],
    ['num_heads 0', 384, { num_heads: 0, max_seq_len: 8 }, 'int32', 'INVALID_ARGUMENT', "attribute 'num_heads' must be > 0, got 0"],
    ['no max_seq_len', 384, { num_heads: 2 }, 'int32', 'INVALID_ARGUMENT', "attribute 'max_seq_len' is required"],
    ['max_seq_len -1', 384, { num_heads: 2, max_seq_len: -1 }, 'int32', 'INVALID_ARGUMENT', "attribute 'max_seq_len' must be in [1, 2147483647], got -1"],
  ];
  for (const [what, columns, attrs, cuDtype, code, message] of shapeErrors) {
    it(`rejects ${what} when the layer is added`, () => {
      using network = new Builder({ backend: 'cpu' }).createNetwork();
      const e = thrown(() => addAttention(network, columns, attrs, cuDtype));
      expect(e.code).toBe(code);
      expect(e.message).toContain("layer 'attn' (Plugin)");
      expect(e.message).toContain(message);
    });
  }

  it('rejects a qkv of rank 3 and a float cu_seqlens', () => {
    using network = new Builder({ backend: 'cpu' }).createNetwork();
    const qkv3 = network.addInput('qkv3', 'float32', [2, 4, 384]);
    const cu = network.addInput('cu', 'int32', [3]);
    const cuf = network.addInput('cuf', 'float32', [3]);
    expect(thrown(() => network.addPlugin('PackedAttention', [qkv3, cu], { num_heads: 2, max_seq_len: 8 })).message).toContain('input 0 (qkv) must have rank 2, got shape [2, 4, 384]');
    const qkv = network.addInput('qkv', 'float32', [4, 384]);
    expect(thrown(() => network.addPlugin('PackedAttention', [qkv, cuf], { num_heads: 2, max_seq_len: 8 })).code).toBe('DTYPE_MISMATCH');
    expect(thrown(() => network.addPlugin('PackedAttention', [qkv], { num_heads: 2, max_seq_len: 8 })).code).toBe('INVALID_MODEL');
  });

  it('checks constant cu_seqlens when the layer is added', () => {
    using network = new Builder({ backend: 'cpu' }).createNetwork();
    const qkv = network.addInput('qkv', 'float32', [8, 384]);
    const cu = network.addConstant([3], Int32Array.from([0, 6, 5]));
    const e = thrown(() => network.addPlugin('PackedAttention', [qkv, cu], { num_heads: 2, max_seq_len: 8 }, { name: 'attn' }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain('cu_seqlens[2] = 5 is less than cu_seqlens[1] = 6');
  });
});
