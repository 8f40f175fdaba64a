/**
 * PackedEmbLayerNorm v1 on the CPU backend against an unfused reference built from ordinary layers: Gather of the
 * word, token type and position rows (position ids computed here from cu_seqlens), Add, Add, and a layer
 * Normalization. BERT-style (segment ids and a type table), RoBERTa-style (position_offset 2, one type row, no
 * segment ids) and no type table at all; lengths 1 to 512 one at a time and mixed, empty sequences, fp32 / fp16
 * builds, float16 tables, and the typed errors for bad ids, offsets and shapes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  Builder, Runtime, fromFloat16Bits, tensor, toFloat16Bits,
  type Engine, type NetworkDefinition, type NetworkTensor, type TensorInput,
} from '../../lib/index.js';
import { rejection, thrown } from '../inferrt-errors.js';
import { LENGTHS, configFor, expectClose, offsetsOf, randomFloats, randomInts, runNetwork, type BuildPrecision } from './helpers.js';

const VOCAB = 100;
const HIDDEN = 64;
const MAX_SEQ_LEN = 512;
const MAX_TOKENS = LENGTHS.reduce((a, b) => a + b);

/** Which inputs a model has: BERT (segment ids, 2 type rows), RoBERTa (offset 2, 1 type row, no segment ids), none. */
interface Variant {
  name: string;
  segments: boolean;
  typeRows: number; // 0: no token type table
  positionOffset: number;
  epsilon: number;
}
const BERT: Variant = { name: 'BERT', segments: true, typeRows: 2, positionOffset: 0, epsilon: 1e-12 };
const ROBERTA: Variant = { name: 'RoBERTa', segments: false, typeRows: 1, positionOffset: 2, epsilon: 1e-5 };
const NO_TYPES: Variant = { name: 'no token types', segments: false, typeRows: 0, positionOffset: 0, epsilon: 1e-12 };

/** The weights of a variant (seeded): float32 arrays, rounded to fp16 values when `half`. */
function weightsOf(v: Variant, half = false) {
  const round = (a: Float32Array) => (half ? fromFloat16Bits(toFloat16Bits(a)) : a);
  return {
    word: round(randomFloats(VOCAB * HIDDEN, 1)),
    position: round(randomFloats((MAX_SEQ_LEN + v.positionOffset) * HIDDEN, 2, 0.5)),
    type: round(randomFloats(Math.max(v.typeRows, 1) * HIDDEN, 3, 0.5)),
    gamma: round(randomFloats(HIDDEN, 4, 0.5).map((x) => 1 + x)),
    beta: round(randomFloats(HIDDEN, 5, 0.2)),
  };
}
type Weights = ReturnType<typeof weightsOf>;

/** The plugin layer on network inputs input_ids [tokens], segment_ids (if the variant has them) and cu_seqlens [offsets]. */
function definePlugin(network: NetworkDefinition, v: Variant, w: Weights, tokens: number, offsets: number, dtype: 'float32' | 'float16' = 'float32'): NetworkTensor {
  const table = (dims: number[], data: Float32Array) => (dtype === 'float16' ? network.addConstant(dims, toFloat16Bits(data)) : network.addConstant(dims, data));
  const ids = network.addInput('input_ids', 'int32', [tokens]);
  const segments = v.segments ? network.addInput('segment_ids', 'int32', [tokens]) : null;
  const cu = network.addInput('cu_seqlens', 'int32', [offsets]);
  const types = v.typeRows > 0 ? table([v.typeRows, HIDDEN], w.type) : null;
  const inputs = [ids, segments, cu, table([VOCAB, HIDDEN], w.word), table([MAX_SEQ_LEN + v.positionOffset, HIDDEN], w.position), types, table([HIDDEN], w.gamma), table([HIDDEN], w.beta)];
  const attrs = { epsilon: v.epsilon, position_offset: v.positionOffset, max_seq_len: MAX_SEQ_LEN };
  return network.addPlugin('PackedEmbLayerNorm', inputs, attrs, { name: 'emb' }).output();
}

