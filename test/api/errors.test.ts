import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Builder, DisposedError, InferrtError, NetworkDefinition, Runtime, tensor, type Plan } from '../../lib/index.js';
import { K, SEQ, buildMlp, expectClose, mlpInputs, mlpReference } from './helpers.js';
import { thrown, rejection } from '../inferrt-errors.js';

let plan: Plan;
let twoProfiles: Plan;
beforeAll(async () => {
  plan = await buildMlp();
  twoProfiles = await buildMlp(true);
});

describe('dynamic shapes through profiles', () => {
  it('accepts two shapes in range and rejects one outside', async () => {
    using engine = await Runtime.load(plan);
    using ctx = engine.createContext();
    for (const b of [1, 8]) {
      const { x, ids } = mlpInputs(b, b);
      const out = await ctx.infer({ x: tensor(x, [b, K]), ids: tensor(ids, [b, SEQ]) });
      expectClose(out.probs!.data as Float32Array, mlpReference(x, ids, b).probs);
    }
    const { x, ids } = mlpInputs(9);
    const e = await rejection(ctx.infer({ x: tensor(x, [9, K]), ids: tensor(ids, [9, SEQ]) }));
    expect(e.code).toBe('SHAPE_MISMATCH');
    expect(e.message).toContain("input 'x' shape [9, 4] is outside optimization profile 0: dim 0 must be in [1, 8], got 9");
    expect(thrown(() => ctx.setInputShape('x', [0, K])).code).toBe('SHAPE_MISMATCH');
  });

  it('rejects wrong ranks, static dims and data lengths', async () => {
    using engine = await Runtime.load(plan);
    using ctx = engine.createContext();
    const { x, ids } = mlpInputs(2);
    let e = await rejection(ctx.infer({ x: { data: x, shape: [8] }, ids: tensor(ids, [2, SEQ]) }));
    expect(e.code).toBe('SHAPE_MISMATCH');
    expect(e.message).toBe("infer: input 'x' must have rank 2 [-1, 4], got shape [8]");
    e = await rejection(ctx.infer({ x: { data: x, shape: [4, 2] }, ids: tensor(ids, [2, SEQ]) }));
    expect(e.message).toContain("input 'x' dim 1 must be 4, got 2");
    e = await rejection(ctx.infer({ x: { data: x, shape: [3, K] }, ids: tensor(ids, [2, SEQ]) }));
    expect(e.code).toBe('SHAPE_MISMATCH');
    expect(e.message).toBe("infer: input 'x' has shape [3, 4] (12 elements) but its data has 8");
    e = await rejection(engine.createContext().infer({ x, ids }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain("input 'x' was given as a bare Float32Array, but its shape [-1, 4] is not known yet");
  });

  it('switches optimization profiles', async () => {
    using engine = await Runtime.load(twoProfiles);
    expect(engine.numProfiles).toBe(2);
    using ctx = engine.createContext({ profile: 1 });
    expect(ctx.profile).toBe(1);
    const { x, ids } = mlpInputs(20);
    const out = await ctx.infer({ x: tensor(x, [20, K]), ids: tensor(ids, [20, SEQ]) });
    expectClose(out.probs!.data as Float32Array, mlpReference(x, ids, 20).probs);
    const small = mlpInputs(2);
    expect((await rejection(ctx.infer({ x: tensor(small.x, [2, K]), ids: tensor(small.ids, [2, SEQ]) }))).code).toBe('SHAPE_MISMATCH');
    ctx.setOptimizationProfile(0);
    const o2 = await ctx.infer({ x: tensor(small.x, [2, K]), ids: tensor(small.ids, [2, SEQ]) });
    expectClose(o2.probs!.data as Float32Array, mlpReference(small.x, small.ids, 2).probs);
    expect(thrown(() => ctx.setOptimizationProfile(2)).message).toBe(
      'setOptimizationProfile: index must be an integer in [0, 2) (the engine has 2 profiles), got 2',
    );
    expect(thrown(() => engine.createContext({ profile: -1 })).code).toBe('INVALID_ARGUMENT');
  });

  it('checks profiles against the network at build time', async () => {
    const builder = new Builder({ backend: 'cpu' });
    using network = new NetworkDefinition();
    const x = network.addInput('x', 'float32', [-1, 4]);
    network.markOutput(network.addActivation(x, 'relu').output(), 'y');
    await expect(builder.build(network, builder.createConfig())).rejects.toThrow(/dynamic inputs \('x' \[-1, 4\]\)/);
    const wrongName = builder.createConfig({ profiles: [{ X: { min: [1, 4], opt: [1, 4], max: [1, 4] } }] });
    await expect(builder.build(network, wrongName)).rejects.toThrow("build: profiles[0] names 'X', which is not a network input (did you mean 'x'?); inputs: x");
    const wrongStatic = builder.createConfig({ profiles: [{ x: { min: [1, 3], opt: [1, 4], max: [1, 4] } }] });
    await expect(builder.build(network, wrongStatic)).rejects.toThrow("build: profiles[0].x.min[1] must be 4 (the input's static dim), got 3");
    const wrongRank = builder.createConfig({ profiles: [{ x: { min: [1], opt: [1], max: [1] } }] });
    await expect(builder.build(network, wrongRank)).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    using empty = builder.createNetwork();
    empty.addInput('a', 'float32', [2]);
    await expect(builder.build(empty, builder.createConfig())).rejects.toMatchObject({ code: 'INVALID_MODEL' });
  });
});

const ids6 = () => new BigInt64Array(2 * SEQ);

describe('input validation', () => {
  it('rejects the wrong dtype with DTYPE_MISMATCH', async () => {
    using engine = await Runtime.load(plan);
    using ctx = engine.createContext();
    const { x } = mlpInputs(2);
    let e = await rejection(ctx.infer({ x: tensor(x, [2, K]), ids: tensor(new Float32Array(2 * SEQ), [2, SEQ]) }));
    expect(e.code).toBe('DTYPE_MISMATCH');
    expect(e.message).toBe("infer: input 'ids' must be int64 (BigInt64Array), got Float32Array");
    e = await rejection(ctx.infer({ x: tensor(x, [2, K]), ids: { data: new BigInt64Array(6), shape: [2, SEQ], dtype: 'int32' } }));
    expect(e.code).toBe('DTYPE_MISMATCH');
    expect(e.message).toBe("infer: input 'ids' must be int64 (BigInt64Array), got dtype 'int32'");
    e = await rejection(ctx.infer({ x: { data: x.subarray(0, 4), shape: [1, K], dtype: 'float16' }, ids: tensor(ids6(), [2, SEQ]) }));
    expect(e.message).toBe("infer: input 'x' must be float32 (Float32Array), got dtype 'float16'");
    e = await rejection(ctx.infer({ x: { data: x, shape: [2, K], dtype: 'float64' as never }, ids: tensor(ids6(), [2, SEQ]) }));
    expect(e.code).toBe('INVALID_ARGUMENT');
  });

  it('rejects unknown and missing names with INVALID_ARGUMENT listing the inputs', async () => {
    using engine = await Runtime.load(plan);
    using ctx = engine.createContext();
    const { x, ids } = mlpInputs(2);
    let e = await rejection(ctx.infer({ x: tensor(x, [2, K]) }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe("infer: missing input 'ids'; expected inputs: x, ids");
    e = await rejection(ctx.infer({ x: tensor(x, [2, K]), ids: tensor(ids, [2, SEQ]), idz: tensor(ids, [2, SEQ]) }));
    expect(e.message).toBe("infer: 'idz' is not an input of the engine (did you mean 'ids'?); inputs: x, ids");
    e = await rejection(ctx.infer({ x: tensor(x, [2, K]), ids: tensor(ids, [2, SEQ]), probs: tensor(x, [2, K]) }));
    expect(e.message).toContain("('probs' is an output)");
    expect(thrown(() => ctx.setInputShape('nope', [1])).code).toBe('INVALID_ARGUMENT');
    expect(thrown(() => ctx.getTensorShape('nope')).message).toContain("inputs: x, ids; outputs:");
    // @ts-expect-error not a tensor
    e = await rejection(ctx.infer({ x: [1, 2], ids }));
    expect(e.message).toBe("infer: input 'x' must be a tensor { data, shape, dtype? } or a typed array, got Array");
    // @ts-expect-error a plain array is not tensor data
    e = await rejection(ctx.infer({ x: { data: [1, 2], shape: [2, K] }, ids }));
    expect(e.message).toBe("infer: input 'x'.data must be a typed array (Float32Array), got Array");
  });

  it('rejects corrupted plans with BAD_PLAN', async () => {
    const e = await rejection(Runtime.load(new Uint8Array([1, 2, 3, 4])));
    expect(e.code).toBe('BAD_PLAN');
    const corrupted = plan.bytes.slice();
    corrupted[corrupted.length >> 1] ^= 0xff;
    expect((await rejection(Runtime.load(corrupted))).code).toBe('BAD_PLAN');
    expect((await rejection(Runtime.load(plan.bytes.slice(0, plan.bytes.length - 7)))).code).toBe('BAD_PLAN');
    expect((await rejection(Runtime.load('/nonexistent/x.plan'))).message).toContain("cannot read plan file '/nonexistent/x.plan': ENOENT");
  });
});

// A 4 TiB host allocation fails cleanly unless the kernel overcommits unconditionally (then it would be zero-filled).
const overcommitsAlways = (() => {
  try {
    return fs.readFileSync('/proc/sys/vm/overcommit_memory', 'utf8').trim() === '1';
  } catch {
    return true;
  }
})();

describe('out of memory', () => {
  it.skipIf(overcommitsAlways)('turns a failed host allocation into OUT_OF_MEMORY and keeps the context usable', async () => {
    const builder = new Builder({ backend: 'cpu' });
    using net = builder.createNetwork();
    const shape = net.addInput('shape', 'int64', [2]);
    net.markOutput(net.addConstantOfShape(shape, net.addConstant([1], new Float32Array([0.5]))).output(), 'y');
    using engine = await Runtime.load(await builder.build(net, builder.createConfig()));
    using ctx = engine.createContext();
    const huge = await rejection(ctx.infer({ shape: { data: new BigInt64Array([2n ** 20n, 2n ** 20n]), shape: [2] } }));
    expect(huge.code).toBe('OUT_OF_MEMORY');
    expect(huge.message).toMatch(/ConstantOfShape.*float32 tensor \[1048576, 1048576\].*failed/);
    const { y } = await ctx.infer({ shape: { data: new BigInt64Array([2n, 3n]), shape: [2] } });
    expect(Array.from(y!.data as Float32Array)).toEqual([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
  });
});

describe('lifetimes', () => {
  it('throws DISPOSED after dispose', async () => {
    const engine = await Runtime.load(plan);
    const ctx = engine.createContext();
    ctx.dispose();
    ctx.dispose(); // twice is fine
    const { x, ids } = mlpInputs(1);
    const e = await rejection(ctx.infer({ x: tensor(x, [1, K]), ids: tensor(ids, [1, SEQ]) }));
    expect(e).toBeInstanceOf(DisposedError);
    expect(e.code).toBe('DISPOSED');
    expect(thrown(() => ctx.setInputShape('x', [1, K])).code).toBe('DISPOSED');
    const ctx2 = engine.createContext();
    engine.dispose();
    expect(ctx2.disposed).toBe(true);
    expect(thrown(() => ctx2.getTensorShape('x')).code).toBe('DISPOSED');
    expect(thrown(() => engine.createContext()).code).toBe('DISPOSED');
    expect(thrown(() => engine.info).code).toBe('DISPOSED');
    const network = new NetworkDefinition();
    network.dispose();
    expect(thrown(() => network.addInput('a', 'float32', [1])).code).toBe('DISPOSED');
    const builder = new Builder({ backend: 'cpu' });
    await expect(builder.build(network, builder.createConfig())).rejects.toMatchObject({ code: 'DISPOSED' });
  });

  it('disposes at the end of a using block', async () => {
    let engineRef: import('../../lib/index.js').Engine;
    let ctxRef: import('../../lib/index.js').ExecutionContext;
    {
      using engine = await Runtime.load(plan);
      using ctx = engine.createContext();
      engineRef = engine;
      ctxRef = ctx;
      expect(ctx.disposed).toBe(false);
    }
    expect(ctxRef.disposed).toBe(true);
    expect(engineRef.disposed).toBe(true);
    expect(typeof engineRef[Symbol.dispose]).toBe('function');
  });

  it('lets an in-flight infer finish when its context is disposed; queued ones reject', async () => {
    const engine = await Runtime.load(plan);
    const ctx = engine.createContext();
    const a = mlpInputs(4);
    const first = ctx.infer({ x: tensor(a.x, [4, K]), ids: tensor(a.ids, [4, SEQ]) });
    const second = ctx.infer({ x: tensor(a.x, [4, K]), ids: tensor(a.ids, [4, SEQ]) });
    engine.dispose();
    expectClose((await first).probs!.data as Float32Array, mlpReference(a.x, a.ids, 4).probs);
    expect((await rejection(second)).code).toBe('DISPOSED');
  });
});
