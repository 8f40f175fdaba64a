// The native core through the raw addon API (lib/binding.ts): networks, builds, plans, engines, contexts.
// The public TypeScript API has its own suites; these pin the native contract underneath it.
import { describe, expect, it } from 'vitest';
import { addon, type NativeAttributes, type NativeBuildConfig, type NativeNetwork } from '../lib/binding.js';
import { headerLength, reseal, sections } from './fuzz/plan-bytes.js';

class NativeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
addon.setErrorClass(NativeError);

const F32 = 0;
const F16 = 1;
const I32 = 4;
const I64 = 5;

const bytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const floats = (u: Uint8Array): Float32Array => new Float32Array(u.slice().buffer);

function config(overrides: Partial<NativeBuildConfig> = {}): NativeBuildConfig {
  return { fp16: false, int8: false, tf32: false, sparseWeights: false, workspaceBytes: 0, backend: 'cpu', profiles: [], ...overrides };
}

/** Expects `fn` to throw (or reject with) a NativeError of `code` whose message matches `pattern`. */
async function expectError(fn: () => unknown, code: string, pattern?: RegExp): Promise<NativeError> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected an error').toBeInstanceOf(NativeError);
  const e = caught as NativeError;
  expect(e.code, e.message).toBe(code);
  if (pattern) expect(e.message).toMatch(pattern);
  return e;
}

// x [-1, 4] -> MatMul(w [4, 3]) -> Add(b [3]) -> y; w = rows of 1..12, b = [0.5, -1, 2].
const W = Float32Array.from({ length: 12 }, (_, i) => i + 1);
const B = new Float32Array([0.5, -1, 2]);
function affineNetwork(): { net: NativeNetwork; y: number } {
  const net = addon.createNetwork();
  const x = net.addInput('x', F32, [-1, 4]);
  const w = net.addConstant('w', F32, [4, 3], bytes(W));
  const b = net.addConstant('b', F32, [3], bytes(B));
  const [mm] = net.addLayer('MatMul', 'mm', [x, w], {}, 1);
  const [y] = net.addLayer('ElementWise', 'add', [mm!, b], { op: 'add' }, 1);
  net.renameTensor(y!, 'y');
  net.markOutput(y!);
  return { net, y: y! };
}
const affineProfile = { x: { min: [1, 4], opt: [2, 4], max: [8, 4] } };

function affineExpected(x: Float32Array, rows: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += x[r * 4 + k]! * W[k * 3 + c]!;
      out.push(s + B[c]!);
    }
  return out;
}

async function affinePlan(overrides: Partial<NativeBuildConfig> = {}): Promise<Uint8Array> {
  const { net } = affineNetwork();
  const { plan } = await addon.buildPlan(net, config({ profiles: [affineProfile], ...overrides }), null);
  net.dispose();
  return plan;
}