/** The reference: Gather + Add + Gather + Add + layer Normalization, position ids given as an input. */
async function reference(v: Variant, w: Weights, ids: Int32Array, segments: Int32Array, cu: Int32Array, precision: BuildPrecision): Promise<Float32Array> {
  const tokens = ids.length;
  const positions = new Int32Array(tokens);
  for (let b = 0; b + 1 < cu.length; b++) for (let t = cu[b]!; t < cu[b + 1]!; t++) positions[t] = t - cu[b]! + v.positionOffset;
  const feeds: Record<string, TensorInput> = { ids: tensor(ids, [tokens]), positions: tensor(positions, [tokens]) };
  if (v.typeRows > 0) feeds.segments = tensor(v.segments ? segments : new Int32Array(tokens), [tokens]);
  const out = await runNetwork((network) => {
    const gather = (rows: number, data: Float32Array, name: string) =>
      network.addGather(network.addConstant([rows, HIDDEN], data), network.addInput(name, 'int32', [tokens]), 0).output();
    let e = gather(VOCAB, w.word, 'ids');
    if (v.typeRows > 0) e = network.addElementWise(e, gather(v.typeRows, w.type, 'segments'), 'add').output();
    e = network.addElementWise(e, gather(MAX_SEQ_LEN + v.positionOffset, w.position, 'positions'), 'add').output();
    const gamma = network.addConstant([HIDDEN], w.gamma), beta = network.addConstant([HIDDEN], w.beta);
    network.markOutput(network.addLayerNormalization(e, gamma, beta, { epsilon: v.epsilon }).output(), 'out');
  }, feeds, configFor(precision));
  return out.out!.data as Float32Array;
}

const engines = new Map<string, Promise<Engine>>();
afterAll(async () => {
  for (const e of engines.values()) (await e).dispose();
});

/** One engine per variant and precision, token count and batch dynamic. */
function pluginEngine(v: Variant, precision: BuildPrecision): Promise<Engine> {
  const key = `${v.name}/${precision}`;
  let engine = engines.get(key);
  if (!engine) {
    engine = (async () => {
      const builder = new Builder({ backend: 'cpu' });
      using network = builder.createNetwork();
      network.markOutput(definePlugin(network, v, weightsOf(v), -1, -1), 'out');
      const range = { min: [1], opt: [128], max: [MAX_TOKENS] };
      const profile = { input_ids: range, cu_seqlens: { min: [2], opt: [3], max: [10] }, ...(v.segments ? { segment_ids: range } : {}) };
      return Runtime.load(await builder.build(network, builder.createConfig(configFor(precision, { profiles: [profile] }))));
    })();
    engines.set(key, engine);
  }
  return engine;
}

function feedsOf(v: Variant, ids: Int32Array, segments: Int32Array, cu: Int32Array): Record<string, TensorInput> {
  const feeds: Record<string, TensorInput> = { input_ids: tensor(ids, [ids.length]), cu_seqlens: tensor(cu, [cu.length]) };
  if (v.segments) feeds.segment_ids = tensor(segments, [segments.length]);
  return feeds;
}

async function runPlugin(v: Variant, precision: BuildPrecision, ids: Int32Array, segments: Int32Array, cu: Int32Array): Promise<Float32Array> {
  using ctx = (await pluginEngine(v, precision)).createContext();
  const out = await ctx.infer(feedsOf(v, ids, segments, cu));
  expect(out.out!.shape).toEqual([ids.length, HIDDEN]);
  return out.out!.data as Float32Array;
}

function tokensOf(lengths: readonly number[], seed: number) {
  const tokens = lengths.reduce((a, b) => a + b, 0);
  return { ids: randomInts(tokens, seed, VOCAB), segments: randomInts(tokens, seed + 1, 2), cu: offsetsOf(lengths) };
}

// fp32: the same float32 sums and double statistics as the reference layers. fp16: the reference rounds every
// intermediate sum to fp16, the plugin only its output (|y| stays below about 5).
const TOLERANCE = { fp32: 1e-6, fp16: 1e-2 };

