/**
 * FullyConnected v1 on the CPU backend against an unfused reference built from ordinary layers (MatMul, Add of the
 * bias, Activation relu / gelu / tanh-approximate gelu) and, for fp32, against the same math in plain JS. Token counts of the packed BERT
 * path (1 to 512 and a mixed batch), rank-3 inputs, fp32 / fp16 builds, float16 tensors, and the typed errors for
 * bad shapes, dtypes and attributes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  Builder, Runtime, fromFloat16Bits, tensor, toFloat16Bits,
  type Engine, type NetworkDefinition, type NetworkTensor,
} from '../../lib/index.js';
import { thrown } from '../inferrt-errors.js';
import { LENGTHS, configFor, expectClose, randomFloats, runNetwork, type BuildPrecision } from './helpers.js';

const K = 64;
const N = 96;
const MAX_TOKENS = LENGTHS.reduce((a, b) => a + b);
const WEIGHT = randomFloats(K * N, 1, 0.5);
const BIAS = randomFloats(N, 2, 0.5);

type Activation = 'none' | 'relu' | 'gelu' | 'gelu_tanh';

/**
 * The reference: MatMul, Add (bias), Activation. The weight and bias are network inputs, not constants, so the
 * builder's GEMM fusion leaves the three layers apart (in fp16 builds each rounds its output to fp16).
 */
async function reference(x: Float32Array, dims: number[], activation: Activation, bias: boolean, precision: BuildPrecision): Promise<Float32Array> {
  const feeds = { x: tensor(x, dims), w: tensor(WEIGHT, [K, N]), ...(bias ? { b: tensor(BIAS, [N]) } : {}) };
  const out = await runNetwork((network) => {
    let y = network.addMatrixMultiply(network.addInput('x', 'float32', dims), network.addInput('w', 'float32', [K, N])).output();
    if (bias) y = network.addElementWise(y, network.addInput('b', 'float32', [N]), 'add').output();
    if (activation === 'gelu_tanh') y = network.addActivation(y, 'gelu', { approximate: 'tanh' }).output();
    else if (activation !== 'none') y = network.addActivation(y, activation).output();
    network.markOutput(y, 'y');
  }, feeds, configFor(precision));
  return out.y!.data as Float32Array;
}

/** The same in JS: each dot product in double rounded to float, bias added in float, activation in double. */
function jsReference(x: Float32Array, activation: Activation, bias: boolean, weight = WEIGHT, biasValues = BIAS): Float32Array {
  const rows = x.length / K;
  const y = new Float32Array(rows * N);
  for (let r = 0; r < rows; r++) {
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += x[r * K + k]! * weight[k * N + n]!;
      let v = Math.fround(acc);
      if (bias) v = Math.fround(v + biasValues[n]!);
      if (activation === 'relu') v = Math.max(0, v);
      if (activation === 'gelu') v = Math.fround(0.5 * v * (1 + erf(v / Math.SQRT2)));
      if (activation === 'gelu_tanh') v = Math.fround(0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
      y[r * N + n] = v;
    }
  }
  return y;
}

