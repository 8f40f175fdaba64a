/**
 * GPU suite, the packed-sequence BERT plugins (issue 4) on CUDA vs their CPU implementations (the oracle): networks
 * of one plugin layer built with `network.addPlugin`, run by a CPU engine and a CUDA engine with the same config,
 * outputs compared. Every case asserts the layer runs on 'cuda' (no CPU fallback).
 *
 * - PackedAttention: the fused Attention kernels with cu_seqlens — the tensor-core path (fp16 engines, D in {32,
 *   64, 128}) and the generic one (every fp32 engine, fp16 with D = 80); sequence lengths 1, 2, 63, 64, 65, 384,
 *   512 mixed in one batch, with zero-length sequences (also first and last), and a max_seq_len far above every
 *   length (CTAs past a sequence's end).
 * - PackedEmbLayerNorm: hidden 128 / 768 (row in registers), 100 (partial lane chunks), 1100 (recomputing path);
 *   with and without segment ids and the token-type table; position_offset 0 and 2.
 * - SkipLayerNorm: with and without beta / bias, rows of 768, 1000, 1001 and 5000 (the Normalization kernel's paths).
 * - FullyConnected: bias, none / relu / exact-erf gelu / tanh gelu, x of rank 2 and 3.
 * - Bad cu_seqlens on the GPU (first != 0, decreasing, last != T, a sequence longer than max_seq_len, wild values):
 *   a typed INVALID_ARGUMENT naming the layer with the cu_seqlens message, and the context keeps working; out-of-range
 *   ids and segment ids: INVALID_ARGUMENT "an id is out of range". Both with and without CUDA graphs (a context
 *   replays a captured graph from its second run of a shape).
 * Skipped, with the reason, where the addon has no CUDA part, no GPU is visible, or the CPU plugins are missing.
 */
import { describe, expect, it } from 'vitest';
import {
  hasPlugin, tensor, type BuilderConfigOptions, type Engine, type NetworkDefinition, type NetworkTensor, type Tensor,
} from '../../lib/index.js';
import { randomFloats } from '../api/helpers.js';
import { rejection } from '../inferrt-errors.js';
import { checkAgreement, cudaSkipReason, describeFallback, fallbackLayers, reportSkipped, type Tolerance, loadNetwork } from './helpers.js';

const PLUGINS = ['PackedEmbLayerNorm', 'PackedAttention', 'SkipLayerNorm', 'FullyConnected'];
const missing = PLUGINS.filter((p) => !hasPlugin(p, '1'));
const skipReason = cudaSkipReason !== ''
  ? cudaSkipReason
  : missing.length > 0 ? `the CPU implementations (the oracle) of ${missing.join(', ')} v1 are not registered` : '';

/**
 * PackedAttention, as the Attention suite argues: fp32 engines do the same fp32 math in another order (online
 * softmax), a few 2^-24 times sqrt(length) relative; fp16 engines see the same fp16 inputs, the tensor-core path
 * rounds P to fp16 and both round the output once (one fp16 ulp where they straddle a rounding boundary).
 */
const ATTN_FP32: Tolerance = { relL2: 1e-5, maxRel: 5e-5, absFloor: 1e-6 };
const ATTN_FP16: Tolerance = { relL2: 3e-3, maxRel: 1e-2, absFloor: 1e-4 };
/**
 * Layer norms: the CPU takes statistics in double; SkipLayerNorm's CUDA kernel too (the output formed in float, a
 * float ulp or so), PackedEmbLayerNorm's in fp32 (two passes: a few 2^-24 relative on mean and variance). fp16:
 * that can flip the output's fp16 rounding (2^-11 relative).
 */
const SKIP_FP32: Tolerance = { relL2: 1e-6, maxRel: 1e-5, absFloor: 1e-6 };
const EMB_FP32: Tolerance = { relL2: 1e-5, maxRel: 2e-5, absFloor: 1e-6 };
const LN_FP16: Tolerance = { relL2: 1e-3, maxRel: 2e-3, absFloor: 1e-6 };
/**
 * FullyConnected: strict fp32 GEMMs sum K products in another order (a few 2^-24 sqrt(K) relative to the terms);
 * fp16 engines apply GELU to the fp16-rounded pre-activation (the CPU to the fp32 one) and round once: 1-2 ulps.
 */