describe('network definition', () => {
  it('infers output shapes as layers are added and validates arguments with exact messages', async () => {
    const { net, y } = affineNetwork();
    expect(net.tensorInfo(y)).toMatchObject({ name: 'y', dtype: F32, dims: [-1, 3], isOutput: true, producer: 1 });
    expect(net.layerInfo(1)).toMatchObject({ kind: 'ElementWise', name: 'add', inputs: [3, 2], outputs: [4], attrs: { op: 'add' } });
    expect(net.numTensors()).toBe(5);
    expect(net.findTensor('y')).toBe(y);
    expect(net.findTensor('nope')).toBe(-1);
    expect(net.uniqueLayerName('mm')).toBe('mm_1');
    expect(net.uniqueLayerName('fresh')).toBe('fresh');
    await expectError(() => net.addInput('z', F32, [2, 1.5]), 'INVALID_ARGUMENT', /^addInput: dims\[1\] must be an integer >= -1, got 1\.5$/);
    await expectError(() => net.addInput('x', F32, [2]), 'INVALID_ARGUMENT', /'x' already exists/);
    await expectError(() => net.addInput('', F32, [2]), 'INVALID_ARGUMENT', /must not be empty/);
    await expectError(() => net.addInput('q', 9, [2]), 'INVALID_ARGUMENT', /addInput: dtype must be an integer >= 0 and <= 6, got 9/);
    await expectError(() => net.addLayer('MatMul', 'bad', [0, 99], {}, 1), 'INVALID_ARGUMENT', /inputs\[1\] is tensor index 99/);
    await expectError(() => net.addLayer('NoSuchKind', 'k', [0], {}, 1), 'UNSUPPORTED_OP', /NoSuchKind/);
    await expectError(() => net.addConstant('c', F32, [2], new Uint8Array(4)), 'INVALID_ARGUMENT', /addConstant 'c'.*needs 8 bytes, got 4/);
    await expectError(() => net.tensorInfo(42), 'INVALID_ARGUMENT', /tensor index 42 is out of range/);
    net.dispose();
  });

  it('leaves the network unchanged when a layer is rejected', async () => {
    const net = addon.createNetwork();
    const a = net.addInput('a', F32, [2, 3]);
    const b = net.addInput('b', F32, [4, 5]);
    await expectError(() => net.addLayer('MatMul', 'mm', [a, b], {}, 1), 'SHAPE_MISMATCH', /layer 'mm' \(MatMul\)/);
    expect(net.numLayers()).toBe(0);
    expect(net.numTensors()).toBe(2);
    expect(net.addLayer('MatMul', 'mm', [a, net.addInput('c', F32, [3, 5])], {}, 1)).toEqual([3]);
    net.dispose();
  });

  it('folds small shape subgraphs at definition time so Reshape sees concrete dims', () => {
    const net = addon.createNetwork();
    const x = net.addInput('x', F32, [2, 3, 4]);
    const [shape] = net.addLayer('Shape', 'shape', [x], {}, 1);
    expect(net.tensorInfo(shape!).hasValue).toBe(true);
    expect(Array.from(new BigInt64Array(net.tensorValue(shape!)!.slice().buffer))).toEqual([2n, 3n, 4n]);
    const idx = net.addConstant('idx', I64, [1], bytes(new BigInt64Array([0n])));
    const [first] = net.addLayer('Gather', 'first', [shape!, idx], { axis: 0 }, 1);
    const minusOne = net.addConstant('m1', I64, [1], bytes(new BigInt64Array([-1n])));
    const [target] = net.addLayer('Concat', 'target', [first!, minusOne], { axis: 0 }, 1);
    expect(net.tensorInfo(target!).hasValue).toBe(true);
    const [r] = net.addLayer('Reshape', 'reshape', [x, target!], {}, 1);
    expect(net.tensorInfo(r!).dims).toEqual([2, 12]);
    expect(net.tensorValue(r!)).toBeNull();
    net.dispose();
  });

  it('throws DISPOSED from every method after dispose', async () => {
    const { net } = affineNetwork();
    net.dispose();
    net.dispose();
    for (const call of [() => net.numTensors(), () => net.addInput('q', F32, [1]), () => net.tensorInfo(0)]) {
      await expectError(call, 'DISPOSED', /Network has been disposed/);
    }
    await expectError(() => addon.buildPlan(net, config(), null), 'DISPOSED');
  });
});

