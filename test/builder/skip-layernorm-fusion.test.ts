/**
 * The builder's skip-layernorm fusion: a residual Add(a, b) read only by a layer-mode Normalization becomes that
 * Normalization's skip input (native/ir/LAYERS.md). ONNX models made here (post-LN residual blocks with
 * LayerNormalization and with the decomposed layer norm, dynamic dims, fp32 and fp16 engines) must fuse, match
 * onnxruntime, and give exactly the bits of the same model built unfused (the sums exposed as outputs, which keeps
 * the Adds). Near misses (a pre-LN residual stream, a sum that is an output, broadcasting, dims equal only by name)
 * must not fuse. The PyTorch BERT-family exports fuse their residual adds and still match onnxruntime.
 * (Normalization layers with a skip by hand, and their typed errors: skip-layernorm-layer.test.ts.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Builder, Runtime, type BuilderConfigOptions } from '../../lib/index.js';
import { OnnxParser } from '../../lib/onnx/index.js';
import { randomFloats } from '../api/helpers.js';
import { loadManifest, modelsDir, type ManifestFile } from '../fixtures/manifest.js';
import { model, node, tensor as initializer, T, valueInfo } from '../onnx/helpers.js';
import { runOrt, type HostTensor } from '../onnx/run.js';
import { runOnnxOnCpu } from './onnx-engine.js';
import { expectNear, expectSameBits } from './pointwise-helpers.js';

const B = 2, S = 5, H = 16;
const numel = (d: readonly number[]): number => d.reduce((a, b) => a * b, 1);

interface Graph {
  nodes: ReturnType<typeof node>[];
  inputs: Record<string, Array<number | string>>;  // float32 graph inputs (strings: symbolic dims)
  constants: Record<string, [number[], Float32Array]>;
  outputs: string[];
}

function graphBytes(g: Graph, extraOutputs: string[] = []): Uint8Array {
  return model({
    nodes: g.nodes,
    inputs: Object.entries(g.inputs).map(([name, dims]) => valueInfo(name, T.FLOAT, dims)),
    outputs: [...g.outputs, ...extraOutputs].map((name) => valueInfo(name, T.FLOAT, null)),
    initializers: Object.entries(g.constants).map(([name, [dims, values]]) => initializer(name, T.FLOAT, dims, values)),
    opset: 17,
  });
}

/** LayerNormalization of `x` into `y` over the last dim: the ONNX op, or the decomposed chain fuseLayerNorms folds. */
function layerNorm(x: string, y: string, decomposed: boolean): ReturnType<typeof node>[] {
  if (!decomposed) return [node('LayerNormalization', [x, 'gamma', 'beta'], [y], { axis: -1, epsilon: 1e-5 })];
  const p = `${y}_`;
  return [
    node('ReduceMean', [x], [`${p}mean`], { axes: [-1], keepdims: 1 }), node('Sub', [x, `${p}mean`], [`${p}d`]),
    node('Pow', [`${p}d`, 'two'], [`${p}sq`]), node('ReduceMean', [`${p}sq`], [`${p}var`], { axes: [-1], keepdims: 1 }),
    node('Add', [`${p}var`, 'eps'], [`${p}ve`]), node('Sqrt', [`${p}ve`], [`${p}std`]), node('Div', [`${p}d`, `${p}std`], [`${p}n`]),
    node('Mul', [`${p}n`, 'gamma'], [`${p}g`]), node('Add', [`${p}g`, 'beta'], [y]),
  ];
}

function constants(): Graph['constants'] {
  return {
    w: [[H, H], randomFloats(H * H, 61).map((v) => v * 0.5)], bias: [[H], randomFloats(H, 62)],
    gamma: [[H], randomFloats(H, 63).map((v) => v + 1)], beta: [[H], randomFloats(H, 64)],
    two: [[], Float32Array.of(2)], eps: [[], Float32Array.of(1e-5)],
  };
}

/**
 * Post-LN residual blocks (BERT's): h_i = LayerNorm(MatMul(h_{i-1}, w) + bias + h_{i-1}); the residual sums are
 * named sum0, sum1, ... The GEMM fusion takes the bias Add first, so each block should end as MatMul, Normalization.
 */
function postLnBlocks(blocks: number, decomposed: boolean, dims: Array<number | string> = [B, S, H]): Graph {
  const nodes: ReturnType<typeof node>[] = [];
  let h = 'x';
  for (let i = 0; i < blocks; i++) {
    nodes.push(node('MatMul', [h, 'w'], [`mm${i}`]), node('Add', [`mm${i}`, 'bias'], [`lin${i}`]), node('Add', [`lin${i}`, h], [`sum${i}`]));
    nodes.push(...layerNorm(`sum${i}`, `h${i}`, decomposed));
    h = `h${i}`;
  }
  return { nodes, inputs: { x: dims }, constants: constants(), outputs: [h] };
}