const FC_FP32: Tolerance = { relL2: 1e-5, maxRel: 1e-4, absFloor: 1e-5 };
const FC_FP16: Tolerance = { relL2: 3e-3, maxRel: 1e-2, absFloor: 1e-3 };

type Mode = [label: string, config: BuilderConfigOptions, tol: Tolerance];
const fp32 = (tol: Tolerance): Mode => ['strict fp32', { strictFp32: true }, tol];
const fp16 = (tol: Tolerance): Mode => ['fp16', { precision: ['fp16'] }, tol];
/** A TF32 engine (the default): attention math stays plain fp32 (generic path); the CPU engine is strict fp32. */
const tf32 = (tol: Tolerance): Mode => ['tf32', {}, tol];

const LAYER = 'plugin';
const numel = (d: readonly number[]): number => d.reduce((a, b) => a * b, 1);
const sum = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0);

/** cu_seqlens of sequences of these lengths: [0, l0, l0 + l1, ...]. */
function cuSeqlensOf(lengths: readonly number[]): Int32Array {
  const cu = new Int32Array(lengths.length + 1);
  lengths.forEach((l, b) => (cu[b + 1] = cu[b]! + l));
  return cu;
}

/** Deterministic ids in [0, n). */
function idsBelow(count: number, n: number, seed: number): Int32Array {
  return Int32Array.from(randomFloats(count, seed), (v) => Math.min(n - 1, Math.floor(((v + 1) / 2) * n)));
}

/** Uniform values in [-scale, scale) plus `offset`. */
const values = (count: number, seed: number, scale = 1, offset = 0): Float32Array =>
  Float32Array.from(randomFloats(count, seed), (v) => v * scale + offset);

/** The plugin layer (null: an absent optional input), named LAYER, output marked 'y'. */
function addPluginOutput(n: NetworkDefinition, name: string, inputs: ReadonlyArray<NetworkTensor | null>, attrs: Record<string, number | string>): void {
  n.markOutput(n.addPlugin(name, inputs, attrs, { name: LAYER }).output(), 'y');
}

async function run(engine: Engine, feeds: Record<string, Tensor>): Promise<Tensor> {
  using ctx = engine.createContext();
  return (await ctx.infer(feeds)).y!;
}

interface PluginCase {
  name: string;
  define: (n: NetworkDefinition) => void;
  feeds: Record<string, Tensor>;
  modes: Mode[];
}

/** Each mode: a CPU and a CUDA engine of the network, the plugin on the GPU, outputs within the mode's tolerance. */
async function compareWithCpu(c: PluginCase): Promise<void> {
  const problems: string[] = [];
  for (const [label, config, tol] of c.modes) {
    using cpu = await loadNetwork(c.define, 'cpu', label === 'tf32' ? { strictFp32: true } : config);
    using cuda = await loadNetwork(c.define, 'cuda', config);
    expect(describeFallback(fallbackLayers(cuda)), label).toBe('none');
    expect(cuda.layers.map((l) => `${l.kind} on ${l.runsOn}`), label).toEqual(['Plugin on cuda']);
    const want = await run(cpu, c.feeds);
    const got = await run(cuda, c.feeds);
    const problem = checkAgreement(want, got, tol);
    if (problem) problems.push(`${label}: ${problem}`);
  }
  expect(problems).toEqual([]);
}

// ---- PackedAttention ----

interface AttentionCase {
  name: string;
  lengths: number[];
  heads: number;
  d: number;
  maxSeqLen?: number;  // default: the longest length
  alpha?: number;      // default: the plugin's 1 / sqrt(D)
  modes: Mode[];
}