describe('build, plan and run', () => {
  it('round-trips a plan and runs it at two shapes', async () => {
    const progress: string[] = [];
    const { net } = affineNetwork();
    const { plan, log } = await addon.buildPlan(net, config({ tf32: true, profiles: [affineProfile] }), (p) => progress.push(p.stage));
    net.dispose();
    expect(progress[0]).toBe('validate');
    expect(progress.at(-1)).toBe('done');
    expect(log.join('\n')).toMatch(/plan: \d+ bytes, format version 1, backend cpu/);
    expect(new TextDecoder().decode(plan.subarray(0, 7))).toBe('INFERRT');

    const engine = await addon.loadEngine(plan);
    expect(engine.info()).toMatchObject({ formatVersion: 1, backend: 'cpu', gpuArch: '', precision: ['fp32', 'tf32'], planBytes: plan.length, weightBytes: 60 });
    expect(engine.numProfiles()).toBe(1);
    expect(engine.ioTensors()).toEqual([
      { name: 'x', dtype: F32, dims: [-1, 4], mode: 'input', profiles: [affineProfile.x] },
      { name: 'y', dtype: F32, dims: [-1, 3], mode: 'output', profiles: [] },
    ]);
    // The builder fuses MatMul + bias into one MatMul that takes the Add's name and output.
    expect(log).toContain('fusion: 1 MatMul+bias GEMM (0 with GELU, 0 with ReLU); 2 -> 1 layers');
    expect(engine.layers()).toEqual([{ name: 'add', kind: 'MatMul', precision: 'fp32', inputs: ['x', 'w', 'b'], outputs: ['y'], runsOn: 'cpu' }]);
    const ctx = engine.createContext();
    expect(ctx.getTensorShape('y')).toEqual([-1, 3]);
    for (const rows of [1, 5]) {
      const x = Float32Array.from({ length: rows * 4 }, (_, i) => (i % 7) - 3);
      ctx.setInputShape('x', [rows, 4]);
      expect(ctx.getTensorShape('y')).toEqual([rows, 3]);
      const out = await ctx.infer({ x: { dtype: F32, dims: [rows, 4], data: bytes(x) } });
      expect(Object.keys(out)).toEqual(['y']);
      expect(out.y!.dims).toEqual([rows, 3]);
      expect(Array.from(floats(out.y!.data))).toEqual(affineExpected(x, rows));
    }
    ctx.dispose();
    engine.dispose();
  });

  it('folds constant layers and drops dead ones at build time', async () => {
    const net = addon.createNetwork();
    const x = net.addInput('x', F32, [2, 3]);
    const big = Float32Array.from({ length: 6 }, (_, i) => i);
    const c = net.addConstant('c', F32, [2, 3], bytes(big));
    const [neg] = net.addLayer('Unary', 'neg', [c], { op: 'neg' }, 1);
    const [sum] = net.addLayer('ElementWise', 'sum', [x, neg!], { op: 'add' }, 1);
    net.addLayer('Unary', 'unused', [x], { op: 'exp' }, 1);
    net.markOutput(sum!);
    const { plan, log } = await addon.buildPlan(net, config(), null);
    net.dispose();
    expect(log.join('\n')).toMatch(/constant folding: 1 layer replaced by constants: neg/);
    expect(log.join('\n')).toMatch(/dead-layer elimination: removed 1 layer/);
    const engine = await addon.loadEngine(plan);
    expect(engine.layers().map((l) => l.name)).toEqual(['sum']);
    const out = await engine.createContext().infer({ x: { dtype: F32, dims: [2, 3], data: bytes(new Float32Array(6).fill(10)) } });
    expect(Array.from(floats(out['sum:0']!.data))).toEqual([10, 9, 8, 7, 6, 5]);
    engine.dispose();
  });

  it('computes shape subgraphs of dynamic axes at run time', async () => {
    // y = reshape(x, [shape(x)[0] * shape(x)[1]]) with x [-1, 3]: the target shape exists only at run time.
    const net = addon.createNetwork();
    const x = net.addInput('x', F32, [-1, 3]);
    const [shape] = net.addLayer('Shape', 'shape', [x], {}, 1);
    const all = net.addConstant('axes0', I64, [1], bytes(new BigInt64Array([0n])));
    const [count] = net.addLayer('Reduce', 'count', [shape!, all], { op: 'prod', keepdims: 1 }, 1);
    const [flat] = net.addLayer('Reshape', 'flat', [x, count!], {}, 1);
    net.markOutput(flat!);
    expect(net.tensorInfo(flat!).dims).toEqual([-1]);
    const { plan } = await addon.buildPlan(net, config({ profiles: [{ x: { min: [1, 3], opt: [2, 3], max: [4, 3] } }] }), null);
    net.dispose();
    const engine = await addon.loadEngine(plan);
    const ctx = engine.createContext();
    ctx.setInputShape('x', [4, 3]);
    expect(ctx.getTensorShape('flat:0')).toEqual([12]);
    const x12 = Float32Array.from({ length: 12 }, (_, i) => i);
    const out = await ctx.infer({ x: { dtype: F32, dims: [4, 3], data: bytes(x12) } });
    expect(out['flat:0']!.dims).toEqual([12]);
    expect(Array.from(floats(out['flat:0']!.data))).toEqual(Array.from(x12));
    engine.dispose();
  });

  it('MatMul takes an optional bias [N] and an activation (what GEMM fusion emits)', async () => {
    const net = addon.createNetwork();
    const x = net.addInput('x', F32, [2, 4]);
    const w = net.addConstant('w', F32, [4, 3], bytes(W));
    const b = net.addConstant('b', F32, [3], bytes(B));
    const column = net.addConstant('column', F32, [2, 1], bytes(new Float32Array([1, 2])));
    await expectError(() => net.addLayer('MatMul', 'bad', [x, w, column], {}, 1), 'SHAPE_MISMATCH', /rank/);
    await expectError(() => net.addLayer('MatMul', 'bad', [x, w, b], { activation: 'tanh' }, 1), 'INVALID_ARGUMENT', /'activation'/);
    const [y] = net.addLayer('MatMul', 'mm', [x, w, b], { activation: 'relu' }, 1);
    net.markOutput(y!);
    const engine = await addon.loadEngine((await addon.buildPlan(net, config(), null)).plan);
    net.dispose();
    const xs = Float32Array.from({ length: 8 }, (_, i) => (i % 5) - 3);
    const out = floats((await engine.createContext().infer({ x: { dtype: F32, dims: [2, 4], data: bytes(xs) } }))['mm:0']!.data);
    const want = [0, 1].flatMap((r) => [0, 1, 2].map((j) => Math.max(0, B[j]! + [0, 1, 2, 3].reduce((a, k) => a + xs[r * 4 + k]! * W[k * 3 + j]!, 0))));
    expect(Array.from(out)).toEqual(want);
    engine.dispose();
  });

  it('emulates fp16: weights and layer outputs hold fp16-representable values', async () => {
    const net = addon.createNetwork();
    const x = net.addInput('x', F32, [1, 2]);
    const w = net.addConstant('w', F32, [2, 1], bytes(new Float32Array([1 + 2 ** -12, 1])));
    const [y] = net.addLayer('MatMul', 'mm', [x, w], {}, 1);
    net.markOutput(y!);
    const plan32 = (await addon.buildPlan(net, config(), null)).plan;
    const built16 = await addon.buildPlan(net, config({ fp16: true }), null);
    net.dispose();
    expect(built16.log.join('\n')).toMatch(/1 of 1 layers run in fp16; 1 fp32 weight tensor\(s\) rounded/);
    const input = { x: { dtype: F32, dims: [1, 2], data: bytes(new Float32Array([1, 2 ** -11])) } };
    const e32 = await addon.loadEngine(plan32);
    const e16 = await addon.loadEngine(built16.plan);
    expect(e16.layers()[0]!.precision).toBe('fp16');
    expect(e16.info().precision).toEqual(['fp32', 'fp16']);
    const y32 = floats((await e32.createContext().infer(input))['mm:0']!.data)[0]!;
    const y16 = floats((await e16.createContext().infer(input))['mm:0']!.data)[0]!;
    expect(y32).toBe(Math.fround(1 + 2 ** -12 + 2 ** -11));
    expect(y16).toBe(1); // w rounds to 1, x[1] to 2^-11, and 1 + 2^-11 rounds to 1 (ties to even)
    e32.dispose();
    e16.dispose();
  });

  it('keeps the event loop free while inferring', async () => {
    const n = 192;
    const net = addon.createNetwork();
    const x = net.addInput('x', F32, [n, n]);
    let t = x;
    for (let i = 0; i < 8; i++) [t] = net.addLayer('MatMul', `mm${i}`, [t, x], {}, 1) as [number];
    net.markOutput(t);
    const engine = await addon.loadEngine((await addon.buildPlan(net, config(), null)).plan);
    net.dispose();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const data = bytes(new Float32Array(n * n).fill(0.001));
    const ctx = engine.createContext();
    for (let i = 0; i < 3; i++) await ctx.infer({ x: { dtype: F32, dims: [n, n], data } });
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0);
    engine.dispose();
  });
});

