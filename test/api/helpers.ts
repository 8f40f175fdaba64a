/** Shared by the API tests: a small hand-built network and the same math in plain JS loops. */
import { Builder, type NetworkDefinition } from '../../lib/index.js';
import { lcgFloats } from '../../examples/seeded-random.js';

export const K = 4;
export const N = 5;
export const VOCAB = 10;
export const SEQ = 3;

/** Deterministic pseudo-random floats in [-1, 1). */
export const randomFloats = lcgFloats;

export const weights = {
  table: randomFloats(VOCAB * K, 1),
  w: randomFloats(K * N, 2),
  bias: randomFloats(N, 3),
};

/**
 * inputs: x float32 [-1, K], ids int64 [-1, SEQ]
 * h = x + sum_s table[ids[:, s]];  r = relu(h @ w + bias);  probs = softmax(r)
 * outputs: probs [B, N], flat = reshape(probs, [B * N]) (the new shape computed from Shape(x) at run time),
 *          shape = Shape(r) (int64), positive = r > 0 (bool)
 */
export function defineMlp(network: NetworkDefinition): void {
  const x = network.addInput('x', 'float32', [-1, K]);
  const ids = network.addInput('ids', 'int64', [-1, SEQ]);
  const table = network.addConstant([VOCAB, K], weights.table, { name: 'table' });
  const emb = network.addGather(table, ids, 0).output();
  const embSum = network.addReduce(emb, 'sum', { axes: [1], keepDims: false }).output();
  const h = network.addElementWise(x, embSum, 'add').output();
  const w = network.addConstant([K, N], weights.w, { name: 'w' });
  const mm = network.addMatrixMultiply(h, w).output();
  const bias = network.addConstant([N], weights.bias, { name: 'bias' });
  const r = network.addActivation(network.addElementWise(mm, bias, 'add').output(), 'relu').output();
  const probs = network.addSoftmax(r, { axis: -1 }).output();
  network.markOutput(probs, 'probs');
  const batch = network.addSlice(network.addShape(x).output(), [0], [1]).output();
  const flatLen = network.addElementWise(batch, network.int64Constant([N]), 'mul').output();
  network.markOutput(network.addReshape(probs, flatLen).output(), 'flat');
  network.markOutput(network.addShape(r).output(), 'shape');
  const zero = network.addConstant([1], new Float32Array([0]), { name: 'zero' });
  network.markOutput(network.addElementWise(r, zero, 'greater').output(), 'positive');
}

/** The same computation in JS. */
export function mlpReference(x: Float32Array, ids: BigInt64Array, batch: number) {
  const probs = new Float32Array(batch * N);
  const positive = new Uint8Array(batch * N);
  for (let b = 0; b < batch; b++) {
    const h = new Float64Array(K);
    for (let k = 0; k < K; k++) {
      let v = x[b * K + k]!;
      for (let s = 0; s < SEQ; s++) v += weights.table[Number(ids[b * SEQ + s]!) * K + k]!;
      h[k] = v;
    }
    const r = new Float64Array(N);
    for (let n = 0; n < N; n++) {
      let acc = weights.bias[n]!;
      for (let k = 0; k < K; k++) acc += h[k]! * weights.w[k * N + n]!;
      r[n] = Math.max(0, acc);
      positive[b * N + n] = r[n]! > 0 ? 1 : 0;
    }
    const max = Math.max(...r);
    let sum = 0;
    for (let n = 0; n < N; n++) sum += Math.exp(r[n]! - max);
    for (let n = 0; n < N; n++) probs[b * N + n] = Math.exp(r[n]! - max) / sum;
  }
  return { probs, positive };
}

/** Inputs for a batch. */
export function mlpInputs(batch: number, seed = 7) {
  const x = randomFloats(batch * K, seed);
  const ids = new BigInt64Array(batch * SEQ);
  for (let i = 0; i < ids.length; i++) ids[i] = BigInt((i * 7 + seed) % VOCAB);
  return { x, ids };
}

export function expectClose(actual: Float32Array, expected: Float32Array, tol = 1e-5): void {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    if (!(diff <= tol * Math.max(1, Math.abs(expected[i]!)))) {
      throw new Error(`element ${i}: got ${actual[i]}, expected ${expected[i]} (diff ${diff})`);
    }
  }
}

/** Builds the MLP with a batch profile [1, 4, 8] (and optionally a second one [16, 16, 32]). */
export async function buildMlp(twoProfiles = false) {
  const builder = new Builder({ backend: 'cpu' });
  const network = builder.createNetwork();
  defineMlp(network);
  const config = builder.createConfig({
    profiles: [{ x: { min: [1, K], opt: [4, K], max: [8, K] }, ids: { min: [1, SEQ], opt: [4, SEQ], max: [8, SEQ] } }],
  });
  if (twoProfiles) {
    config.addOptimizationProfile({ x: { min: [16, K], opt: [16, K], max: [32, K] }, ids: { min: [16, SEQ], opt: [16, SEQ], max: [32, SEQ] } });
  }
  const plan = await builder.build(network, config);
  network.dispose();
  return plan;
}