/** The lengths of the issue: 1, 2, 63, 64, 65, 384, 512 mixed, with a zero-length sequence among them. */
const MIXED = [1, 2, 63, 0, 64, 65, 384, 512];

const attentionCases: AttentionCase[] = [
  { name: 'D 64, 2 heads, lengths 1..512 mixed with an empty sequence', lengths: MIXED, heads: 2, d: 64, modes: [fp32(ATTN_FP32), tf32(ATTN_FP32), fp16(ATTN_FP16)] },
  { name: 'D 32, 4 heads, alpha 0.2, empty sequences in the middle and last', lengths: [65, 0, 1, 512, 2, 63, 0], heads: 4, d: 32, alpha: 0.2, modes: [fp32(ATTN_FP32), fp16(ATTN_FP16)] },
  { name: 'D 128, 2 heads, an empty first sequence', lengths: [0, 384, 1, 64, 2, 65, 512], heads: 2, d: 128, modes: [fp32(ATTN_FP32), fp16(ATTN_FP16)] },
  { name: 'D 80 (generic fp16 path), 2 heads', lengths: [65, 1, 130, 0, 7], heads: 2, d: 80, modes: [fp32(ATTN_FP32), fp16(ATTN_FP16)] },
  { name: 'short sequences under max_seq_len 512 (most CTAs past a sequence end)', lengths: [1, 2, 3, 17], heads: 3, d: 64, maxSeqLen: 512, modes: [fp32(ATTN_FP32), fp16(ATTN_FP16)] },
];

function attentionCase(c: AttentionCase): PluginCase {
  const tokens = sum(c.lengths);
  const hidden = c.heads * c.d;
  const attrs: Record<string, number> = { num_heads: c.heads, max_seq_len: c.maxSeqLen ?? Math.max(...c.lengths) };
  if (c.alpha !== undefined) attrs.alpha = c.alpha;
  return {
    name: c.name,
    define: (n) => {
      const qkv = n.addInput('qkv', 'float32', [tokens, 3 * hidden]);
      const cu = n.addInput('cu_seqlens', 'int32', [c.lengths.length + 1]);
      addPluginOutput(n, 'PackedAttention', [qkv, cu], attrs);
    },
    feeds: {
      qkv: tensor(values(tokens * 3 * hidden, 21, 1.5), [tokens, 3 * hidden]),
      cu_seqlens: tensor(cuSeqlensOf(c.lengths), [c.lengths.length + 1]),
    },
    modes: c.modes,
  };
}

// ---- PackedEmbLayerNorm ----

interface EmbeddingCase {
  name: string;
  lengths: number[];
  hidden: number;
  vocab: number;
  types: number;          // token-type table rows; 0: no table (and no segment ids)
  segmentIds: boolean;    // the segment_ids input (needs types > 0)
  positionOffset: number;
  epsilon?: number;       // default: the plugin's 1e-12
}

const embeddingCases: EmbeddingCase[] = [
  { name: 'hidden 128, segment ids over 2 types, position_offset 2, lengths 1..512 mixed', lengths: MIXED, hidden: 128, vocab: 64, types: 2, segmentIds: true, positionOffset: 2 },
  { name: 'hidden 768, no segment ids (type 0 for every token), empty first and last sequences', lengths: [0, 384, 65, 1, 64, 2, 63, 512, 0], hidden: 768, vocab: 97, types: 1, segmentIds: false, positionOffset: 0 },
  { name: 'hidden 100 (partial lane chunks), no token-type table, epsilon 1e-5', lengths: [5, 0, 17, 64], hidden: 100, vocab: 30, types: 0, segmentIds: false, positionOffset: 0, epsilon: 1e-5 },
  { name: 'hidden 1100 (above the register path), segment ids over 3 types', lengths: [65, 1, 0, 30], hidden: 1100, vocab: 40, types: 3, segmentIds: true, positionOffset: 2 },
];