describe('config validation', () => {
  it('names what is wrong with profiles', async () => {
    const { net } = affineNetwork();
    await expectError(() => addon.buildPlan(net, config(), null), 'INVALID_ARGUMENT', /'x' \[-1, 4\] have dynamic dims: add an optimization profile/);
    await expectError(
      () => addon.buildPlan(net, config({ profiles: [{ ...affineProfile, tokens: affineProfile.x, y: affineProfile.x }] }), null),
      'INVALID_ARGUMENT',
      /profile 0 names unknown inputs 'tokens', 'y' \(not an input\); the network's inputs are: x/,
    );
    await expectError(() => addon.buildPlan(net, config({ profiles: [{}] }), null), 'INVALID_ARGUMENT', /profile 0 has no range for input 'x'/);
    await expectError(
      () => addon.buildPlan(net, config({ profiles: [{ x: { min: [4, 4], opt: [2, 4], max: [8, 4] } }] }), null),
      'INVALID_ARGUMENT',
      /dim 0 needs 1 <= min <= opt <= max, got min 4, opt 2, max 8/,
    );
    await expectError(
      () => addon.buildPlan(net, config({ profiles: [{ x: { min: [1, 5], opt: [2, 5], max: [8, 5] } }] }), null),
      'SHAPE_MISMATCH',
      /dim 1 is static \(4\)/,
    );
    await expectError(() => addon.buildPlan(net, config({ profiles: [{ x: { min: [1], opt: [2], max: [8] } }] }), null), 'SHAPE_MISMATCH', /rank 2/);
    await expectError(() => addon.buildPlan(net, config({ backend: 'tpu', profiles: [affineProfile] }), null), 'INVALID_ARGUMENT', /backend must be 'cpu' or 'cuda'/);
    await expectError(
      () => addon.buildPlan(net, { ...config(), profiles: [{ x: { min: [1, 4], opt: [2, 4], max: [8, 4.5] } }] }, null),
      'INVALID_ARGUMENT',
      /^buildPlan: config\.profiles\[0\]\.x\.max\[1\] must be an integer >= 0, got 4\.5$/,
    );
    net.dispose();
  });

  it('rejects a network without outputs', async () => {
    const net = addon.createNetwork();
    net.addInput('x', F32, [1]);
    await expectError(() => addon.buildPlan(net, config(), null), 'INVALID_MODEL', /no outputs/);
    net.dispose();
  });
});

