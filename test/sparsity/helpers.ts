/**
 * Shared by the prune tests: an independent 2:4 reference (written from the rule, not from lib/sparsity), weight
 * readers, and small crafted models.
 */
import type { onnx as pb } from 'onnx-proto';
import { expect } from 'vitest';
import { halfBitsToFloat } from '../../lib/dtypes.js';
import { lcgFloats } from '../../examples/seeded-random.js';
import { model, node, onnx, T, tensor, valueInfo } from '../onnx/helpers.js';

/** A weight's values as numbers (float32 or float16, raw_data or typed fields). */
export function weightOf(m: pb.IModelProto, name: string): { values: number[]; dims: number[]; tensor: pb.ITensorProto } {
  const t = (m.graph?.initializer ?? []).find((x) => x.name === name);
  if (!t) throw new Error(`no initializer '${name}'`);
  const dims = (t.dims ?? []).map(Number);
  const raw = t.rawData && t.rawData.byteLength > 0 ? new Uint8Array(t.rawData) : undefined;
  let values: number[];
  if (t.dataType === T.FLOAT) values = raw ? Array.from(new Float32Array(raw.buffer)) : Array.from(t.floatData ?? []);
  else if (t.dataType === T.FLOAT16) values = (raw ? Array.from(new Uint16Array(raw.buffer)) : Array.from(t.int32Data ?? [])).map(halfBitsToFloat);
  else throw new Error(`initializer '${name}' has data type ${t.dataType}`);
  return { values, dims, tensor: t };
}

/** Flat indices of every group of four consecutive elements along `axis` of a tensor of `dims`. */
export function groupsAlong(dims: number[], axis: number): number[][] {
  const stride = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const total = dims.reduce((a, b) => a * b, 1);
  const groups: number[][] = [];
  for (let idx = 0; idx < total; idx++) {
    const coord = Math.floor(idx / stride) % dims[axis]!;
    if (coord % 4 === 0) groups.push([0, 1, 2, 3].map((j) => idx + j * stride));
  }
  return groups;
}

/**
 * Asserts `after` is `before` made 2:4 along `axis`: in every group the two largest |before| (ties: lower index)
 * are kept unchanged and the other two are zero. Returns 100 * sum|removed| / sum|before|.
 */
export function expectTwoFour(before: number[], after: number[], dims: number[], axis: number): number {
  expect(after.length).toBe(before.length);
  let removed = 0;
  let total = 0;
  for (const g of groupsAlong(dims, axis)) {
    const order = [...g].sort((a, b) => Math.abs(before[b]!) - Math.abs(before[a]!) || a - b);
    const kept = new Set(order.slice(0, 2));
    for (const i of g) {
      total += Math.abs(before[i]!);
      if (kept.has(i)) expect(after[i], `element ${i} (kept)`).toBe(before[i]);
      else {
        expect(Math.abs(after[i]!), `element ${i} (pruned, was ${before[i]})`).toBe(0);
        removed += Math.abs(before[i]!);
      }
    }
  }
  return total > 0 ? (100 * removed) / total : 0;
}

/** Whether every group of four along `axis` has at most two non-zeros. */
export function isTwoFour(values: number[], dims: number[], axis: number): boolean {
  return groupsAlong(dims, axis).every((g) => g.filter((i) => values[i] !== 0).length <= 2);
}

/** Deterministic floats in [-1, 1) with distinct magnitudes in practice. */
export function seeded(n: number, seed: number): number[] {
  return Array.from(lcgFloats(n, seed));
}

/** Decodes model bytes. */
export const decode = (bytes: Uint8Array): pb.ModelProto => onnx.ModelProto.decode(bytes);

/** A small MLP: h = x @ W + b (W [8, 12], reduced along axis 0); y = Gemm(h, G, c, transB=1) (G [8, 12], along axis 1). */
export function mlpModel(): Uint8Array {
  return model({
    opset: 17,
    inputs: [valueInfo('x', T.FLOAT, ['batch', 8])],
    outputs: [valueInfo('y', T.FLOAT, ['batch', 8])],
    initializers: [
      tensor('W', T.FLOAT, [8, 12], seeded(96, 1)),
      tensor('b', T.FLOAT, [12], seeded(12, 2)),
      tensor('G', T.FLOAT, [8, 12], seeded(96, 3)),
      tensor('c', T.FLOAT, [8], seeded(8, 4)),
    ],
    nodes: [
      node('MatMul', ['x', 'W'], ['h0'], {}, 'fc1'),
      node('Add', ['h0', 'b'], ['h'], {}, 'fc1_bias'),
      node('Gemm', ['h', 'G', 'c'], ['y'], { transB: 1 }, 'fc2'),
    ],
  });
}