const sums = (blocks: number): string[] => Array.from({ length: blocks }, (_, i) => `sum${i}`);

function feedsFor(g: Graph, concrete: number[] = [B, S, H], seed = 71): Record<string, HostTensor> {
  return Object.fromEntries(Object.entries(g.inputs).map(([name, dims], i) => {
    const d = dims.map((v, k) => (typeof v === 'number' ? v : concrete[k]!));
    return [name, { dtype: 'float32', dims: d, data: randomFloats(numel(d), seed + i).map((v) => v * 2) } satisfies HostTensor];
  }));
}

interface Built {
  kinds: string[];
  precisions: string[];
  skips: string[];  // the skip input (index 5) of each Normalization layer ('' when absent)
  log: string[];
  outputs: Record<string, Float32Array>;
}

async function buildAndRun(bytes: Uint8Array, feeds: Record<string, HostTensor>, config: BuilderConfigOptions = {}): Promise<Built> {
  const r = await runOnnxOnCpu(bytes, feeds, config);
  return {
    kinds: r.layers.map((l) => l.kind),
    precisions: r.layers.map((l) => l.precision),
    skips: r.layers.filter((l) => l.kind === 'Normalization').map((l) => l.inputs[5] ?? ''),
    log: r.log,
    outputs: r.outputs,
  };
}

const skipLog = (b: Built): string | undefined => b.log.find((l) => l.startsWith('skip layernorm:'));

describe('skip-layernorm fusion (float32)', () => {
  for (const decomposed of [false, true]) {
    const what = decomposed ? 'the decomposed layer norm' : 'LayerNormalization';
    it(`fuses Add -> ${what} in two post-LN blocks; same bits as unfused, matches onnxruntime`, async () => {
      const g = postLnBlocks(2, decomposed);
      const feeds = feedsFor(g);
      const fused = await buildAndRun(graphBytes(g), feeds);
      expect(fused.kinds).toEqual(['MatMul', 'Normalization', 'MatMul', 'Normalization']);
      expect(fused.skips).toEqual(['x', 'h0']);  // Normalization(x = MatMul output, skip = the residual)
      expect(skipLog(fused)).toBe('skip layernorm: 2 residual adds fused');
      if (decomposed) expect(fused.log.some((l) => l.startsWith('fusion: 2 layer norms from decomposed'))).toBe(true);
      const unfused = await buildAndRun(graphBytes(g, sums(2)), feeds);
      expect(skipLog(unfused)).toBeUndefined();
      expect(unfused.kinds).toEqual(['MatMul', 'ElementWise', 'Normalization', 'MatMul', 'ElementWise', 'Normalization']);
      expectSameBits(fused.outputs.h1!, unfused.outputs.h1!, 'h1');
      expectNear(fused.outputs.h1!, (await runOrt(graphBytes(g), feeds)).h1!.data as Float32Array, 1e-5, 'h1');
    });
  }

  it('fuses with dynamic batch and sequence dims (the residual and the MatMul output share them)', async () => {
    const g = postLnBlocks(2, false, ['batch', 'seq', H]);
    const feeds = feedsFor(g, [3, 7, H]);
    const range = { min: [1, 1, H], opt: [3, 7, H], max: [4, 8, H] };
    const fused = await buildAndRun(graphBytes(g), feeds, { profiles: [{ x: range }] });
    expect(skipLog(fused)).toBe('skip layernorm: 2 residual adds fused');
    expect(fused.kinds).toEqual(['MatMul', 'Normalization', 'MatMul', 'Normalization']);
    expectNear(fused.outputs.h1!, (await runOrt(graphBytes(g), feeds)).h1!.data as Float32Array, 1e-5, 'h1');
  });

  it('fuses the sum of two static graph inputs of the same shape', async () => {
    const g: Graph = { nodes: [node('Add', ['a', 'b'], ['s']), ...layerNorm('s', 'y', false)], inputs: { a: [B, S, H], b: [B, S, H] }, constants: constants(), outputs: ['y'] };
    const feeds = feedsFor(g);
    const fused = await buildAndRun(graphBytes(g), feeds);
    expect(fused.kinds).toEqual(['Normalization']);
    expect(fused.skips).toEqual(['b']);
    const unfused = await buildAndRun(graphBytes(g, ['s']), feeds);
    expect(unfused.kinds).toEqual(['ElementWise', 'Normalization']);
    expectSameBits(fused.outputs.y!, unfused.outputs.y!, 'y');
    expectNear(fused.outputs.y!, (await runOrt(graphBytes(g), feeds)).y!.data as Float32Array, 1e-5, 'y');
  });
});