/** erf to about 1e-15 (Abramowitz-Stegun 7.1.26 is too coarse here): its Maclaurin series, or 1 - erfc's continued fraction. */
function erf(z: number): number {
  const a = Math.abs(z);
  if (a < 3) {
    let term = a, sum = a;
    for (let n = 1; n < 100; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(z) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(a) = exp(-a²)/sqrt(pi) · 1/(a + 1/2/(a + 1/(a + 3/2/(a + ...)))), evaluated from the tail.
  let f = a;
  for (let n = 60; n >= 1; n--) f = a + n / 2 / f;
  return Math.sign(z) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f);
}

const engines = new Map<string, Promise<Engine>>();
afterAll(async () => {
  for (const e of engines.values()) (await e).dispose();
});

function addFullyConnected(network: NetworkDefinition, x: NetworkTensor, activation: Activation, bias: boolean, dtype: 'float32' | 'float16' = 'float32') {
  const constant = (dims: number[], data: Float32Array) => (dtype === 'float16' ? network.addConstant(dims, toFloat16Bits(data)) : network.addConstant(dims, data));
  const inputs = [x, constant([K, N], WEIGHT), ...(bias ? [constant([N], BIAS)] : [])];
  return network.addPlugin('FullyConnected', inputs, activation === 'none' ? {} : { activation }, { name: 'fc' });
}

/** One engine per activation, bias and precision; x [T, K] with T dynamic. */
function pluginEngine(activation: Activation, bias: boolean, precision: BuildPrecision): Promise<Engine> {
  const key = `${activation}/${bias}/${precision}`;
  let engine = engines.get(key);
  if (!engine) {
    engine = (async () => {
      const builder = new Builder({ backend: 'cpu' });
      using network = builder.createNetwork();
      network.markOutput(addFullyConnected(network, network.addInput('x', 'float32', [-1, K]), activation, bias).output(), 'y');
      const profiles = [{ x: { min: [1, K], opt: [128, K], max: [MAX_TOKENS, K] } }];
      return Runtime.load(await builder.build(network, builder.createConfig(configFor(precision, { profiles }))));
    })();
    engines.set(key, engine);
  }
  return engine;
}

async function runPlugin(activation: Activation, bias: boolean, precision: BuildPrecision, x: Float32Array): Promise<Float32Array> {
  using ctx = (await pluginEngine(activation, bias, precision)).createContext();
  const out = await ctx.infer({ x: tensor(x, [x.length / K, K]) });
  expect(out.y!.shape).toEqual([x.length / K, N]);
  return out.y!.data as Float32Array;
}

// fp32: the plugin applies bias and activation in fp32 to the float-rounded product, as the unfused layers do.
// fp16: the reference rounds the product and the biased sum to fp16 too, the plugin only its output.
const TOLERANCE = { fp32: 1e-6, fp16: 1e-2 };

describe('FullyConnected v1 (CPU) matches MatMul + Add + Activation', () => {
  const cases: Array<{ tokens: number; activation: Activation; bias: boolean; precision: BuildPrecision }> = [
    ...LENGTHS.map((tokens) => ({ tokens, activation: 'gelu' as const, bias: true, precision: 'fp32' as const })),
    { tokens: MAX_TOKENS, activation: 'none', bias: false, precision: 'fp32' },
    { tokens: MAX_TOKENS, activation: 'none', bias: true, precision: 'fp32' },
    { tokens: MAX_TOKENS, activation: 'relu', bias: true, precision: 'fp32' },
    { tokens: 65, activation: 'gelu', bias: false, precision: 'fp32' },
    { tokens: MAX_TOKENS, activation: 'gelu_tanh', bias: true, precision: 'fp32' },
    { tokens: 64, activation: 'gelu_tanh', bias: true, precision: 'fp16' },
    { tokens: MAX_TOKENS, activation: 'gelu', bias: true, precision: 'fp16' },
    { tokens: 384, activation: 'relu', bias: true, precision: 'fp16' },
    { tokens: 63, activation: 'none', bias: false, precision: 'fp16' },
  ];
  for (const [i, { tokens, activation, bias, precision }] of cases.entries()) {
    it(`${tokens} tokens, activation ${activation}, ${bias ? 'with' : 'no'} bias, ${precision}`, async () => {
      const x = randomFloats(tokens * K, 10 + i);
      const got = await runPlugin(activation, bias, precision, x);
      expectClose(got, await reference(x, [tokens, K], activation, bias, precision), TOLERANCE[precision], TOLERANCE[precision]);
      if (precision === 'fp32') expectClose(got, jsReference(x, activation, bias), 1e-6, 1e-6);
    });
  }

  it('takes x of rank 3', async () => {
    const x = randomFloats(2 * 5 * K, 30);
    const out = await runNetwork((network) => {
      network.markOutput(addFullyConnected(network, network.addInput('x', 'float32', [2, 5, K]), 'gelu', true).output(), 'y');
    }, { x: tensor(x, [2, 5, K]) });
    expect(out.y!.shape).toEqual([2, 5, N]);
    expectClose(out.y!.data as Float32Array, await reference(x, [2, 5, K], 'gelu', true, 'fp32'), TOLERANCE.fp32, TOLERANCE.fp32);
  });

  it('takes float16 tensors and rounds only its output', async () => {
    const bits = toFloat16Bits(randomFloats(65 * K, 31));
    const out = await runNetwork((network) => {
      network.markOutput(addFullyConnected(network, network.addInput('x', 'float16', [65, K]), 'gelu', true, 'float16').output(), 'y');
    }, { x: tensor(bits, [65, K], 'float16') });
    expect(out.y!.dtype).toBe('float16');
    // The fp32 math on the fp16 values of x, the weight and the bias, then one rounding (2^-11 relative).
    const half = (a: Float32Array) => fromFloat16Bits(toFloat16Bits(a));
    const expected = jsReference(fromFloat16Bits(bits), 'gelu', true, half(WEIGHT), half(BIAS));
    expectClose(fromFloat16Bits(out.y!.data as Uint16Array), expected, 1e-6, 2 ** -11 + 1e-6);
  });
});

describe('FullyConnected v1 errors', () => {
  const cases: Array<[string, (n: NetworkDefinition) => Array<NetworkTensor | null>, Record<string, string>, string, string]> = [
    ['x whose last dim is not K', (n) => [n.addInput('x', 'float32', [-1, K + 1]), n.addConstant([K, N], WEIGHT)], {}, 'SHAPE_MISMATCH', `x's last dim vs weight rows (K): ${K + 1} vs ${K}`],
    ['a bias of another length', (n) => [n.addInput('x', 'float32', [-1, K]), n.addConstant([K, N], WEIGHT), n.addConstant([N - 1], BIAS.subarray(1))], {}, 'SHAPE_MISMATCH', `bias length vs weight columns (N): ${N} vs ${N - 1}`],
    ['a weight of rank 3', (n) => [n.addInput('x', 'float32', [-1, K]), n.addConstant([1, K, N], WEIGHT)], {}, 'SHAPE_MISMATCH', 'input 1 (weight) must have rank 2, got shape [1, 64, 96]'],
    ['a scalar x', (n) => [n.addInput('x', 'float32', []), n.addConstant([K, N], WEIGHT)], {}, 'SHAPE_MISMATCH', 'input 0 (x) must have rank 1 or more'],
    ['an int32 weight', (n) => [n.addInput('x', 'float32', [-1, K]), n.addConstant([K, N], new Int32Array(K * N))], {}, 'DTYPE_MISMATCH', 'input 1 (weight) has dtype int32, expected float32, float16'],
    ['float16 x with a float32 weight', (n) => [n.addInput('x', 'float16', [-1, K]), n.addConstant([K, N], WEIGHT)], {}, 'DTYPE_MISMATCH', 'input 0 (x) has dtype float16 but input 1 (weight) has float32'],
    ['an unknown activation', (n) => [n.addInput('x', 'float32', [-1, K]), n.addConstant([K, N], WEIGHT)], { activation: 'tanh' }, 'INVALID_ARGUMENT', "attribute 'activation' must be 'none', 'relu', 'gelu' or 'gelu_tanh', got 'tanh'"],
    ['no weight', (n) => [n.addInput('x', 'float32', [-1, K])], {}, 'INVALID_MODEL', 'takes 2 to 3 inputs, got 1'],
  ];
  for (const [what, inputs, attrs, code, message] of cases) {
    it(`rejects ${what} when the layer is added`, () => {
      using network = new Builder({ backend: 'cpu' }).createNetwork();
      const e = thrown(() => network.addPlugin('FullyConnected', inputs(network), attrs, { name: 'fc' }));
      expect(e.code).toBe(code);
      expect(e.message).toContain("layer 'fc' (Plugin)");
      expect(e.message).toContain(message);
    });
  }
});