describe('execution context', () => {
  it('checks shapes, dtypes and names', async () => {
    const engine = await addon.loadEngine(await affinePlan({ profiles: [affineProfile, { x: { min: [9, 4], opt: [9, 4], max: [16, 4] } }] }));
    const ctx = engine.createContext();
    await expectError(
      () => ctx.setInputShape('x', [9, 4]),
      'SHAPE_MISMATCH',
      /input 'x' shape \[9, 4\] is outside optimization profile 0: dim 0 must be in \[1, 8\], got 9 \(min \[1, 4\], max \[8, 4\]\)/,
    );
    await expectError(() => ctx.setInputShape('x', [2, 5]), 'SHAPE_MISMATCH', /dim 1 must be 4/);
    await expectError(() => ctx.setInputShape('y', [2, 4]), 'INVALID_ARGUMENT', /'y' is not an input of the engine \(it is an output\); inputs: x/);
    await expectError(() => ctx.setOptimizationProfile(2), 'INVALID_ARGUMENT', /\[0, 2\)/);
    ctx.setOptimizationProfile(1);
    expect(ctx.getOptimizationProfile()).toBe(1);
    ctx.setInputShape('x', [9, 4]);
    expect(ctx.getTensorShape('y')).toEqual([9, 3]);
    await expectError(() => ctx.getTensorShape('mm:0'), 'INVALID_ARGUMENT', /not an input or output/);

    const good = { dtype: F32, dims: [9, 4], data: bytes(new Float32Array(36)) };
    await expectError(() => ctx.infer({ x: good, extra: good }), 'INVALID_ARGUMENT', /'extra' is not an input of the engine; inputs: x/);
    await expectError(() => ctx.infer({}), 'INVALID_ARGUMENT', /missing input 'x'; expected inputs: x/);
    await expectError(() => ctx.infer({ x: { ...good, dtype: F16 } }), 'DTYPE_MISMATCH', /input 'x' must be float32, got float16/);
    await expectError(() => ctx.infer({ x: { ...good, dims: [2, 4] } }), 'SHAPE_MISMATCH', /outside optimization profile 1/);
    await expectError(() => ctx.infer({ x: { ...good, data: new Uint8Array(12) } }), 'SHAPE_MISMATCH', /144 bytes of float32\) but 12 bytes/);
    const first = ctx.infer({ x: good });
    await expectError(() => ctx.infer({ x: good }), 'INVALID_ARGUMENT', /already running an infer/);
    expect((await first).y!.dims).toEqual([9, 3]);
    engine.dispose();
  });

  it('lets an in-flight infer finish across dispose, then throws DISPOSED', async () => {
    const engine = await addon.loadEngine(await affinePlan());
    const ctx = engine.createContext();
    const x = new Float32Array([1, 2, 3, 4]);
    const pending = ctx.infer({ x: { dtype: F32, dims: [1, 4], data: bytes(x) } });
    x.fill(0); // inputs were copied before infer returned
    ctx.dispose();
    engine.dispose();
    expect(Array.from(floats((await pending).y!.data))).toEqual(affineExpected(new Float32Array([1, 2, 3, 4]), 1));
    await expectError(() => ctx.infer({}), 'DISPOSED', /ExecutionContext has been disposed/);
    await expectError(() => ctx.getTensorShape('y'), 'DISPOSED');
    await expectError(() => engine.ioTensors(), 'DISPOSED', /Engine has been disposed/);
    await expectError(() => engine.createContext(), 'DISPOSED');
  });

  it('keeps a context working after its engine is disposed', async () => {
    const engine = await addon.loadEngine(await affinePlan());
    const ctx = engine.createContext();
    engine.dispose();
    const out = await ctx.infer({ x: { dtype: F32, dims: [1, 4], data: bytes(new Float32Array([0, 0, 0, 1])) } });
    expect(Array.from(floats(out.y!.data))).toEqual([10.5, 10, 14]);
    ctx.dispose();
  });
});