describe('skip-layernorm fusion (fp16 engines)', () => {
  for (const decomposed of [false, true]) {
    it(`fuses in fp16 (${decomposed ? 'decomposed' : 'LayerNormalization'}); same bits as the unfused fp16 Add -> LayerNorm`, async () => {
      const g = postLnBlocks(2, decomposed);
      const feeds = feedsFor(g, [B, S, H], 81);
      const fused = await buildAndRun(graphBytes(g), feeds, { precision: ['fp16'] });
      expect(fused.kinds).toEqual(['MatMul', 'Normalization', 'MatMul', 'Normalization']);
      expect(fused.precisions).toEqual(['fp16', 'fp16', 'fp16', 'fp16']);
      expect(skipLog(fused)).toBe('skip layernorm: 2 residual adds fused');
      // The unfused Adds store fp16 sums; the fused layers round their sums to fp16 the same way.
      const unfused = await buildAndRun(graphBytes(g, sums(2)), feeds, { precision: ['fp16'] });
      expect(unfused.kinds).toContain('ElementWise');
      expectSameBits(fused.outputs.h1!, unfused.outputs.h1!, 'h1');
      expectNear(fused.outputs.h1!, (await runOrt(graphBytes(g), feeds)).h1!.data as Float32Array, 2e-2, 'h1');
    });
  }
});

describe('skip-layernorm fusion: what must not fuse', () => {
  const notFused = async (g: Graph, feeds = feedsFor(g)): Promise<Built> => {
    const r = await buildAndRun(graphBytes(g), feeds);
    expect(skipLog(r)).toBeUndefined();
    expect(r.skips.every((s) => s === '')).toBe(true);
    const ort = await runOrt(graphBytes(g), feeds);
    for (const name of g.outputs) expectNear(r.outputs[name]!, ort[name]!.data as Float32Array, 1e-5, name);
    return r;
  };

  it('a pre-LN residual stream: the sum also feeds the next residual Add', async () => {
    // h = x + (x w + bias); y = h + (LayerNorm(h) w + bias)
    const g: Graph = {
      nodes: [
        node('MatMul', ['x', 'w'], ['mm0']), node('Add', ['mm0', 'bias'], ['lin0']), node('Add', ['x', 'lin0'], ['h']),
        ...layerNorm('h', 'n', false),
        node('MatMul', ['n', 'w'], ['mm1']), node('Add', ['mm1', 'bias'], ['lin1']), node('Add', ['h', 'lin1'], ['y']),
      ],
      inputs: { x: [B, S, H] }, constants: constants(), outputs: ['y'],
    };
    const r = await notFused(g);
    expect(r.kinds).toEqual(['MatMul', 'ElementWise', 'Normalization', 'MatMul', 'ElementWise']);
  });

  it('a sum that is also a network output', async () => {
    const g = postLnBlocks(1, false);
    g.outputs.push('sum0');
    const r = await notFused(g);
    expect(r.kinds).toEqual(['MatMul', 'ElementWise', 'Normalization']);
  });

  it('an Add that broadcasts ([B, S, H] + [1, S, H] position embeddings, or + [H])', async () => {
    for (const dims of [[1, S, H], [H]]) {
      const g: Graph = { nodes: [node('Add', ['a', 'p'], ['s']), ...layerNorm('s', 'y', false)], inputs: { a: [B, S, H], p: dims }, constants: constants(), outputs: ['y'] };
      const r = await notFused(g);
      expect(r.kinds).toEqual(['ElementWise', 'Normalization']);
    }
  });

  it('two dynamic graph inputs whose dims are equal only by name (either could broadcast at run time)', async () => {
    const dims = ['batch', 'seq', H];
    const g: Graph = { nodes: [node('Add', ['a', 'b'], ['s']), ...layerNorm('s', 'y', false)], inputs: { a: dims, b: dims }, constants: constants(), outputs: ['y'] };
    const feeds = feedsFor(g, [3, 4, H]);
    const range = { min: [1, 1, H], opt: [3, 4, H], max: [4, 8, H] };
    const r = await buildAndRun(graphBytes(g), feeds, { profiles: [{ a: range, b: range }] });
    expect(skipLog(r)).toBeUndefined();
    expect(r.kinds).toEqual(['ElementWise', 'Normalization']);
  });

  it('a layer norm whose input is a Sub, or an Add read twice by the same layer norm', async () => {
    const sub: Graph = { nodes: [node('Sub', ['a', 'b'], ['s']), ...layerNorm('s', 'y', false)], inputs: { a: [B, S, H], b: [B, S, H] }, constants: constants(), outputs: ['y'] };
    expect((await notFused(sub)).kinds).toEqual(['ElementWise', 'Normalization']);
    // LayerNormalization(s, s, beta): s is x and scale.
    const twice: Graph = {
      nodes: [node('Add', ['a', 'b'], ['s']), node('LayerNormalization', ['s', 's', 'beta'], ['y'], { axis: 0 })],
      inputs: { a: [H], b: [H] }, constants: constants(), outputs: ['y'],
    };
    expect((await notFused(twice)).kinds).toEqual(['ElementWise', 'Normalization']);
  });
});