function embeddingNetwork(c: EmbeddingCase, tokens: number, batch: number, maxSeqLen: number) {
  return (n: NetworkDefinition): void => {
    const h = c.hidden;
    const positions = maxSeqLen + c.positionOffset;
    const ids = n.addInput('input_ids', 'int32', [tokens]);
    const segments = c.segmentIds ? n.addInput('segment_ids', 'int32', [tokens]) : null;
    const cu = n.addInput('cu_seqlens', 'int32', [batch + 1]);
    const word = n.addConstant([c.vocab, h], values(c.vocab * h, 31));
    const position = n.addConstant([positions, h], values(positions * h, 32, 0.5));
    const type = c.types > 0 ? n.addConstant([c.types, h], values(c.types * h, 33, 0.3)) : null;
    const gamma = n.addConstant([h], values(h, 34, 0.2, 1));
    const beta = n.addConstant([h], values(h, 35, 0.1));
    const attrs: Record<string, number> = { max_seq_len: maxSeqLen, position_offset: c.positionOffset };
    if (c.epsilon !== undefined) attrs.epsilon = c.epsilon;
    addPluginOutput(n, 'PackedEmbLayerNorm', [ids, segments, cu, word, position, type, gamma, beta], attrs);
  };
}

function embeddingFeeds(c: EmbeddingCase, lengths: readonly number[], seed: number): Record<string, Tensor> {
  const tokens = sum(lengths);
  const feeds: Record<string, Tensor> = {
    input_ids: tensor(idsBelow(tokens, c.vocab, seed), [tokens]),
    cu_seqlens: tensor(cuSeqlensOf(lengths), [lengths.length + 1]),
  };
  if (c.segmentIds) feeds.segment_ids = tensor(idsBelow(tokens, c.types, seed + 1), [tokens]);
  return feeds;
}

function embeddingCase(c: EmbeddingCase): PluginCase {
  return {
    name: c.name,
    define: embeddingNetwork(c, sum(c.lengths), c.lengths.length, Math.max(...c.lengths)),
    feeds: embeddingFeeds(c, c.lengths, 41),
    modes: [fp32(EMB_FP32), fp16(LN_FP16)],
  };
}

// ---- SkipLayerNorm ----

interface SkipCase {
  name: string;
  dims: number[];
  beta: boolean;
  bias: boolean;
  epsilon?: number;
}

const skipCases: SkipCase[] = [
  { name: 'rows of 768 over the packed tokens, beta and bias', dims: [sum(MIXED), 768], beta: true, bias: true },
  { name: '[2, 5, 1000], gamma only', dims: [2, 5, 1000], beta: false, bias: false, epsilon: 1e-5 },
  { name: 'rows of 1001 (element by element), beta and bias', dims: [9, 1001], beta: true, bias: true },
  { name: 'rows of 5000 (general path), bias without beta', dims: [7, 5000], beta: false, bias: true },
];

function skipCase(c: SkipCase): PluginCase {
  const h = c.dims[c.dims.length - 1]!;
  return {
    name: c.name,
    define: (n) => {
      const x = n.addInput('x', 'float32', c.dims);
      const skip = n.addInput('skip', 'float32', c.dims);
      const gamma = n.addConstant([h], values(h, 51, 0.2, 1));
      const beta = c.beta ? n.addConstant([h], values(h, 52, 0.1)) : null;
      const bias = c.bias ? n.addConstant([h], values(h, 53, 0.5)) : null;
      const inputs = c.bias ? [x, skip, gamma, beta, bias] : c.beta ? [x, skip, gamma, beta] : [x, skip, gamma];
      addPluginOutput(n, 'SkipLayerNorm', inputs, c.epsilon === undefined ? {} : { epsilon: c.epsilon });
    },
    // Residual-stream-like data: x and skip of different scales and offsets.
    feeds: { x: tensor(values(numel(c.dims), 54, 4, 1), c.dims), skip: tensor(values(numel(c.dims), 55, 0.7), c.dims) },
    modes: [fp32(SKIP_FP32), fp16(LN_FP16)],
  };
}

// ---- FullyConnected ----

interface FcCase {
  name: string;
  x: number[];  // [..., K]
  n: number;
  bias: boolean;
  activation: 'none' | 'relu' | 'gelu' | 'gelu_tanh';
}