describe('plan files', () => {
  it('rejects foreign, truncated, corrupted and future plans with BAD_PLAN and the reason', async () => {
    const plan = await affinePlan();
    await expectError(() => addon.loadEngine(new Uint8Array(0)), 'BAD_PLAN', /empty/);
    await expectError(() => addon.loadEngine(new TextEncoder().encode('{"not": "a plan"}')), 'BAD_PLAN', /not an inferrt plan \(bad magic\)/);
    await expectError(() => addon.loadEngine(plan.subarray(0, 10)), 'BAD_PLAN', /truncated/);
    await expectError(() => addon.loadEngine(plan.subarray(0, plan.length - 1)), 'BAD_PLAN', /truncated: the body should be/);
    const future = plan.slice();
    new DataView(future.buffer).setUint32(8, 7, true);
    await expectError(() => addon.loadEngine(future), 'BAD_PLAN', /plan format version 7 is newer than this library supports \(1\)/);
    const flipped = plan.slice();
    flipped[plan.length - 3]! ^= 0x40;
    await expectError(() => addon.loadEngine(flipped), 'BAD_PLAN', /checksum mismatch/);
    const trailing = new Uint8Array(plan.length + 3);
    trailing.set(plan);
    await expectError(() => addon.loadEngine(trailing), 'BAD_PLAN', /3 unexpected bytes after the plan body/);
    await expectError(() => addon.loadEngine('plan' as unknown as Uint8Array), 'INVALID_ARGUMENT', /loadEngine: plan must be a Uint8Array/);
  });

  it('reports a section that runs short with its tag and offset', async () => {
    const plan = await affinePlan();
    const layers = sections(plan).find((s) => s.tag === 'LAYR')!;
    // Cut the LAYR payload in half but keep its declared length consistent with the body.
    const cut = new Uint8Array(plan.length - Math.floor(layers.length / 2));
    const keep = layers.at + 16 + Math.ceil(layers.length / 2);
    cut.set(plan.subarray(0, keep));
    cut.set(plan.subarray(layers.at + 16 + layers.length), keep);
    new DataView(cut.buffer).setBigUint64(layers.at + 8, BigInt(Math.ceil(layers.length / 2)), true);
    await expectError(() => addon.loadEngine(reseal(cut)), 'BAD_PLAN', /truncated in section 'LAYR' at offset \d+/);
  });

  it('skips unknown sections and requires the known ones', async () => {
    const plan = await affinePlan();
    const extra = new Uint8Array(16 + 5);
    extra.set(new TextEncoder().encode('XTRA'));
    const view = new DataView(extra.buffer);
    view.setUint32(4, 3, true);
    view.setBigUint64(8, 5n, true);
    const withExtra = new Uint8Array(plan.length + extra.length);
    withExtra.set(plan);
    withExtra.set(extra, plan.length);
    const engine = await addon.loadEngine(reseal(withExtra));
    expect(engine.layers()).toHaveLength(1);
    engine.dispose();

    const prof = sections(plan).find((s) => s.tag === 'PROF')!;
    const renamed = plan.slice();
    renamed.set(new TextEncoder().encode('PROX'), prof.at);
    await expectError(() => addon.loadEngine(reseal(renamed)), 'BAD_PLAN', /plan has no 'PROF' section/);
    const newer = plan.slice();
    new DataView(newer.buffer).setUint32(prof.at + 4, 2, true);
    await expectError(() => addon.loadEngine(reseal(newer)), 'BAD_PLAN', /section 'PROF' version 2 is newer/);
  });

  it('re-validates the graph of a plan whose checksum is valid', async () => {
    const plan = await affinePlan();
    const text = new TextDecoder('latin1').decode(plan);
    // Swap the layer kind of 'add' (MatMul after fusion, 6 chars) for an unknown one of the same length.
    const at = text.indexOf('MatMul');
    const unknown = plan.slice();
    unknown.set(new TextEncoder().encode('MatMuX'), at);
    await expectError(() => addon.loadEngine(reseal(unknown)), 'BAD_PLAN', /unknown kind 'MatMuX'/);
    // Claim another static dim for the constant 'w': its weights no longer fit.
    const tensors = sections(plan).find((s) => s.tag === 'TNSR')!;
    // Payload: u32 count, tensor 'x' (name 4+1, dtype 1, dims 4+16, flags 1, producer 4 = 31 bytes), then 'w'.
    const w = tensors.at + 16 + 4 + 31;
    expect(new TextDecoder().decode(plan.subarray(w + 4, w + 5))).toBe('w');
    const lying = plan.slice();
    new DataView(lying.buffer).setBigInt64(w + 4 + 1 + 1 + 4, 5n, true); // dims[0] of 'w': 4 -> 5
    await expectError(() => addon.loadEngine(reseal(lying)), 'BAD_PLAN', /constant 'w'.*needs 60 bytes of weights, the plan has 48/);
  });

  it('never crashes on random mutations (half of them with a recomputed checksum)', async () => {
    const plan = await affinePlan();
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    let loaded = 0;
    for (let i = 0; i < 300; i++) {
      let mutated: Uint8Array = plan.slice();
      const edits = 1 + random(4);
      for (let k = 0; k < edits; k++) {
        const kind = random(3);
        const at = random(mutated.length);
        if (kind === 0) mutated[at] = random(256);
        else if (kind === 1) mutated[at]! ^= 1 << random(8);
        else mutated = mutated.subarray(0, Math.max(at, 1)).slice();
      }
      if (i % 2 === 0 && mutated.length > 40 && headerLength(mutated) < mutated.length) mutated = reseal(mutated);
      try {
        const engine = await addon.loadEngine(mutated);
        loaded++;
        const ctx = engine.createContext();
        await ctx.infer({ x: { dtype: F32, dims: [2, 4], data: bytes(new Float32Array(8).fill(1)) } }).catch(() => undefined);
        engine.dispose();
      } catch (e) {
        expect(e).toBeInstanceOf(NativeError);
        expect((e as NativeError).code).toBe('BAD_PLAN');
      }
    }
    expect(loaded).toBeLessThan(300);
  });
});