// ---------- PyTorch fixtures ----------

// Residual adds fused per export (absent: none). The TorchScript exports fuse both residuals of each of their 2
// layers. The dynamo exports fuse only the feed-forward residual: the attention output's dims come from a Reshape to
// the attention mask's dims, which equal the hidden states' only by the ONNX dim names, so the pass keeps that Add.
// The embeddings' last Add broadcasts the [1, S, H] position embeddings (or, in the dynamo exports, sums Gathers of
// different inputs) and stays; GPT-2 is pre-LN.
const fixtureSkips: Record<string, number> = {
  'bert_dynamo_op18.onnx': 2,
  'bert_sdpa_dynamo_op18.onnx': 2,
  'bert_sdpa_torchscript_op17.onnx': 4,
  'bert_torchscript_op13.onnx': 4,
  'distilbert_dynamo_op18.onnx': 2,
  'distilbert_torchscript_op17.onnx': 4,
  'roberta_dynamo_op18.onnx': 2,
  'roberta_torchscript_op17.onnx': 4,
};

/** Batch 2, sequence 8: ids, a right-padded mask (shorter in the second row), 0/1 token types. */
function transformerInputs(file: ManifestFile): Record<string, HostTensor> {
  const seq = 8;
  const value = (name: string, b: number, t: number): number =>
    name === 'attention_mask' ? (t < seq - 3 * b ? 1 : 0) : name === 'token_type_ids' ? (t >= seq / 2 ? 1 : 0) : 2 + ((b * 37 + t * 11) % 60);
  return Object.fromEntries(file.inputs.map((io) => [io.name, {
    dtype: 'int64', dims: [2, seq], data: BigInt64Array.from({ length: 2 * seq }, (_, i) => BigInt(value(io.name, Math.floor(i / seq), i % seq))),
  } satisfies HostTensor]));
}

const manifest = loadManifest();
const transformers = (manifest?.files ?? []).filter((f) => /^(bert|roberta|distilbert|gpt2)_/.test(f.name));

describe.skipIf(!manifest)('skip-layernorm fusion on the PyTorch transformer exports', () => {
  for (const file of transformers) {
    const count = fixtureSkips[file.name];
    it(`${file.name}: ${count ? `fuses ${count} residual adds; matches onnxruntime` : 'fuses none'}`, async () => {
      const bytes = new Uint8Array(fs.readFileSync(path.join(modelsDir, file.name)));
      const builder = new Builder({ backend: 'cpu' });
      const network = builder.createNetwork();
      OnnxParser.parse(network, bytes);
      const inputs = transformerInputs(file);
      const range = { min: [1, 1], opt: [2, 8], max: [4, 16] };
      const plan = await builder.build(network, builder.createConfig({ profiles: [Object.fromEntries(file.inputs.map((io) => [io.name, range]))] }));
      network.dispose();
      expect(plan.buildLog.find((l) => l.startsWith('skip layernorm:'))).toBe(count ? `skip layernorm: ${count} residual adds fused` : undefined);
      const engine = await Runtime.load(plan);
      const withSkip = engine.layers.filter((l) => l.kind === 'Normalization' && (l.inputs[5] ?? '') !== '');
      expect(withSkip).toHaveLength(count ?? 0);
      const ours = await engine.createContext().infer(Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, { data: t.data, shape: t.dims }])));
      engine.dispose();
      const theirs = await runOrt(bytes, inputs);
      for (const [name, want] of Object.entries(theirs)) {
        expect(ours[name]!.shape, name).toEqual(want.dims);
        expectNear(ours[name]!.data as Float32Array, want.data as Float32Array, 1e-4, name);
      }
    });
  }
});
