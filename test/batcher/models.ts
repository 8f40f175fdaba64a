/** Tiny CPU models for the batcher tests, their math in plain JS, and a context wrapper that records batches. */
import { Builder, Runtime, type Engine, type NetworkDefinition, type OptimizationProfile, type Tensor } from '../../lib/index.js';
import { randomFloats } from '../api/helpers.js';

export const IN = 4;
export const OUT = 3;
export const VOCAB = 6;
export const EMB = 2;
export const MAX_ROWS = 8;

export const W = randomFloats(IN * OUT, 11);
export const B = randomFloats(OUT, 12);
export const TABLE = randomFloats(VOCAB * EMB, 13);

async function build(define: (n: NetworkDefinition) => void, ...profiles: OptimizationProfile[]): Promise<Engine> {
  const builder = new Builder({ backend: 'cpu' });
  const network = builder.createNetwork();
  define(network);
  // Plain fp32, so the JS reference matches to rounding.
  const plan = await builder.build(network, builder.createConfig({ precision: [], profiles }));
  network.dispose();
  return Runtime.load(plan);
}

/**
 * x float32 [-1, IN] → y = relu(x @ W + B) float32 [-1, OUT], best = argmax(y) int64 [-1]. Profile 0 takes 1 to
 * MAX_ROWS rows; with `twoProfiles`, profile 1 takes 16 to 32.
 */
export function buildDense(twoProfiles = false): Promise<Engine> {
  const profiles = [{ x: { min: [1, IN], opt: [4, IN], max: [MAX_ROWS, IN] } }];
  if (twoProfiles) profiles.push({ x: { min: [16, IN], opt: [16, IN], max: [32, IN] } });
  return build((n) => {
    const x = n.addInput('x', 'float32', [-1, IN]);
    const mm = n.addMatrixMultiply(x, n.addConstant([IN, OUT], W, { name: 'w' })).output();
    const y = n.addActivation(n.addElementWise(mm, n.addConstant([OUT], B, { name: 'b' }), 'add').output(), 'relu').output();
    n.markOutput(y, 'y');
    n.markOutput(n.addArgMinMax(y, 'argmax', { axis: 1, keepDims: false }).output(), 'best');
  }, ...profiles);
}

/** ids int64 [-1, -1] → sum = Σ_s TABLE[ids[:, s]] float32 [-1, EMB]. An id outside [-VOCAB, VOCAB) fails at run time. */
export function buildSeq(): Promise<Engine> {
  return build((n) => {
    const ids = n.addInput('ids', 'int64', [-1, -1]);
    const emb = n.addGather(n.addConstant([VOCAB, EMB], TABLE, { name: 'table' }), ids, 0).output();
    n.markOutput(n.addReduce(emb, 'sum', { axes: [1], keepDims: false }).output(), 'sum');
  }, { ids: { min: [1, 1], opt: [4, 4], max: [MAX_ROWS, MAX_ROWS] } });
}

/** a, b float32 [-1, 2] → c = a + b. Two inputs, for requests whose inputs disagree on rows. */
export function buildPair(): Promise<Engine> {
  const range = { min: [1, 2], opt: [2, 2], max: [MAX_ROWS, 2] };
  return build((n) => {
    n.markOutput(n.addElementWise(n.addInput('a', 'float32', [-1, 2]), n.addInput('b', 'float32', [-1, 2]), 'add').output(), 'c');
  }, { a: range, b: range });
}

/** x float32 [-1, IN] → flat = reshape(x, [-1]): axis 0 is rows·IN, not rows, so the batcher cannot split it. */
export function buildFlat(): Promise<Engine> {
  return build((n) => {
    n.markOutput(n.addReshape(n.addInput('x', 'float32', [-1, IN]), [-1]).output(), 'flat');
  }, { x: { min: [1, IN], opt: [4, IN], max: [MAX_ROWS, IN] } });
}

/** x float32 [2, IN] → relu(x): a static batch the batcher must refuse. */
export function buildStatic(): Promise<Engine> {
  return build((n) => {
    n.markOutput(n.addActivation(n.addInput('x', 'float32', [2, IN]), 'relu').output(), 'y');
  });
}

/** The dense model in JS (float64 math). */
export function denseReference(x: Float32Array, rows: number): Float32Array {
  const y = new Float32Array(rows * OUT);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < OUT; o++) {
      let acc = B[o]!;
      for (let i = 0; i < IN; i++) acc += x[r * IN + i]! * W[i * OUT + o]!;
      y[r * OUT + o] = Math.max(0, acc);
    }
  }
  return y;
}

/** The seq model in JS. */
export function seqReference(ids: BigInt64Array, rows: number, len: number): Float32Array {
  const out = new Float32Array(rows * EMB);
  for (let r = 0; r < rows; r++) {
    for (let s = 0; s < len; s++) {
      const id = Number(ids[r * len + s]!);
      for (let e = 0; e < EMB; e++) out[r * EMB + e]! += TABLE[id * EMB + e]!;
    }
  }
  return out;
}

/** Index of the first largest value of each row of a [rows, cols] matrix. */
export function argmaxRows(m: Float32Array, cols: number): bigint[] {
  const out: bigint[] = [];
  for (let r = 0; r < m.length / cols; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (m[r * cols + c]! > m[r * cols + best]!) best = c;
    out.push(BigInt(best));
  }
  return out;
}

/** Deterministic ids in [0, VOCAB) for `rows` rows of `len` ids. */
export function seqIds(rows: number, len: number, seed: number): BigInt64Array {
  const ids = new BigInt64Array(rows * len);
  for (let i = 0; i < ids.length; i++) ids[i] = BigInt((i * 5 + seed * 3) % VOCAB);
  return ids;
}

/** What {@link instrument} saw. */
export interface Recorder {
  /** The shape of each batch's first input, in the order batches started. */
  shapes: number[][];
  /** The most batches in flight at once. */
  maxConcurrent: number;
}

/**
 * Wraps `engine.createContext` so every context it makes records each batch's input shape and, with `delayMs`,
 * holds the batch that long before running it (a busy context, without a slow model).
 */
export function instrument(engine: Engine, delayMs = 0): Recorder {
  const rec: Recorder = { shapes: [], maxConcurrent: 0 };
  let inFlight = 0;
  const create = engine.createContext.bind(engine);
  engine.createContext = (options) => {
    const ctx = create(options);
    const infer = ctx.infer.bind(ctx);
    ctx.infer = async (inputs) => {
      rec.shapes.push([...(Object.values(inputs)[0] as Tensor).shape]);
      rec.maxConcurrent = Math.max(rec.maxConcurrent, ++inFlight);
      try {
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
        return await infer(inputs);
      } finally {
        inFlight--;
      }
    };
    return ctx;
  };
  return rec;
}

/** A float32 tensor of `rows` dense-model rows. */
export function denseInput(rows: number, seed: number): { data: Float32Array; shape: number[] } {
  return { data: randomFloats(rows * IN, seed), shape: [rows, IN] };
}