describe('PackedEmbLayerNorm v1 (CPU) matches Gather + Add + LayerNorm', () => {
  const cases: Array<{ lengths: number[]; v: Variant; precision: BuildPrecision }> = [
    ...LENGTHS.map((n) => ({ lengths: [n], v: BERT, precision: 'fp32' as const })),
    { lengths: LENGTHS, v: BERT, precision: 'fp32' },
    { lengths: LENGTHS, v: ROBERTA, precision: 'fp32' },
    { lengths: [65, 512, 1, 2], v: NO_TYPES, precision: 'fp32' },
    { lengths: [3, 0, 5], v: BERT, precision: 'fp32' },
    { lengths: [0, 7, 0], v: ROBERTA, precision: 'fp32' },
    { lengths: LENGTHS, v: BERT, precision: 'fp16' },
    { lengths: [384, 0, 64, 63], v: ROBERTA, precision: 'fp16' },
  ];
  for (const [i, { lengths, v, precision }] of cases.entries()) {
    it(`${v.name}, lengths [${lengths.join(', ')}], ${precision}`, async () => {
      const { ids, segments, cu } = tokensOf(lengths, 10 + i);
      const got = await runPlugin(v, precision, ids, segments, cu);
      // fp16 builds round the fp32 weights to fp16 values in both networks.
      expectClose(got, await reference(v, weightsOf(v), ids, segments, cu, precision), TOLERANCE[precision]);
    });
  }

  it('restarts positions at every sequence: a sequence gives the same rows alone and packed after others', async () => {
    const { ids, segments } = tokensOf([40, 30], 50);
    const packed = await runPlugin(BERT, 'fp32', ids, segments, Int32Array.from([0, 40, 70]));
    const alone = await runPlugin(BERT, 'fp32', ids.subarray(40), segments.subarray(40), Int32Array.from([0, 30]));
    expect(Array.from(packed.subarray(40 * HIDDEN))).toEqual(Array.from(alone));
  });

  it('takes float16 tables and rounds only its output', async () => {
    const v = BERT;
    const w16 = weightsOf(v, true); // fp16 values, as float32
    const lengths = [65, 0, 2, 130];
    const { ids, segments, cu } = tokensOf(lengths, 60);
    const out = await runNetwork((network) => network.markOutput(definePlugin(network, v, w16, ids.length, cu.length, 'float16'), 'out'), feedsOf(v, ids, segments, cu));
    expect(out.out!.dtype).toBe('float16');
    // One rounding to fp16 (11 significant bits) of the exact result: within 2^-11 relative.
    expectClose(fromFloat16Bits(out.out!.data as Uint16Array), await reference(v, w16, ids, segments, cu, 'fp32'), 1e-6, 2 ** -11);
  });
});