describe('module', () => {
  it('reports version, backends, kinds and plugins', () => {
    expect(addon.version()).toMatch(/^\d+\.\d+\.\d+/);
    expect(addon.backends()[0]).toBe('cpu');
    expect(typeof addon.cudaCompiled()).toBe('boolean');
    expect(addon.layerKinds()).toContain('MatMul');
    expect(addon.backendSupports('cpu', 'MatMul')).toBe(true);
    expect(addon.backendSupports('cpu', 'Nope')).toBe(false);
    expect(() => addon.backendSupports('tpu', 'MatMul')).toThrow(/backend must be 'cpu' or 'cuda'/);
    expect(addon.plugins().map((p) => p.name)).toContain('SkipLayerNorm');
  });
});

describe('hardening', () => {
  it('rejects integer attributes that are not finite int64 values, naming the attribute', async () => {
    const net = addon.createNetwork();
    const x = net.addInput('x', F32, [2, 3]);
    for (const axis of [Infinity, -Infinity, 1e300])
      await expectError(() => net.addLayer('Concat', `c${axis}`, [x, x], { axis }, 1), 'INVALID_ARGUMENT', /attribute 'axis'/);
    await expectError(() => net.addLayer('Squeeze', 'sq', [x], { axes: [1e300] }, 1), 'INVALID_ARGUMENT', /attribute 'axes'/);
    net.dispose();
  });

  it('rejects dims that overflow int64 instead of wrapping them', async () => {
    const net = addon.createNetwork();
    const big = net.addInput('big', F32, [2n ** 62n as unknown as number, 1]);
    await expectError(() => net.addLayer('Concat', 'cat', [big, big], { axis: 0 }, 1), 'INVALID_ARGUMENT', /too many elements|overflow/);
    const wide = net.addInput('wide', F32, [2n ** 40n as unknown as number, 2n ** 40n as unknown as number]);
    await expectError(() => net.addLayer('Flatten', 'flat', [wide], { axis: 0 }, 1), 'INVALID_ARGUMENT', /too many elements|overflow/);
    const tall = net.addInput('tall', F32, [7n * 10n ** 18n as unknown as number]);
    const pads = net.addConstant('pads', I64, [2], bytes(new BigInt64Array([2n * 10n ** 18n, 10n ** 18n])));
    await expectError(() => net.addLayer('Pad', 'pad', [tall, pads], {}, 1), 'INVALID_ARGUMENT', /too many elements|overflow/);
    net.dispose();
  });

  it('rejects a QuantizeLinear activation that is not a GEMM activation, or one applied to an int32 x', async () => {
    const net = addon.createNetwork();
    const x = net.addInput('x', F32, [4]);
    const ix = net.addInput('ix', I32, [4]);
    const scale = net.addConstant('s', F32, [], bytes(Float32Array.of(0.5)));
    await expectError(() => net.addLayer('QuantizeLinear', 'q', [x, scale], { outputDType: 'int8', activation: 'swish' }, 1), 'INVALID_ARGUMENT', /QuantizeLinear layer 'q': attribute 'activation' must be 'none', 'relu', 'gelu' or 'gelu_tanh', got 'swish'/);
    await expectError(() => net.addLayer('QuantizeLinear', 'qi', [ix, scale], { outputDType: 'int8', activation: 'gelu' }, 1), 'DTYPE_MISMATCH', /QuantizeLinear layer 'qi' applies activation 'gelu' to x, which must then be float32 or float16, got int32/);
    net.addLayer('QuantizeLinear', 'ok', [x, scale], { outputDType: 'int8', activation: 'gelu' }, 1);
    net.dispose();
  });

  it('checks for dispose after running argument getters (no use after free)', async () => {
    const { net } = affineNetwork();
    const x = net.findTensor('x');
    const attrs = { op: 'relu' } as Record<string, unknown>;
    Object.defineProperty(attrs, 'alpha', { enumerable: true, get: () => (net.dispose(), 1) });
    await expectError(() => net.addLayer('Activation', 'act', [x], attrs as NativeAttributes, 1), 'DISPOSED');

    const { net: net2 } = affineNetwork();
    const cfg = config({ profiles: [affineProfile] }) as unknown as Record<string, unknown>;
    Object.defineProperty(cfg, 'backend', { enumerable: true, get: () => (net2.dispose(), 'cpu') });
    await expectError(() => addon.buildPlan(net2, cfg as unknown as NativeBuildConfig, null), 'DISPOSED');

    const engine = await addon.loadEngine(await affinePlan());
    const ctx = engine.createContext();
    const input = { dtype: F32, data: bytes(new Float32Array(4)) } as Record<string, unknown>;
    Object.defineProperty(input, 'dims', { enumerable: true, get: () => (ctx.dispose(), [1, 4]) });
    await expectError(() => ctx.infer({ x: input as never }), 'DISPOSED');
    engine.dispose();
  });

  it('never reads an input buffer that a later getter detached', async () => {
    const net = addon.createNetwork();
    const a = net.addInput('a', F32, [4]);
    const b = net.addInput('b', F32, [4]);
    const [y] = net.addLayer('ElementWise', 'add', [a, b], { op: 'add' }, 1);
    net.markOutput(y!);
    const { plan } = await addon.buildPlan(net, config(), null);
    net.dispose();
    const engine = await addon.loadEngine(plan);
    const ctx = engine.createContext();
    const aData = new Float32Array([1, 2, 3, 4]);
    const bInput = { dtype: F32, data: bytes(new Float32Array(4)) } as Record<string, unknown>;
    // 'a' sorts first, so its data is read before b's dims getter detaches it.
    Object.defineProperty(bInput, 'dims', { enumerable: true, get: () => (structuredClone(aData.buffer, { transfer: [aData.buffer] }), [4]) });
    await expectError(() => ctx.infer({ a: { dtype: F32, dims: [4], data: bytes(aData) }, b: bInput as never }), 'SHAPE_MISMATCH', /input 'a'.*0 bytes of data/);
    ctx.dispose();
    engine.dispose();
  });
});
