/**
 * The builder's pointwise fusion: regions of float ElementWise / Unary / Activation layers become one Pointwise
 * layer (native/ir/LAYERS.md). ONNX models made here (SiLU, decomposed tanh-GELU, hard-swish, broadcast operands, a
 * branch, exposed intermediates, input limits) must fuse as expected, match onnxruntime, and — in float32 — give
 * exactly the bits of the same model built unfused (every intermediate exposed as an output, which keeps every
 * layer). fp16 engines fuse too and come out closer to fp32 than the unfused fp16 layers. The PyTorch exports fuse
 * the chains listed below and still match onnxruntime. (Pointwise layers by hand: pointwise-layer.test.ts.)
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

const numel = (d: readonly number[]): number => d.reduce((a, b) => a * b, 1);

interface Chain {
  nodes: ReturnType<typeof node>[];
  inputs: Record<string, number[]>;  // float32 graph inputs
  constants?: Record<string, [number[], number[]]>;  // float32 initializers: dims, values
  outputs: string[];
}

function chainBytes(c: Chain, extraOutputs: string[] = []): Uint8Array {
  return model({
    nodes: c.nodes,
    inputs: Object.entries(c.inputs).map(([name, dims]) => valueInfo(name, T.FLOAT, dims)),
    outputs: [...c.outputs, ...extraOutputs].map((name) => valueInfo(name, T.FLOAT, null)),
    initializers: Object.entries(c.constants ?? {}).map(([name, [dims, values]]) => initializer(name, T.FLOAT, dims, values)),
    opset: 17,
  });
}

/** Every node output that is not already a graph output: exposing them keeps every layer. */
function intermediates(c: Chain): string[] {
  return c.nodes.flatMap((n) => n.output ?? []).filter((name) => !c.outputs.includes(name));
}

function feedsFor(c: Chain, seed = 11, scale = 4): Record<string, HostTensor> {
  return Object.fromEntries(Object.entries(c.inputs).map(([name, dims], i) =>
    [name, { dtype: 'float32', dims, data: randomFloats(numel(dims), seed + i).map((v) => v * scale) } satisfies HostTensor]));
}

interface Built {
  kinds: string[];
  precisions: string[];
  log: string[];
  outputs: Record<string, Float32Array>;
}

async function buildAndRun(bytes: Uint8Array, feeds: Record<string, HostTensor>, config: BuilderConfigOptions = {}): Promise<Built> {
  const r = await runOnnxOnCpu(bytes, feeds, config);
  return { kinds: r.layers.map((l) => l.kind), precisions: r.layers.map((l) => l.precision), log: r.log, outputs: r.outputs };
}

const pointwiseLog = (b: Built): string | undefined => b.log.find((l) => l.startsWith('pointwise:'));

function relL2(actual: Float32Array, expected: ArrayLike<number>): number {
  let d = 0, r = 0;
  for (let i = 0; i < actual.length; i++) {
    d += (actual[i]! - expected[i]!) ** 2;
    r += expected[i]! ** 2;
  }
  return Math.sqrt(d / r);
}

// ---------- the chains ----------