const fcCases: FcCase[] = [
  { name: 'BERT intermediate: [97, 256] x [256, 512] + bias, gelu', x: [97, 256], n: 512, bias: true, activation: 'gelu' },
  { name: 'BERT intermediate, approximateGelu: [97, 256] x [256, 512] + bias, gelu_tanh', x: [97, 256], n: 512, bias: true, activation: 'gelu_tanh' },
  { name: '[3, 5, 64] x [64, 96], relu, no bias', x: [3, 5, 64], n: 96, bias: false, activation: 'relu' },
  { name: '[17, 128] x [128, 64] + bias, no activation', x: [17, 128], n: 64, bias: true, activation: 'none' },
];

function fcCase(c: FcCase): PluginCase {
  const k = c.x[c.x.length - 1]!;
  return {
    name: c.name,
    define: (n) => {
      const x = n.addInput('x', 'float32', c.x);
      const w = n.addConstant([k, c.n], values(k * c.n, 61, Math.sqrt(3 / k)));
      const inputs = c.bias ? [x, w, n.addConstant([c.n], values(c.n, 62, 0.5))] : [x, w];
      addPluginOutput(n, 'FullyConnected', inputs, { activation: c.activation });
    },
    feeds: { x: tensor(values(numel(c.x), 63), c.x) },
    modes: [fp32(FC_FP32), fp16(FC_FP16)],
  };
}

describe.skipIf(skipReason !== '')('BERT plugins: CUDA vs CPU', () => {
  describe('PackedAttention', () => {
    for (const c of attentionCases) it(c.name, () => compareWithCpu(attentionCase(c)));
  });
  describe('PackedEmbLayerNorm', () => {
    for (const c of embeddingCases) it(c.name, () => compareWithCpu(embeddingCase(c)));
  });
  describe('SkipLayerNorm', () => {
    for (const c of skipCases) it(c.name, () => compareWithCpu(skipCase(c)));
  });
  describe('FullyConnected', () => {
    for (const c of fcCases) it(c.name, () => compareWithCpu(fcCase(c)));
  });
});

// ---- Bad data found on the device ----

/** Three sequences over 10 tokens under max_seq_len 4, and cu_seqlens that break each rule. */
const GOOD_LENGTHS = [3, 3, 4];
const ERR_MAX = 4;
const badCuSeqlens: Array<[string, number[]]> = [
  ['first entry not 0', [1, 3, 6, 10]],
  ['a negative first entry', [-4, 0, 3, 10]],
  ['decreasing', [0, 6, 3, 10]],
  ['last entry below the token count', [0, 3, 6, 9]],
  ['last entry past the token count', [0, 3, 6, 11]],
  ['a sequence longer than max_seq_len', [0, 1, 2, 10]],
  ['wild values', [0, 2000000000, -2000000000, 10]],
];
const cuMessage = (layer: string): string =>
  `layer '${layer}' (Plugin, CUDA): cu_seqlens is invalid (must start at 0, never decrease, end at the token count, and no sequence may be longer than max_seq_len ${ERR_MAX})`;

/**
 * For contexts with and without CUDA graphs: two good runs (the second replays a captured graph where graphs are on),
 * then each bad feed rejects with INVALID_ARGUMENT and `message`, and a good run after it agrees with the CPU again.
 */