describe('PackedEmbLayerNorm v1 errors', () => {
  const badInputs: Array<[string, (t: ReturnType<typeof tokensOf>) => void, string]> = [
    ['an input id equal to the vocabulary size', (t) => (t.ids[3] = VOCAB), `input_ids[3] = ${VOCAB} is outside [0, ${VOCAB}), the rows of word_embeddings`],
    ['a negative input id', (t) => (t.ids[0] = -1), `input_ids[0] = -1 is outside [0, ${VOCAB})`],
    ['a segment id past the type table', (t) => (t.segments[5] = 2), 'segment_ids[5] = 2 is outside [0, 2), the rows of token_type_embeddings'],
    ['cu_seqlens not starting at 0', (t) => (t.cu[0] = 1), 'cu_seqlens[0] = 1; the first offset must be 0'],
    ['decreasing cu_seqlens', (t) => (t.cu[1] = 9), 'cu_seqlens[2] = 8 is less than cu_seqlens[1] = 9; offsets must never decrease'],
    ['cu_seqlens ending before the last token', (t) => (t.cu[2] = 7), 'cu_seqlens[2] = 7 but the packed input has 8 tokens'],
  ];
  for (const [what, spoil, message] of badInputs) {
    it(`rejects ${what} with INVALID_ARGUMENT naming the tensor, index and value`, async () => {
      using ctx = (await pluginEngine(BERT, 'fp32')).createContext();
      const t = tokensOf([2, 6], 70);
      t.cu = Int32Array.from([0, 2, 8]);
      spoil(t);
      const e = await rejection(ctx.infer(feedsOf(BERT, t.ids, t.segments, t.cu)));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toContain("PackedEmbLayerNorm layer 'emb': " + message);
    });
  }

  it('rejects a sequence over max_seq_len', async () => {
    using ctx = (await pluginEngine(BERT, 'fp32')).createContext();
    const t = tokensOf([MAX_SEQ_LEN + 1], 71);
    const e = await rejection(ctx.infer(feedsOf(BERT, t.ids, t.segments, t.cu)));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain(`cu_seqlens[1] = 513 makes sequence 0 513 tokens long, more than max_seq_len ${MAX_SEQ_LEN}`);
  });

  type Change = (inputs: Array<NetworkTensor | null>, attrs: Record<string, number>, network: NetworkDefinition) => void;

  /** Adds a valid BERT-style layer with `change` applied to its inputs and attributes first. */
  function addChanged(network: NetworkDefinition, change: Change) {
    const f = (dims: number[]) => network.addConstant(dims, new Float32Array(dims.reduce((a, b) => a * b, 1)));
    const inputs: Array<NetworkTensor | null> = [
      network.addInput('input_ids', 'int32', [-1]), network.addInput('segment_ids', 'int32', [-1]), network.addInput('cu_seqlens', 'int32', [-1]),
      f([VOCAB, HIDDEN]), f([16, HIDDEN]), f([2, HIDDEN]), f([HIDDEN]), f([HIDDEN]),
    ];
    const attrs: Record<string, number> = { max_seq_len: 16 };
    change(inputs, attrs, network);
    return network.addPlugin('PackedEmbLayerNorm', inputs, attrs, { name: 'emb' });
  }

  it('accepts the unchanged layer the error cases start from', () => {
    using network = new Builder({ backend: 'cpu' }).createNetwork();
    expect(addChanged(network, () => {}).output().dims).toEqual([-1, HIDDEN]);
  });

  const shapeErrors: Array<[string, Change, string, string]> = [
    ['no max_seq_len', (_i, a) => delete a.max_seq_len, 'INVALID_ARGUMENT', "attribute 'max_seq_len' is required"],
    ['a negative position_offset', (_i, a) => (a.position_offset = -1), 'INVALID_ARGUMENT', "attribute 'position_offset' must be >= 0, got -1"],
    ['a negative epsilon', (_i, a) => (a.epsilon = -1), 'INVALID_ARGUMENT', "attribute 'epsilon' must be finite and >= 0"],
    ['too few position rows for position_offset + max_seq_len', (_i, a) => (a.position_offset = 2), 'SHAPE_MISMATCH', 'input 4 (position_embeddings) has 16 rows, fewer than position_offset 2 + max_seq_len 16'],
    ['gamma of another length', (i, _a, n) => (i[6] = n.addConstant([HIDDEN + 1], new Float32Array(HIDDEN + 1))), 'SHAPE_MISMATCH', `gamma hidden size vs word_embeddings hidden size: ${HIDDEN} vs ${HIDDEN + 1}`],
    ['a float16 table among float32 ones', (i, _a, n) => (i[5] = n.addConstant([2, HIDDEN], new Uint16Array(2 * HIDDEN))), 'DTYPE_MISMATCH', 'input 5 (token_type_embeddings) has dtype float16 but input 3 (word_embeddings) has float32'],
    ['int64 input ids', (i, _a, n) => (i[0] = n.addInput('ids64', 'int64', [-1])), 'DTYPE_MISMATCH', 'input 0 (input_ids) has dtype int64, expected int32'],
    ['segment ids without a type table', (i) => (i[5] = null), 'INVALID_MODEL', 'input 1 (segment_ids) is given but input 5 (token_type_embeddings) is not'],
    ['no word table', (i) => (i[3] = null), 'INVALID_MODEL', 'input 3 is missing'],
    ['a 1-D word table', (i, _a, n) => (i[3] = n.addConstant([HIDDEN], new Float32Array(HIDDEN))), 'SHAPE_MISMATCH', 'input 3 (word_embeddings) must have rank 2'],
    ['segment ids of another length', (i, _a, n) => { i[0] = n.addInput('ids5', 'int32', [5]); i[1] = n.addInput('seg6', 'int32', [6]); }, 'SHAPE_MISMATCH', 'segment_ids length vs input_ids length: 5 vs 6'],
    ['constant cu_seqlens over max_seq_len', (i, _a, n) => { i[0] = n.addInput('ids20', 'int32', [20]); i[1] = null; i[2] = n.addConstant([2], Int32Array.from([0, 20])); }, 'INVALID_ARGUMENT', 'cu_seqlens[1] = 20 makes sequence 0 20 tokens long, more than max_seq_len 16'],
  ];
  for (const [what, change, code, message] of shapeErrors) {
    it(`rejects ${what} when the layer is added`, () => {
      using network = new Builder({ backend: 'cpu' }).createNetwork();
      const e = thrown(() => addChanged(network, change));
      expect(e.code).toBe(code);
      expect(e.message).toContain("layer 'emb' (Plugin)");
      expect(e.message).toContain(message);
    });
  }
});