const X = [2, 3, 4, 5];
const silu: Chain = {
  nodes: [node('Sigmoid', ['x'], ['s']), node('Mul', ['x', 's'], ['y'])],
  inputs: { x: X },
  outputs: ['y'],
};
// 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))), as the exporters write it.
const geluTanh: Chain = {
  nodes: [
    node('Pow', ['x', 'three'], ['cube']), node('Mul', ['cube', 'k'], ['kc']), node('Add', ['x', 'kc'], ['inner']),
    node('Mul', ['inner', 'c'], ['scaled']), node('Tanh', ['scaled'], ['th']), node('Add', ['th', 'one'], ['onep']),
    node('Mul', ['x', 'onep'], ['xo']), node('Mul', ['xo', 'half'], ['y']),
  ],
  inputs: { x: X },
  constants: { three: [[], [3]], k: [[], [0.044715]], c: [[], [Math.sqrt(2 / Math.PI)]], one: [[], [1]], half: [[], [0.5]] },
  outputs: ['y'],
};
// x * clip(x + 3, 0, 6) / 6
const hardSwishLike: Chain = {
  nodes: [
    node('Add', ['x', 'three'], ['s']), node('Clip', ['s', 'zero', 'six'], ['c']), node('Mul', ['x', 'c'], ['m']),
    node('Div', ['m', 'six'], ['y']),
  ],
  inputs: { x: X },
  constants: { three: [[], [3]], zero: [[], [0]], six: [[], [6]] },
  outputs: ['y'],
};
// x * hard_sigmoid(x) with explicit alpha/beta, then leaky relu: parameters travel through the program.
const hardSigmoidParams: Chain = {
  nodes: [
    node('HardSigmoid', ['x'], ['h'], { alpha: 1 / 6, beta: 0.5 }), node('Mul', ['x', 'h'], ['m']),
    node('LeakyRelu', ['m'], ['y'], { alpha: 0.125 }),
  ],
  inputs: { x: X },
  outputs: ['y'],
};
// Per-channel scale and shift as [C, 1, 1] constants, then relu: a folded batch norm's tail.
const channelAffine: Chain = {
  nodes: [node('Mul', ['x', 'scale'], ['m']), node('Add', ['m', 'shift'], ['a']), node('Relu', ['a'], ['y'])],
  inputs: { x: X },
  constants: { scale: [[3, 1, 1], [0.5, -1.25, 2]], shift: [[3, 1, 1], [0.1, 0.2, -0.3]] },
  outputs: ['y'],
};
// Two broadcast graph inputs: [N, C, H, W] with [C, 1, 1], and a [N, 1, H, W] with [1, C, 1, 1] whose result is
// larger than either.
const broadcastInputs: Chain = {
  nodes: [
    node('Sub', ['x', 'g'], ['d']), node('Exp', ['d'], ['e']), node('Mul', ['e', 'g'], ['y']),
    node('Add', ['p', 'q'], ['pq']), node('Tanh', ['pq'], ['z']),
  ],
  inputs: { x: X, g: [3, 1, 1], p: [2, 1, 4, 5], q: [1, 3, 1, 1] },
  outputs: ['y', 'z'],
};
// t = x + y; out = t * sigmoid(t): t is read twice inside the region.
const branch: Chain = {
  nodes: [node('Add', ['x', 'y'], ['t']), node('Sigmoid', ['t'], ['s']), node('Mul', ['t', 's'], ['out'])],
  inputs: { x: X, y: X },
  outputs: ['out'],
};
// r = relu(x + c) is a network output and also feeds r * 2: the region stops at r.
const exposed: Chain = {
  nodes: [node('Add', ['x', 'c'], ['a']), node('Relu', ['a'], ['r']), node('Mul', ['r', 'two'], ['out'])],
  inputs: { x: X },
  constants: { c: [[], [0.25]], two: [[], [2]] },
  outputs: ['r', 'out'],
};
// e = exp(-x) is read by a Mul and by a ReduceSum (not elementwise): the region {Neg, Exp} ends at e.
const sharedWithReduce: Chain = {
  nodes: [
    node('Neg', ['x'], ['n']), node('Exp', ['n'], ['e']), node('Mul', ['e', 'two'], ['out']),
    node('ReduceSum', ['e'], ['sum'], { keepdims: 1 }),
  ],
  inputs: { x: X },
  constants: { two: [[], [2]] },
  outputs: ['out', 'sum'],
};
// Ten inputs summed one at a time: a region takes at most 8 distinct inputs, so the adds split into two regions.
const tenInputs: Chain = {
  nodes: Array.from({ length: 9 }, (_, i) => node('Add', [i === 0 ? 'i0' : `s${i - 1}`, `i${i + 1}`], [i === 8 ? 'y' : `s${i}`])),
  inputs: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`i${i}`, [6, 7]])),
  outputs: ['y'],
};
// abs(x) * 2 > 1 feeds a Where: the comparison (bool) stays a layer, the float ops around it fuse.
const withComparison: Chain = {
  nodes: [
    node('Abs', ['x'], ['a']), node('Mul', ['a', 'two'], ['m']), node('Greater', ['m', 'one'], ['big']),
    node('Where', ['big', 'm', 'x'], ['w']), node('Sqrt', ['w'], ['sq']), node('Neg', ['sq'], ['y']),
  ],
  inputs: { x: X },
  constants: { two: [[], [2]], one: [[], [1]] },
  outputs: ['y'],
};

interface Case {
  name: string;
  chain: Chain;
  kinds: string[];
  log: string;
}