async function expectDeviceErrors(define: (n: NetworkDefinition) => void, config: BuilderConfigOptions, tol: Tolerance, good: Record<string, Tensor>,
  bad: Array<[string, Record<string, Tensor>, string]>): Promise<void> {
  using cpu = await loadNetwork(define, 'cpu', config);
  using cuda = await loadNetwork(define, 'cuda', config);
  expect(cuda.layers.map((l) => `${l.kind} on ${l.runsOn}`)).toEqual(['Plugin on cuda']);
  const want = await run(cpu, good);
  for (const cudaGraphs of [true, false]) {
    using ctx = cuda.createContext({ cudaGraphs });
    const agrees = async (when: string): Promise<void> => {
      expect(checkAgreement(want, (await ctx.infer(good)).y!, tol), `${when} (cudaGraphs ${cudaGraphs})`).toBeNull();
    };
    await agrees('first run');
    await agrees('second run');
    for (const [what, feeds, message] of bad) {
      const e = await rejection(ctx.infer(feeds));
      expect(e.code, `${what} (cudaGraphs ${cudaGraphs}): ${e.message}`).toBe('INVALID_ARGUMENT');
      expect(e.message, `${what} (cudaGraphs ${cudaGraphs})`).toContain(message);
      await agrees(`the run after ${what}`);
    }
  }
}

describe.skipIf(skipReason !== '')('BERT plugins: bad data on the GPU is a typed error, never a crash', () => {
  it('PackedAttention: bad cu_seqlens (tensor-core path in fp16, generic path in fp32)', async () => {
    const c: AttentionCase = { name: 'errors', lengths: GOOD_LENGTHS, heads: 2, d: 64, maxSeqLen: ERR_MAX, modes: [] };
    const { define, feeds } = attentionCase(c);
    const bad = badCuSeqlens.map(([what, cu]): [string, Record<string, Tensor>, string] =>
      [what, { ...feeds, cu_seqlens: tensor(Int32Array.from(cu), [cu.length]) }, cuMessage(LAYER)]);
    await expectDeviceErrors(define, { precision: ['fp16'] }, ATTN_FP16, feeds, bad);
    await expectDeviceErrors(define, { strictFp32: true }, ATTN_FP32, feeds, bad);
  });

  it('PackedEmbLayerNorm: bad cu_seqlens, ids and segment ids out of range', async () => {
    const c: EmbeddingCase = { name: 'errors', lengths: GOOD_LENGTHS, hidden: 128, vocab: 50, types: 2, segmentIds: true, positionOffset: 2 };
    const define = embeddingNetwork(c, sum(GOOD_LENGTHS), GOOD_LENGTHS.length, ERR_MAX);
    const good = embeddingFeeds(c, GOOD_LENGTHS, 71);
    const withIds = (ids: Record<number, number>, key: 'input_ids' | 'segment_ids'): Tensor => {
      const data = Int32Array.from(good[key]!.data as Int32Array);
      for (const [i, v] of Object.entries(ids)) data[Number(i)] = v;
      return tensor(data, [data.length]);
    };
    const idMessage = `layer '${LAYER}' (Plugin, CUDA): an id is out of range`;
    const bad: Array<[string, Record<string, Tensor>, string]> = [
      ...badCuSeqlens.map(([what, cu]): [string, Record<string, Tensor>, string] =>
        [what, { ...good, cu_seqlens: tensor(Int32Array.from(cu), [cu.length]) }, cuMessage(LAYER)]),
      ['an id equal to the vocabulary size', { ...good, input_ids: withIds({ 4: c.vocab }, 'input_ids') }, idMessage],
      ['a negative id', { ...good, input_ids: withIds({ 9: -1 }, 'input_ids') }, idMessage],
      ['a segment id past the token-type table', { ...good, segment_ids: withIds({ 0: c.types }, 'segment_ids') }, idMessage],
      // The cu_seqlens check runs before the embedding kernel: its error is the one reported.
      ['bad cu_seqlens and a bad id', { ...good, cu_seqlens: tensor(Int32Array.from([0, 3, 6, 9]), [4]), input_ids: withIds({ 1: 1 << 30 }, 'input_ids') }, cuMessage(LAYER)],
    ];
    await expectDeviceErrors(define, { strictFp32: true }, EMB_FP32, good, bad);
    await expectDeviceErrors(define, { precision: ['fp16'] }, LN_FP16, good, bad);
  });
});

if (skipReason !== '') {
  reportSkipped('BERT plugins: CUDA vs CPU', skipReason);
  reportSkipped('BERT plugins: bad data on the GPU is a typed error, never a crash', skipReason);
}
