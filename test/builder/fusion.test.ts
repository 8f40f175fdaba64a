/**
 * The builder's fusion stage: decomposed layer norms become one Normalization layer, and MatMul + bias
 * (+ ReLU / exact or tanh GELU) one MatMul with a bias input. Each pattern is checked to fuse and to compute what
 * the unfused layers did; near misses (an intermediate read elsewhere, wrong constants or axes) must not fuse.
 * The approximateGelu option turns fused exact GELUs into the tanh form. The PyTorch fixtures with these patterns
 * still match onnxruntime after fusion.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Builder, Runtime, type BuilderConfigOptions, type NetworkDefinition, type NetworkTensor } from '../../lib/index.js';
import { OnnxParser } from '../../lib/onnx/index.js';
import { expectClose, randomFloats } from '../api/helpers.js';
import { runOrt, type HostTensor } from '../onnx/run.js';
import { runNetwork } from './network-engine.js';

const B = 2, S = 3, H = 8, K = 4, N = 5;

interface Built {
  kinds: string[];
  inputCounts: number[];
  log: readonly string[];
  outputs: Record<string, Float32Array>;
}

/** Builds `define`'s network (static shapes), runs it on `feeds` and returns its layer kinds and outputs. */
async function buildAndRun(define: (n: NetworkDefinition) => void, feeds: Record<string, [Float32Array, number[]]>, config?: BuilderConfigOptions): Promise<Built> {
  const { plan, engine, out } = await runNetwork(define, feeds, { config });
  const result: Built = {
    kinds: engine.layers.map((l) => l.kind),
    inputCounts: engine.layers.map((l) => l.inputs.length),
    log: plan.buildLog,
    outputs: Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array])),
  };
  engine.dispose();
  return result;
}

const scalar = (n: NetworkDefinition, v: number): NetworkTensor => n.addConstant([1], new Float32Array([v]));

// ---------- layer norm ----------

const gamma = randomFloats(H, 11), beta = randomFloats(H, 12);
const lnInput = randomFloats(B * S * H, 13);

interface LnOptions {
  square?: 'pow' | 'mul';
  affine?: boolean;
  axes?: number[];
  epsAfterSqrt?: boolean;
  exposeCentered?: boolean;  // also mark x - mean as an output
  readCenteredTwice?: boolean;  // feed x - mean to one more layer that reaches an output
}

function defineLayerNorm(o: LnOptions) {
  return (n: NetworkDefinition): void => {
    const x = n.addInput('x', 'float32', [B, S, H]);
    const axes = o.axes ?? [-1];
    const m = n.addReduce(x, 'mean', { axes, keepDims: true }).output();
    const d = n.addElementWise(x, m, 'sub').output();
    const p = o.square === 'mul' ? n.addElementWise(d, d, 'mul').output() : n.addElementWise(d, scalar(n, 2), 'pow').output();
    const v = n.addReduce(p, 'mean', { axes, keepDims: true }).output();
    const s = o.epsAfterSqrt
      ? n.addElementWise(n.addUnary(v, 'sqrt').output(), scalar(n, 1e-5), 'add').output()
      : n.addUnary(n.addElementWise(v, scalar(n, 1e-5), 'add').output(), 'sqrt').output();
    let y = n.addElementWise(d, s, 'div').output();
    if (o.affine !== false) {
      y = n.addElementWise(y, n.addConstant([H], gamma), 'mul').output();
      y = n.addElementWise(n.addConstant([H], beta), y, 'add').output();  // beta first: order must not matter
    }
    n.markOutput(y, 'y');
    if (o.exposeCentered) n.markOutput(d, 'centered');
    if (o.readCenteredTwice) n.markOutput(n.addElementWise(d, scalar(n, 3), 'mul').output(), 'other');
  };
}

/** Layer norm over the last dim in float64, with or without the affine tail. */
function layerNormReference(affine: boolean, epsAfterSqrt = false): Float32Array {
  const y = new Float32Array(lnInput.length);
  for (let r = 0; r < B * S; r++) {
    const row = lnInput.subarray(r * H, (r + 1) * H);
    const mean = row.reduce((a, b) => a + b, 0) / H;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / H;
    const denom = epsAfterSqrt ? Math.sqrt(variance) + 1e-5 : Math.sqrt(variance + 1e-5);
    for (let k = 0; k < H; k++) y[r * H + k] = ((row[k]! - mean) / denom) * (affine ? gamma[k]! : 1) + (affine ? beta[k]! : 0);
  }
  return y;
}