const cases: Case[] = [
  { name: 'SiLU x * sigmoid(x)', chain: silu, kinds: ['Pointwise'], log: 'pointwise: 1 chain fused (2 layers)' },
  { name: 'decomposed tanh-GELU', chain: geluTanh, kinds: ['Pointwise'], log: 'pointwise: 1 chain fused (8 layers)' },
  { name: 'hard-swish x * clip(x + 3, 0, 6) / 6', chain: hardSwishLike, kinds: ['Pointwise'], log: 'pointwise: 1 chain fused (4 layers)' },
  { name: 'activations with parameters', chain: hardSigmoidParams, kinds: ['Pointwise'], log: 'pointwise: 1 chain fused (3 layers)' },
  { name: 'per-channel [C, 1, 1] constants', chain: channelAffine, kinds: ['Pointwise'], log: 'pointwise: 1 chain fused (3 layers)' },
  { name: 'broadcast graph inputs', chain: broadcastInputs, kinds: ['Pointwise', 'Pointwise'], log: 'pointwise: 2 chains fused (5 layers)' },
  { name: 'a branch (an intermediate read twice)', chain: branch, kinds: ['Pointwise'], log: 'pointwise: 1 chain fused (3 layers)' },
  { name: 'an intermediate that is a network output', chain: exposed, kinds: ['Pointwise', 'ElementWise'], log: 'pointwise: 1 chain fused (2 layers)' },
  { name: 'an intermediate read by a reduction', chain: sharedWithReduce, kinds: ['Pointwise', 'ElementWise', 'Reduce'], log: 'pointwise: 1 chain fused (2 layers)' },
  { name: 'ten inputs (at most 8 per region)', chain: tenInputs, kinds: ['Pointwise', 'Pointwise'], log: 'pointwise: 2 chains fused (9 layers)' },
  { name: 'a comparison in the chain', chain: withComparison, kinds: ['Pointwise', 'ElementWise', 'Where', 'Pointwise'], log: 'pointwise: 2 chains fused (4 layers)' },
];

describe('pointwise fusion (float32)', () => {
  for (const c of cases) {
    it(`fuses ${c.name}; matches onnxruntime and the unfused layers bit for bit`, async () => {
      const feeds = feedsFor(c.chain);
      const fused = await buildAndRun(chainBytes(c.chain), feeds);
      expect(fused.kinds).toEqual(c.kinds);
      expect(pointwiseLog(fused)).toBe(c.log);
      const unfused = await buildAndRun(chainBytes(c.chain, intermediates(c.chain)), feeds);
      expect(pointwiseLog(unfused)).toBeUndefined();
      expect(unfused.kinds).not.toContain('Pointwise');
      const ort = await runOrt(chainBytes(c.chain), feeds);
      for (const name of c.chain.outputs) {
        expectSameBits(fused.outputs[name]!, unfused.outputs[name]!, name);
        expectNear(fused.outputs[name]!, ort[name]!.data as Float32Array, 1e-5, name);
      }
    });
  }
});

describe('pointwise fusion (fp16 engines)', () => {
  for (const c of [cases[0]!, cases[1]!, cases[4]!, cases[5]!, cases[6]!]) {
    it(`fuses ${c.name} in fp16, within fp16 rounding of onnxruntime's fp32`, async () => {
      const feeds = feedsFor(c.chain, 21, 2);
      const fused = await buildAndRun(chainBytes(c.chain), feeds, { precision: ['fp16'] });
      expect(fused.kinds).toEqual(c.kinds);
      expect(fused.precisions).toEqual(c.kinds.map(() => 'fp16'));
      expect(pointwiseLog(fused)).toBe(c.log);
      const ort = await runOrt(chainBytes(c.chain), feeds);
      for (const name of c.chain.outputs) expectNear(fused.outputs[name]!, ort[name]!.data as Float32Array, 4e-3, name);
    });
  }

  it('is closer to fp32 than the unfused fp16 layers, which round every intermediate (tanh-GELU)', async () => {
    const feeds = feedsFor(geluTanh, 31);
    const fused = await buildAndRun(chainBytes(geluTanh), feeds, { precision: ['fp16'] });
    const unfused = await buildAndRun(chainBytes(geluTanh, intermediates(geluTanh)), feeds, { precision: ['fp16'] });
    expect(unfused.kinds).not.toContain('Pointwise');
    const ort = (await runOrt(chainBytes(geluTanh), feeds)).y!.data as Float32Array;
    expect(relL2(fused.outputs.y!, ort)).toBeLessThan(relL2(unfused.outputs.y!, ort));
  });
});

