import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Builder, Engine, Plan, Runtime, fromFloat16Bits, tensor, toFloat16Bits, version, type Tensor } from '../../lib/index.js';
import { K, N, SEQ, buildMlp, expectClose, mlpInputs, mlpReference } from './helpers.js';

let plan: Plan;
let dir: string;

beforeAll(async () => {
  plan = await buildMlp();
  dir = mkdtempSync(path.join(tmpdir(), 'inferrt-api-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function checkMlp(out: Record<string, Tensor>, batch: number, x: Float32Array, ids: BigInt64Array): void {
  const ref = mlpReference(x, ids, batch);
  expect(Object.keys(out).sort()).toEqual(['flat', 'positive', 'probs', 'shape']);
  expect(out.probs!.dtype).toBe('float32');
  expect(out.probs!.shape).toEqual([batch, N]);
  expectClose(out.probs!.data as Float32Array, ref.probs);
  expect(out.flat!.shape).toEqual([batch * N]);
  expectClose(out.flat!.data as Float32Array, ref.probs);
  expect(out.shape!.dtype).toBe('int64');
  expect(out.shape!.data).toBeInstanceOf(BigInt64Array);
  expect(Array.from(out.shape!.data as BigInt64Array)).toEqual([BigInt(batch), BigInt(N)]);
  expect(out.positive!.dtype).toBe('bool');
  expect(out.positive!.data).toBeInstanceOf(Uint8Array);
  expect(Array.from(out.positive!.data as Uint8Array)).toEqual(Array.from(ref.positive));
}

describe('build → plan → engine → infer', () => {
  it('builds a plan with a build log', () => {
    expect(plan).toBeInstanceOf(Plan);
    expect(plan.bytes.byteLength).toBeGreaterThan(0);
    expect(Array.isArray(plan.buildLog)).toBe(true);
  });

  it('saves and loads the plan, then infers matching plain JS', async () => {
    const file = path.join(dir, 'mlp.plan');
    await plan.save(file);
    const loaded = await Plan.load(file);
    expect(Buffer.from(loaded.bytes).equals(Buffer.from(plan.bytes))).toBe(true);
    for (const source of [file, plan.bytes, loaded]) {
      const engine = await Runtime.load(source);
      const ctx = engine.createContext();
      const { x, ids } = mlpInputs(3);
      checkMlp(await ctx.infer({ x: tensor(x, [3, K]), ids: { data: ids, shape: [3, SEQ] } }), 3, x, ids);
      engine.dispose();
    }
  });

  it('describes the engine', async () => {
    const engine = await Runtime.load(plan);
    expect(engine).toBeInstanceOf(Engine);
    expect(engine.inputs.map((t) => [t.name, t.dtype, t.dims])).toEqual([['x', 'float32', [-1, K]], ['ids', 'int64', [-1, SEQ]]]);
    expect(engine.inputs[0]!.profiles).toEqual([{ min: [1, K], opt: [4, K], max: [8, K] }]);
    expect(engine.outputs.map((t) => t.name).sort()).toEqual(['flat', 'positive', 'probs', 'shape']);
    expect(engine.getTensorInfo('probs')).toMatchObject({ dtype: 'float32', mode: 'output', dims: [-1, N] });
    expect(engine.getTensorInfo('positive').dtype).toBe('bool');
    expect(() => engine.getTensorInfo('prob')).toThrow(/no tensor 'prob' \(did you mean 'probs'\?\)/);
    expect(engine.numProfiles).toBe(1);
    const info = engine.info;
    expect(info.backend).toBe('cpu');
    expect(info.libraryVersion).toBe(version());
    expect(info.planBytes).toBe(plan.bytes.byteLength);
    expect(info.formatVersion).toBeGreaterThan(0);
    expect(engine.deviceMemorySize).toBe(0);
    expect(engine.layers.length).toBeGreaterThan(0);
    expect(engine.layers.map((l) => l.kind)).toEqual(expect.arrayContaining(['MatMul']));
    engine.dispose();
  });

  it('sets output shapes from input shapes', async () => {
    using engine = await Runtime.load(plan);
    using ctx = engine.createContext();
    expect(ctx.getTensorShape('x')).toEqual([-1, K]);
    ctx.setInputShape('x', [5, K]);
    ctx.setInputShape('ids', [5, SEQ]);
    expect(ctx.getTensorShape('probs')).toEqual([5, N]);
    // Shapes are known now, so bare typed arrays are accepted.
    const { x, ids } = mlpInputs(5, 11);
    checkMlp(await ctx.infer({ x, ids }), 5, x, ids);
  });

  it('serializes concurrent infer calls on one context', async () => {
    using engine = await Runtime.load(plan);
    using ctx = engine.createContext();
    const batches = [1, 8, 2, 7, 4];
    const inputs = batches.map((b, i) => mlpInputs(b, i + 20));
    const outs = await Promise.all(inputs.map((inp, i) => ctx.infer({ x: tensor(inp.x, [batches[i]!, K]), ids: tensor(inp.ids, [batches[i]!, SEQ]) })));
    outs.forEach((out, i) => checkMlp(out, batches[i]!, inputs[i]!.x, inputs[i]!.ids));
  });

  it('runs contexts of one engine independently', async () => {
    using engine = await Runtime.load(plan);
    using a = engine.createContext();
    using b = engine.createContext();
    const ia = mlpInputs(2, 31);
    const ib = mlpInputs(6, 32);
    const [oa, ob] = await Promise.all([
      a.infer({ x: tensor(ia.x, [2, K]), ids: tensor(ia.ids, [2, SEQ]) }),
      b.infer({ x: tensor(ib.x, [6, K]), ids: tensor(ib.ids, [6, SEQ]) }),
    ]);
    checkMlp(oa, 2, ia.x, ia.ids);
    checkMlp(ob, 6, ib.x, ib.ids);
  });

  it('copies inputs: the caller may reuse its buffers at once', async () => {
    using engine = await Runtime.load(plan);
    using ctx = engine.createContext();
    const { x, ids } = mlpInputs(2, 41);
    const expected = mlpReference(x.slice(), ids.slice(), 2);
    const pending = ctx.infer({ x: tensor(x, [2, K]), ids: tensor(ids, [2, SEQ]) });
    x.fill(100);
    ids.fill(0n);
    expectClose((await pending).probs!.data as Float32Array, expected.probs);
  });
});

describe('dtypes across the boundary', () => {
  it('passes float16 as Uint16Array bits and honours precision flags', async () => {
    const builder = new Builder({ backend: 'cpu' });
    using network = builder.createNetwork();
    const h = network.addInput('h', 'float16', [2, 3]);
    const asFloat = network.addCast(h, 'float32').output();
    network.markOutput(network.addElementWise(asFloat, asFloat, 'add').output(), 'twice');
    network.markOutput(network.addCast(asFloat, 'float16').output(), 'back');
    network.markOutput(network.addCast(asFloat, 'int32').output(), 'ints');
    const plan16 = await builder.build(network, builder.createConfig({ precision: ['tf32', 'fp16'] }));
    using engine = await Runtime.load(plan16);
    expect(engine.info.precision).toContain('fp16');
    expect(engine.getTensorInfo('h').dtype).toBe('float16');
    using ctx = engine.createContext();
    const values = [0.5, -1.25, 3, 1000, -0.0009765625, 7.5];
    const bits = toFloat16Bits(values);
    const out = await ctx.infer({ h: tensor(bits, [2, 3], 'float16') });
    expect(Array.from(out.twice!.data as Float32Array)).toEqual(values.map((v) => 2 * v));
    expect(out.back!.dtype).toBe('float16');
    expect(out.back!.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(fromFloat16Bits(out.back!.data as Uint16Array))).toEqual(values);
    expect(out.ints!.data).toBeInstanceOf(Int32Array);
    expect(Array.from(out.ints!.data as Int32Array)).toEqual([0, -1, 3, 1000, 0, 7]);
  });
});