describe('layer-norm fusion', () => {
  const feeds = { x: [lnInput, [B, S, H]] as [Float32Array, number[]] };

  it('fuses the 9-layer TorchScript chain into one Normalization', async () => {
    const r = await buildAndRun(defineLayerNorm({}), feeds);
    expect(r.kinds).toEqual(['Normalization']);
    expect(r.inputCounts).toEqual([3]);
    expect(r.log.some((l) => l.startsWith('fusion: 1 layer norm from decomposed'))).toBe(true);
    expectClose(r.outputs.y!, layerNormReference(true));
  });

  it('fuses the Mul(d, d) variant without the affine tail', async () => {
    const r = await buildAndRun(defineLayerNorm({ square: 'mul', affine: false }), feeds);
    expect(r.kinds).toEqual(['Normalization']);
    expectClose(r.outputs.y!, layerNormReference(false));
  });

  it('does not fuse when x - mean is also a network output', async () => {
    const r = await buildAndRun(defineLayerNorm({ exposeCentered: true }), feeds);
    expect(r.kinds).not.toContain('Normalization');
    expectClose(r.outputs.y!, layerNormReference(true));
  });

  it('does not fuse when x - mean has another reader', async () => {
    const r = await buildAndRun(defineLayerNorm({ readCenteredTwice: true }), feeds);
    expect(r.kinds).not.toContain('Normalization');
    expectClose(r.outputs.y!, layerNormReference(true));
  });

  it('does not fuse with epsilon added after the square root', async () => {
    const r = await buildAndRun(defineLayerNorm({ epsAfterSqrt: true }), feeds);
    expect(r.kinds).not.toContain('Normalization');
    expectClose(r.outputs.y!, layerNormReference(true, true));
  });

  it('does not fuse a reduction over a non-last axis', async () => {
    const r = await buildAndRun(defineLayerNorm({ axes: [1], affine: false }), feeds);
    expect(r.kinds).not.toContain('Normalization');
    // The chain stays, except its float tail after the second mean, which pointwise fusion takes:
    // add(eps) -> sqrt -> div(d, .).
    expect(r.kinds).toEqual(['Reduce', 'ElementWise', 'ElementWise', 'Reduce', 'Pointwise']);
    expect(r.log).toContain('pointwise: 1 chain fused (3 layers)');
  });
});

// ---------- GEMM + bias + activation ----------