// ---------- PyTorch fixtures ----------

// What fuses in each export (absent: nothing): the erf-GELU the dynamo exports spell out (5 layers; the TorchScript
// ones are taken by the GEMM fusion), GPT-2's tanh-GELU (8), the embeddings' add + add (2) and MobileNetV3's
// squeeze-excite gate hard_sigmoid * x (2).
const fixtureChains: Record<string, string> = {
  'bert_dynamo_op18.onnx': 'pointwise: 3 chains fused (12 layers)',
  'bert_sdpa_dynamo_op18.onnx': 'pointwise: 3 chains fused (12 layers)',
  'bert_sdpa_torchscript_op17.onnx': 'pointwise: 1 chain fused (2 layers)',
  'bert_torchscript_op13.onnx': 'pointwise: 1 chain fused (2 layers)',
  'distilbert_dynamo_op18.onnx': 'pointwise: 2 chains fused (10 layers)',
  'gpt2_dynamo_op18.onnx': 'pointwise: 2 chains fused (16 layers)',
  'gpt2_torchscript_op17.onnx': 'pointwise: 2 chains fused (16 layers)',
  'mobilenetv3_dynamo_op18.onnx': 'pointwise: 9 chains fused (18 layers)',
  'mobilenetv3_torchscript_op17.onnx': 'pointwise: 9 chains fused (18 layers)',
  'roberta_dynamo_op18.onnx': 'pointwise: 3 chains fused (12 layers)',
  'roberta_torchscript_op17.onnx': 'pointwise: 1 chain fused (2 layers)',
};

/** Inputs at batch 2 (sequence 8): a smooth pattern for images; ids, a right-padded mask and 0/1 token types. */
function fixtureInputs(file: ManifestFile): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const io of file.inputs) {
    const dims = io.shape.map((d) => (typeof d === 'number' ? d : d === 'batch' ? 2 : 8));
    const n = numel(dims);
    if (io.dtype === 'FLOAT') {
      out[io.name] = { dtype: 'float32', dims, data: Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) + 0.5 * Math.cos(i * 0.011)) };
      continue;
    }
    const seq = dims[1]!;
    const value = (i: number): number => {
      const b = Math.floor(i / seq), t = i % seq;
      if (io.name === 'attention_mask') return t < seq - 2 * b ? 1 : 0;
      if (io.name === 'token_type_ids') return t >= seq / 2 ? 1 : 0;
      return 3 + ((b * 131 + t * 17 + 5) % 90);
    };
    out[io.name] = { dtype: 'int64', dims, data: BigInt64Array.from({ length: n }, (_, i) => BigInt(value(i))) };
  }
  return out;
}

const manifest = loadManifest();

describe.skipIf(!manifest)('pointwise fusion on the PyTorch exports', () => {
  for (const file of manifest?.files ?? []) {
    it(`${file.name}: ${fixtureChains[file.name] ?? 'no chain fuses'}${fixtureChains[file.name] ? '; matches onnxruntime' : ''}`, async () => {
      const bytes = new Uint8Array(fs.readFileSync(path.join(modelsDir, file.name)));
      const builder = new Builder({ backend: 'cpu' });
      const network = builder.createNetwork();
      OnnxParser.parse(network, bytes);
      const inputs = fixtureInputs(file);
      const profile = Object.fromEntries(file.inputs.map((io) => [io.name, { min: io.shape.map((d) => (typeof d === 'number' ? d : 1)), opt: inputs[io.name]!.dims, max: inputs[io.name]!.dims }]));
      const plan = await builder.build(network, builder.createConfig({ profiles: [profile] }));
      network.dispose();
      expect(plan.buildLog.find((l) => l.startsWith('pointwise:'))).toBe(fixtureChains[file.name]);
      if (!fixtureChains[file.name]) return;
      const engine = await Runtime.load(plan);
      expect(engine.layers.filter((l) => l.kind === 'Pointwise')).toHaveLength(Number(/(\d+) chain/.exec(fixtureChains[file.name]!)![1]));
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
