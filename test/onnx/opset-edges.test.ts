/**
 * Importer edge cases found by review against the ONNX spec and onnxruntime: attributes that became inputs,
 * exact int64 bounds, float attributes applied to integer tensors, non-integer OneHot depth.
 */
import { describe, expect, it } from 'vitest';
import { f, model, node, T, tensor, valueInfo, type ModelSpec } from './helpers.js';
import { canRun, f32, i64, importError, matchesOrt, runInferrt, type HostTensor } from './run.js';

const fx = (name: string, dims: number[]) => valueInfo(name, T.FLOAT, dims);
const out = (name = 'y', type: number = T.FLOAT) => valueInfo(name, type, null);
const int32 = (dims: number[], values: number[]): HostTensor => ({ dtype: 'int32', dims, data: Int32Array.from(values) });

describe('attributes that became inputs', () => {
  // onnxruntime rejects these models; importing them by ignoring the attribute would silently compute something else.
  const cases: Array<[string, ModelSpec, RegExp]> = [
    ['ReduceSum-13 axes', { opset: 13, nodes: [node('ReduceSum', ['x'], ['y'], { axes: [1] }, 'r')], inputs: [fx('x', [2, 3])], outputs: [out()] }, /'r' \(ReduceSum\).*attribute 'axes'.*opset 13.*input 1/],
    ['ReduceMean-18 axes', { opset: 18, nodes: [node('ReduceMean', ['x'], ['y'], { axes: [1] }, 'r')], inputs: [fx('x', [2, 3])], outputs: [out()] }, /'r' \(ReduceMean\).*attribute 'axes'.*opset 18/],
    ['Squeeze-13 axes', { opset: 13, nodes: [node('Squeeze', ['x'], ['y'], { axes: [1] }, 'sq')], inputs: [fx('x', [1, 1, 3])], outputs: [out()] }, /'sq' \(Squeeze\).*attribute 'axes'/],
    ['Unsqueeze-13 axes', { opset: 13, nodes: [node('Unsqueeze', ['x'], ['y'], { axes: [0] }, 'us')], inputs: [fx('x', [3])], outputs: [out()] }, /'us' \(Unsqueeze\).*attribute 'axes'/],
    ['Split-13 split', { opset: 13, nodes: [node('Split', ['x'], ['a', 'b'], { split: [1, 3] }, 'sp')], inputs: [fx('x', [4])], outputs: [out('a'), out('b')] }, /'sp' \(Split\).*attribute 'split'/],
    ['Clip-11 min/max', { opset: 11, nodes: [node('Clip', ['x'], ['y'], { min: f(0), max: f(1) }, 'c')], inputs: [fx('x', [4])], outputs: [out()] }, /'c' \(Clip\).*attribute 'min'/],
    ['Pad-11 pads', { opset: 11, nodes: [node('Pad', ['x', 'p'], ['y'], { pads: [1, 1] }, 'p')], inputs: [fx('x', [4])], outputs: [out()], initializers: [tensor('p', T.INT64, [2], [0, 0])] }, /'p' \(Pad\).*attribute 'pads'/],
  ];
  for (const [what, spec, message] of cases) {
    it(`${what} is INVALID_MODEL naming the node and the input`, () => {
      const e = importError(spec);
      expect(e.code).toBe('INVALID_MODEL');
      expect(e.message).toMatch(message);
    });
  }
});

describe('Clip on int64', () => {
  it('keeps constant bounds beyond ±2^53 exact', async () => {
    const s: ModelSpec = {
      opset: 13,
      nodes: [node('Clip', ['x', 'lo', 'hi'], ['y'])],
      inputs: [valueInfo('x', T.INT64, [3])],
      outputs: [out('y', T.INT64)],
      initializers: [tensor('lo', T.INT64, [], [-3]), tensor('hi', T.INT64, [], [9007199254740993n])],
    };
    const x = i64([3], [0, -5, 7]);
    x.data = BigInt64Array.of(9007199254740995n, -5n, 9007199254740992n);
    if (!canRun) return;
    const { y } = await runInferrt(model(s), { x });
    expect(Array.from(y!.data as BigInt64Array)).toEqual([9007199254740993n, -3n, 9007199254740992n]);
  });
});

describe('float attributes on integer tensors', () => {
  // The ONNX reference computes alpha·A·B (+ beta·C) and then casts to the input type, so alpha 0.5 halves.
  it('Gemm with a fractional alpha/beta on int32 scales, then truncates', async () => {
    const s: ModelSpec = {
      opset: 13,
      nodes: [node('Gemm', ['a', 'b', 'c'], ['y'], { alpha: f(0.5), beta: f(1.5) })],
      inputs: [valueInfo('a', T.INT32, [2, 2])],
      outputs: [out('y', T.INT32)],
      initializers: [tensor('b', T.INT32, [2, 2], [1, 2, 3, 4]), tensor('c', T.INT32, [2], [1, -3])],
    };
    if (!canRun) return;  // onnxruntime has no integer Gemm
    const { y } = await runInferrt(model(s), { a: int32([2, 2], [1, 3, 5, 7]) });
    // A·B = [[10, 14], [26, 38]]; ·0.5 = [[5, 7], [13, 19]]; + 1.5·[1, -3] = [[6.5, 2.5], [14.5, 14.5]]
    expect(Array.from(y!.data as Int32Array)).toEqual([6, 2, 14, 14]);
  });

  it('Shrink with a fractional bias on int32 matches onnxruntime', async () => {
    const s: ModelSpec = {
      opset: 13,
      nodes: [node('Shrink', ['x'], ['y'], { lambd: f(1.5), bias: f(1.5) })],
      inputs: [valueInfo('x', T.INT32, [5])],
      outputs: [out('y', T.INT32)],
    };
    await matchesOrt(s, { x: int32([5], [-3, -1, 0, 1, 3]) });
  });

  it('Shrink on uint8 with lambd ≥ 1 does not wrap the negative threshold', async () => {
    const s: ModelSpec = {
      opset: 13,
      nodes: [node('Shrink', ['x'], ['y'], { lambd: f(1.5), bias: f(1) })],
      inputs: [valueInfo('x', T.UINT8, [5])],
      outputs: [out('y', T.UINT8)],
    };
    await matchesOrt(s, { x: { dtype: 'uint8', dims: [5], data: Uint8Array.of(0, 1, 2, 200, 255) } });
  });
});

describe('OneHot depth', () => {
  it('a non-integer depth is truncated to int64, as the spec says', async () => {
    const s: ModelSpec = {
      opset: 11,
      nodes: [node('OneHot', ['i', 'd', 'v'], ['y'])],
      inputs: [valueInfo('i', T.INT64, [3])],
      outputs: [out()],
      initializers: [tensor('d', T.FLOAT, [1], [3.7]), tensor('v', T.FLOAT, [2], [0, 5])],
    };
    await matchesOrt(s, { i: i64([3], [1, -1, 2]) });
  });
});