const w = randomFloats(K * N, 21), bias = randomFloats(N, 22);
const gemmInput = randomFloats(B * S * K, 23).map((v) => v * 2);
const erf = (x: number): number => {  // Abramowitz-Stegun 7.1.26 is too coarse; use a series / continued fraction
  const t = Math.abs(x);
  let sum = t, term = t;
  for (let i = 1; i < 60; i++) {
    term *= (-t * t) / i;
    sum += term / (2 * i + 1);
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
};

type Act = 'none' | 'relu' | 'gelu' | 'gelu_tanh' | 'gelu_decomposed' | 'gelu_decomposed_half_first';

interface GemmOptions {
  act?: Act;
  biasShape?: number[];
  exposeProduct?: boolean;
  weightsAsInput?: boolean;
}

function defineGemm(o: GemmOptions) {
  return (n: NetworkDefinition): void => {
    const x = n.addInput('x', 'float32', [B, S, K]);
    const wt = o.weightsAsInput ? n.addInput('w', 'float32', [K, N]) : n.addConstant([K, N], w);
    const mm = n.addMatrixMultiply(x, wt).output();
    const biasShape = o.biasShape ?? [N];
    const biasData = biasShape.length === 1 ? bias : randomFloats(biasShape.reduce((a, b) => a * b, 1), 24);
    const y = n.addElementWise(mm, n.addConstant(biasShape, biasData), 'add').output();
    let z = y;
    const act = o.act ?? 'none';
    if (act === 'relu' || act === 'gelu') z = n.addActivation(y, act).output();
    if (act === 'gelu_tanh') z = n.addActivation(y, 'gelu', { approximate: 'tanh' }).output();
    if (act.startsWith('gelu_decomposed')) {
      const e = n.addUnary(n.addElementWise(y, scalar(n, Math.SQRT2), 'div').output(), 'erf').output();
      const t = n.addElementWise(e, scalar(n, 1), 'add').output();
      z = act === 'gelu_decomposed'
        ? n.addElementWise(n.addElementWise(y, t, 'mul').output(), scalar(n, 0.5), 'mul').output()
        : n.addElementWise(n.addElementWise(y, scalar(n, 0.5), 'mul').output(), t, 'mul').output();
    }
    n.markOutput(z, 'z');
    if (o.exposeProduct) n.markOutput(mm, 'product');
  };
}

function gemmReference(act: Act): Float32Array {
  const z = new Float32Array(B * S * N);
  for (let r = 0; r < B * S; r++) {
    for (let j = 0; j < N; j++) {
      let v = bias[j]!;
      for (let k = 0; k < K; k++) v += gemmInput[r * K + k]! * w[k * N + j]!;
      if (act === 'relu') v = Math.max(0, v);
      else if (act === 'gelu_tanh') v = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
      else if (act !== 'none') v = 0.5 * v * (1 + erf(v / Math.SQRT2));
      z[r * N + j] = v;
    }
  }
  return z;
}

describe('GEMM fusion', () => {
  const feeds = { x: [gemmInput, [B, S, K]] as [Float32Array, number[]] };

  for (const act of ['none', 'relu', 'gelu', 'gelu_decomposed', 'gelu_decomposed_half_first'] as const) {
    it(`fuses MatMul + bias${act === 'none' ? '' : ` + ${act}`} into one MatMul`, async () => {
      const r = await buildAndRun(defineGemm({ act }), feeds);
      expect(r.kinds).toEqual(['MatMul']);
      expect(r.inputCounts).toEqual([3]);
      expect(r.log.some((l) => /^fusion: 1 MatMul\+bias GEMM/.test(l))).toBe(true);
      expectClose(r.outputs.z!, gemmReference(act));
    });
  }

  it('fuses MatMul + bias + tanh-approximate GELU into one MatMul (activation gelu_tanh)', async () => {
    const r = await buildAndRun(defineGemm({ act: 'gelu_tanh' }), feeds);
    expect(r.kinds).toEqual(['MatMul']);
    expect(r.log.some((l) => /^fusion: 1 MatMul\+bias GEMM \(1 with GELU/.test(l))).toBe(true);
    expectClose(r.outputs.z!, gemmReference('gelu_tanh'));
  });

  describe('approximateGelu', () => {
    // The two GELU forms must differ on these inputs, or the cases below could not tell them apart.
    it('has inputs on which erf and tanh GELU differ', () => {
      const exact = gemmReference('gelu'), tanh = gemmReference('gelu_tanh');
      expect(Math.max(...exact.map((v, i) => Math.abs(v - tanh[i]!)))).toBeGreaterThan(1e-4);
    });

    for (const act of ['gelu', 'gelu_decomposed'] as const) {
      it(`computes a fused ${act} with the tanh approximation`, async () => {
        const r = await buildAndRun(defineGemm({ act }), feeds, { approximateGelu: true });
        expect(r.kinds).toEqual(['MatMul']);
        expect(r.log).toContain('approximateGelu: 1 fused GELU computed with the tanh approximation');
        expectClose(r.outputs.z!, gemmReference('gelu_tanh'));
      });
    }

    it('leaves a GELU that stays its own layer exact', async () => {
      const r = await buildAndRun(defineGemm({ act: 'gelu', exposeProduct: true }), feeds, { approximateGelu: true });
      expect(r.kinds).not.toEqual(['MatMul']);
      expect(r.log).toContain('approximateGelu: 0 fused GELUs computed with the tanh approximation');
      expectClose(r.outputs.z!, gemmReference('gelu'));
    });

    it('rejects a non-boolean value, and is accepted together with sparseWeights (no longer a typed error)', () => {
      const builder = new Builder({ backend: 'cpu' });
      expect(() => builder.createConfig({ approximateGelu: 'yes' as never })).toThrow(/approximateGelu/);
      for (const sparseWeights of [true, 'force'] as const)
        expect(builder.createConfig({ approximateGelu: true, sparseWeights }).approximateGelu).toBe(true);
    });
  });

  it('does not fuse a bias shaped [M, 1]', async () => {
    const r = await buildAndRun(defineGemm({ biasShape: [S, 1] }), feeds);
    expect(r.kinds).toEqual(['MatMul', 'ElementWise']);
  });

  it('does not fuse when the product is also a network output', async () => {
    const r = await buildAndRun(defineGemm({ act: 'relu', exposeProduct: true }), feeds);
    expect(r.kinds).toEqual(['MatMul', 'Pointwise']);  // the bias add and relu, fused elementwise instead
    expect(r.log.some((l) => /^fusion: .*GEMM/.test(l))).toBe(false);
    expectClose(r.outputs.z!, gemmReference('relu'));
  });

  it('does not fuse when the weights are not constant', async () => {
    const r = await buildAndRun(defineGemm({ weightsAsInput: true }), { ...feeds, w: [w, [K, N]] });
    expect(r.kinds).toEqual(['MatMul', 'ElementWise']);
    expectClose(r.outputs.z!, gemmReference('none'));
  });
});

// ---------- PyTorch fixtures ----------

const models = fileURLToPath(new URL('../fixtures/models', import.meta.url));

function transformerInputs(names: string[], batch: number, seq: number): Record<string, HostTensor> {
  const ids = Array.from({ length: batch * seq }, (_, i) => (i * 7 + 3) % 50);
  const mask = Array.from({ length: batch * seq }, (_, i) => (i % seq < seq - (i < seq ? 0 : 2) ? 1 : 0));
  const values: Record<string, number[]> = { input_ids: ids, attention_mask: mask, token_type_ids: ids.map((v) => v % 2) };
  return Object.fromEntries(names.map((n) => [n, { dtype: 'int64', dims: [batch, seq], data: BigInt64Array.from(values[n]!, (v) => BigInt(v)) }]));
}

describe.skipIf(!fs.existsSync(models))('fusion on PyTorch transformer exports', () => {
  const cases = [
    ['bert_torchscript_op13.onnx', /^fusion: 5 layer norms from decomposed .* 13 MatMul\+bias GEMMs \(2 with GELU/],
    ['gpt2_torchscript_op17.onnx', /^fusion: .*MatMul\+bias GEMM/],
    ['distilbert_torchscript_op17.onnx', /^fusion: .*MatMul\+bias GEMM/],
    ['roberta_torchscript_op17.onnx', /^fusion: .*MatMul\+bias GEMM/],
  ] as const;
  for (const [file, logLine] of cases) {
    it(`${file}: fuses and still matches onnxruntime`, async () => {
      const bytes = new Uint8Array(fs.readFileSync(path.join(models, file)));
      const builder = new Builder({ backend: 'cpu' });
      const network = builder.createNetwork();
      const parsed = OnnxParser.parse(network, bytes);
      const range = { min: [1, 1], opt: [2, 6], max: [4, 16] };
      const plan = await builder.build(network, builder.createConfig({ profiles: [Object.fromEntries(parsed.inputs.map((n) => [n, range]))] }));
      network.dispose();
      expect(plan.buildLog.filter((l) => l.startsWith('fusion:'))).toEqual([expect.stringMatching(logLine)]);
      const inputs = transformerInputs(parsed.inputs, 2, 6);
      const engine = await Runtime.load(plan);
      const ctx = engine.createContext();
      const ours = await ctx.infer(Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, { data: t.data as BigInt64Array, shape: t.dims }])));
      engine.dispose();
      const theirs = await runOrt(bytes, inputs);
      for (const [name, want] of Object.entries(theirs)) {
        expect(ours[name]!.shape, name).toEqual(want.dims);
        expectClose(ours[name]!.data as Float32Array, want.data as Float32Array, 1e-4);
      }
    });
  }
});
