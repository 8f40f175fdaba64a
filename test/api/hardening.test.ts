/** Validation holes found in review: each case once threw a non-InferrtError or passed a bad value through. */
import { describe, expect, it } from 'vitest';
import { NetworkDefinition, Runtime, tensor } from '../../lib/index.js';
import { K, SEQ, buildMlp, expectClose, mlpInputs, mlpReference } from './helpers.js';
import { thrown } from '../inferrt-errors.js';

describe('dtype names', () => {
  it("rejects Object.prototype member names ('toString', 'constructor') as dtypes and precisions", () => {
    using n = new NetworkDefinition();
    const e = thrown(() => n.addInput('a', 'constructor' as never, [1]));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe("addInput('a').dtype must be one of float32, float16, int8, uint8, int32, int64, bool, got constructor");
    const untyped = tensor as (data: unknown, shape: number[], dtype: unknown) => unknown;
    expect(thrown(() => untyped(new Float32Array(1), [1], 'hasOwnProperty')).message).toBe(
      'tensor: dtype must be one of float32, float16, int8, uint8, int32, int64, bool, got hasOwnProperty',
    );
    const x = n.addInput('x', 'float32', [2]);
    expect(thrown(() => n.addIdentity(x).setPrecision('toString' as never)).message).toBe(
      'precision must be one of default, fp32, fp16, int8, got toString',
    );
  });
});

describe('addConstant', () => {
  it('rejects a dtype the typed array does not hold with DTYPE_MISMATCH', () => {
    using n = new NetworkDefinition();
    const e = thrown(() => n.addConstant([2], new Float32Array(4), { dtype: 'int64' }));
    expect(e.code).toBe('DTYPE_MISMATCH');
    expect(e.message).toBe("addConstant: dtype 'int64' needs a BigInt64Array, got Float32Array");
    expect(thrown(() => n.addConstant([4], new Float32Array(4), { dtype: 'int32' })).code).toBe('DTYPE_MISMATCH');
    // The dtypes a typed array may carry still work.
    expect(n.addConstant([2], new Uint8Array([0, 1]), { dtype: 'bool' }).dtype).toBe('bool');
    expect(n.addConstant([2], new Uint16Array(2), { dtype: 'float16' }).dtype).toBe('float16');
  });
});

describe('integer lists', () => {
  it('rejects non-integers with INVALID_ARGUMENT instead of a RangeError from BigInt()', () => {
    using n = new NetworkDefinition();
    const x = n.addInput('x', 'float32', [2, 2]);
    const e = thrown(() => n.addReshape(x, [4, 1.5]));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe('int64Constant: values[1] must be an integer, got 1.5 (in [4, 1.5])');
    expect(thrown(() => n.addSlice(x, [0], [NaN])).message).toContain('values[0] must be an integer, got NaN');
    expect(n.int64Constant([1n, -1n]).dims).toEqual([2]);
    expect(n.int64Constant([3, -1]).value()).toEqual(new BigInt64Array([3n, -1n]));
  });
});

describe('ExecutionContext.infer queueing', () => {
  it('a bare typed array takes the shape of the latest infer, even while that one is still queued', async () => {
    using engine = await Runtime.load(await buildMlp());
    using ctx = engine.createContext();
    const a = mlpInputs(2, 1);
    const b = mlpInputs(4, 2);
    const first = ctx.infer({ x: tensor(a.x, [2, K]), ids: tensor(a.ids, [2, SEQ]) });   // runs at once
    const second = ctx.infer({ x: tensor(b.x, [4, K]), ids: tensor(b.ids, [4, SEQ]) });  // queued behind it
    const third = ctx.infer({ x: b.x, ids: b.ids });                                      // [4, K] and [4, SEQ], as the second
    await first;
    await second;
    expectClose((await third).probs!.data as Float32Array, mlpReference(b.x, b.ids, 4).probs);
  });
});
