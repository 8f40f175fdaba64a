/** pruneModel: 2:4 magnitude pruning of ONNX weights, checked against an independent reference and onnxruntime. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { onnx as pb } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { floatToHalfBits, InferrtError, pruneModel } from '../../lib/index.js';
import { modelsDir } from '../fixtures/manifest.js';
import { runOnnxOnCpu } from '../builder/onnx-engine.js';
import { model, node, onnx, T, tensor, valueInfo } from '../onnx/helpers.js';
import type { HostTensor } from '../onnx/run.js';
import { decode, expectTwoFour, isTwoFour, mlpModel, seeded, weightOf } from './helpers.js';

/** The model with its initializers removed, re-encoded: everything pruning must leave alone. */
function withoutInitializers(bytes: Uint8Array): Uint8Array {
  const m = decode(bytes);
  m.graph!.initializer = [];
  return onnx.ModelProto.encode(m).finish();
}

const rawBytes = (m: pb.IModelProto, name: string): Uint8Array => new Uint8Array(weightOf(m, name).tensor.rawData ?? []);

async function ortRun(bytes: Uint8Array, feeds: Record<string, HostTensor>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor(t.dtype, t.data as never, t.dims)])));
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array]));
  } finally {
    await session.release();
  }
}

function expectClose(got: Float32Array, want: Float32Array, tol: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `${what}[${i}]: ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i]!)));
}

const maxAbsDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

/** Our CPU engine and onnxruntime agree on `bytes`; returns onnxruntime's outputs. */
async function expectEngineMatchesOrt(bytes: Uint8Array, feeds: Record<string, HostTensor>, tol = 1e-4): Promise<Record<string, Float32Array>> {
  const profile = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, { min: t.dims, opt: t.dims, max: t.dims }]));
  const ours = await runOnnxOnCpu(bytes, feeds, { strictFp32: true, profiles: [profile] });
  const theirs = await ortRun(bytes, feeds);
  expect(Object.keys(ours.outputs).sort()).toEqual(Object.keys(theirs).sort());
  for (const [name, want] of Object.entries(theirs)) expectClose(ours.outputs[name]!, want, tol, name);
  return theirs;
}

describe('pruneModel on crafted models', () => {
  it('makes MatMul B 2:4 along K and Gemm(transB=1) B along axis 1, keeping the two largest of each four', () => {
    const bytes = mlpModel();
    const before = decode(bytes);
    const result = pruneModel(bytes);
    const after = decode(result.model);
    expect(result.layers.map((l) => [l.initializer, l.users.map((u) => `${u.opType} ${u.node}`), l.axis, l.pruned])).toEqual([
      ['W', ['MatMul fc1'], 0, true],
      ['G', ['Gemm fc2'], 1, true],
    ]);
    for (const l of result.layers) {
      const share = expectTwoFour(weightOf(before, l.initializer).values, weightOf(after, l.initializer).values, l.dims, l.axis);
      expect(l.removedPercent).toBeCloseTo(share, 9);
      expect(l.groups).toBe(96 / 4);
      expect(l.zeroed).toBe(96 / 2);
      expect(isTwoFour(weightOf(after, l.initializer).values, l.dims, l.axis)).toBe(true);
    }
    // The [8, 12] Gemm weight reduced along axis 1 is not also 2:4 down its columns (the wrong axis).
    expect(isTwoFour(weightOf(after, 'G').values, [8, 12], 0)).toBe(false);
    // Totals: removed over total magnitude of the pruned weights.
    const removed = result.layers.reduce((a, l) => a + l.removedMagnitude, 0);
    const total = result.layers.reduce((a, l) => a + l.totalMagnitude, 0);
    expect(result.summary).toMatchObject({ pruned: 2, skipped: 0, zeroed: 96 });
    expect(result.summary.removedPercent).toBeCloseTo((100 * removed) / total, 9);
    // Biases and the graph are byte-identical; the model keeps its size (raw_data edited in place).
    for (const name of ['b', 'c']) expect(rawBytes(after, name)).toEqual(rawBytes(before, name));
    expect(withoutInitializers(result.model)).toEqual(withoutInitializers(bytes));
    expect(result.model.byteLength).toBe(bytes.byteLength);
    // The input bytes are not modified.
    expect(weightOf(decode(bytes), 'W').values).toEqual(weightOf(before, 'W').values);
  });

  it('Gemm with transB = 0 reduces along axis 0', () => {
    const bytes = model({
      inputs: [valueInfo('x', T.FLOAT, [2, 8])],
      outputs: [valueInfo('y', T.FLOAT, [2, 8])],
      initializers: [tensor('B', T.FLOAT, [8, 8], seeded(64, 11))],
      nodes: [node('Gemm', ['x', 'B'], ['y'], { transB: 0 }, 'gemm')],
    });
    const result = pruneModel(bytes);
    expect(result.layers[0]!.axis).toBe(0);
    const after = weightOf(decode(result.model), 'B').values;
    expectTwoFour(weightOf(decode(bytes), 'B').values, after, [8, 8], 0);
    expect(isTwoFour(after, [8, 8], 1)).toBe(false);
  });

  it('Conv weights are pruned along the input channels; too few channels are skipped with the reason', async () => {
    const bytes = model({
      inputs: [valueInfo('x', T.FLOAT, [1, 3, 6, 6])],
      outputs: [valueInfo('y', T.FLOAT, [1, 8, 2, 2])],
      initializers: [
        tensor('w1', T.FLOAT, [8, 3, 3, 3], seeded(8 * 27, 21)),
        tensor('w2', T.FLOAT, [8, 8, 3, 3], seeded(8 * 72, 22)),
        tensor('w3', T.FLOAT, [8, 4, 1, 1], seeded(32, 23)), // group 2: C/group = 4
      ],
      nodes: [
        node('Conv', ['x', 'w1'], ['a'], { pads: [1, 1, 1, 1] }, 'conv1'),
        node('Conv', ['a', 'w2'], ['b'], { strides: [2, 2] }, 'conv2'),
        node('Conv', ['b', 'w3'], ['y'], { group: 2, strides: [1, 1] }, 'conv3'),
      ],
    });
    const before = decode(bytes);
    const result = pruneModel(bytes);
    const after = decode(result.model);
    const [l1, l2, l3] = result.layers;
    expect(l1).toMatchObject({ initializer: 'w1', pruned: false, skipReason: 'reduction length 3 (axis 1) is not a multiple of 4' });
    expect(rawBytes(after, 'w1')).toEqual(rawBytes(before, 'w1'));
    for (const l of [l2!, l3!]) {
      expect(l).toMatchObject({ pruned: true, axis: 1 });
      expect(l.removedPercent).toBeCloseTo(expectTwoFour(weightOf(before, l.initializer).values, weightOf(after, l.initializer).values, l.dims, 1), 9);
    }
    expect(result.summary).toMatchObject({ pruned: 2, skipped: 1 });
    const x = { dtype: 'float32' as const, dims: [1, 3, 6, 6], data: Float32Array.from(seeded(108, 5)) };
    const original = await ortRun(bytes, { x });
    const pruned = await expectEngineMatchesOrt(result.model, { x });
    expect(maxAbsDiff(pruned.y!, original.y!)).toBeGreaterThan(1e-3); // pruning changed the outputs
  });

  it('breaks ties toward the lower index and leaves an already-2:4 weight untouched (0% removed)', () => {
    // Columns of W [4, 3] along K: [3, -3, 3, 3] keeps rows 0 and 1; [0, 2, 0, -5] is already 2:4; [-0, 1, 1, 1] keeps 1, 2.
    const w = [3, 0, -0, -3, 2, 1, 3, 0, 1, 3, -5, 1];
    const bytes = model({
      inputs: [valueInfo('x', T.FLOAT, [1, 4])],
      outputs: [valueInfo('y', T.FLOAT, [1, 3])],
      initializers: [tensor('W', T.FLOAT, [4, 3], w)],
      nodes: [node('MatMul', ['x', 'W'], ['y'], {}, 'mm')],
    });
    const result = pruneModel(bytes);
    expect(weightOf(decode(result.model), 'W').values.map((v) => v + 0)).toEqual([3, 0, 0, -3, 2, 1, 0, 0, 1, 0, -5, 0]);
    expectTwoFour(w, weightOf(decode(result.model), 'W').values, [4, 3], 0);
    expect(result.layers[0]!.removedPercent).toBeCloseTo((100 * (3 + 3 + 1)) / (12 + 7 + 3), 9);

    const again = pruneModel(result.model);
    expect(again.layers[0]).toMatchObject({ pruned: true, zeroed: 0, removedMagnitude: 0, removedPercent: 0 });
    expect(again.model).toEqual(result.model);
  });

  it('prunes a weight shared by several layers once, reports other readers, and skips one used along different axes', () => {
    const bytes = model({
      inputs: [valueInfo('x', T.FLOAT, [8, 8])],
      outputs: [valueInfo('y', T.FLOAT, [8, 8]), valueInfo('z', T.FLOAT, [8, 8]), valueInfo('u', T.FLOAT, [8, 8])],
      initializers: [tensor('S', T.FLOAT, [8, 8], seeded(64, 31)), tensor('D', T.FLOAT, [8, 8], seeded(64, 32))],
      nodes: [
        node('MatMul', ['x', 'S'], ['s1'], {}, 'mm_a'),
        node('MatMul', ['s1', 'S'], ['s2'], {}, 'mm_b'),
        node('Add', ['s2', 'S'], ['y'], {}, 'add_s'),
        node('MatMul', ['x', 'D'], ['z'], {}, 'mm_d'),
        node('Gemm', ['x', 'D'], ['u'], { transB: 1 }, 'gemm_d'),
      ],
    });
    const before = decode(bytes);
    const result = pruneModel(bytes);
    const after = decode(result.model);
    const s = result.layers.find((l) => l.initializer === 'S')!;
    expect(s.users.map((u) => u.node)).toEqual(['mm_a', 'mm_b']);
    expect(s.sharedWith).toEqual(["Add 'add_s'"]);
    expect(s.pruned).toBe(true);
    expectTwoFour(weightOf(before, 'S').values, weightOf(after, 'S').values, [8, 8], 0);
    const d = result.layers.find((l) => l.initializer === 'D')!;
    expect(d).toMatchObject({ pruned: false, axis: -1 });
    expect(d.skipReason).toMatch(/different axes.*MatMul 'mm_d' axis 0.*Gemm 'gemm_d' axis 1/);
    expect(rawBytes(after, 'D')).toEqual(rawBytes(before, 'D'));
    expect(result.layers).toHaveLength(2);
  });

  it('--layers: only weights whose initializer or node name matches', () => {
    const bytes = mlpModel();
    const before = decode(bytes);
    for (const layers of [/fc2/, 'fc2', '^G$', /FC2/i]) {
      const result = pruneModel(bytes, { layers });
      expect(result.layers.map((l) => l.initializer), String(layers)).toEqual(['G']);
      const after = decode(result.model);
      expect(rawBytes(after, 'W')).toEqual(rawBytes(before, 'W'));
      expectTwoFour(weightOf(before, 'G').values, weightOf(after, 'G').values, [8, 12], 1);
    }
    const none = pruneModel(bytes, { layers: /nothing/ });
    expect(none.layers).toEqual([]);
    expect(new Uint8Array(none.model)).toEqual(new Uint8Array(bytes));
    // A global RegExp's lastIndex does not make later names miss.
    expect(pruneModel(bytes, { layers: /[WG]/g }).layers.map((l) => l.initializer)).toEqual(['W', 'G']);
  });

  it('refuses to re-encode a float_data model that re-encoding would change elsewhere; raw_data models keep the field', () => {
    const withField = (raw: boolean) => {
      const bytes = model({
        inputs: [valueInfo('x', T.FLOAT, [2, 8])],
        outputs: [valueInfo('y', T.FLOAT, [2, 8])],
        initializers: [tensor('W', T.FLOAT, [8, 8], seeded(64, 50), raw)],
        nodes: [node('MatMul', ['x', 'W'], ['y'], {}, 'mm')],
      });
      const out = new Uint8Array(bytes.length + 2);
      out.set(bytes);
      out.set([0x78, 0x07], bytes.length); // ModelProto field 15 (varint 7): unknown to this schema
      return out;
    };
    expect(() => pruneModel(withField(false))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/re-encoding would change more than the weights/) }));
    const raw = withField(true);
    const pruned = pruneModel(raw).model;
    expect(pruned.length).toBe(raw.length);
    expect(Array.from(pruned.slice(-2))).toEqual([0x78, 0x07]);
  });

  it('reports a finite share of magnitude removed when a weight holds NaN or infinities', () => {
    const values = seeded(64, 60);
    values[0] = Number.NaN;
    values[9] = Number.POSITIVE_INFINITY;
    const bytes = model({
      inputs: [valueInfo('x', T.FLOAT, [2, 8])],
      outputs: [valueInfo('y', T.FLOAT, [2, 8])],
      initializers: [tensor('W', T.FLOAT, [8, 8], values)],
      nodes: [node('MatMul', ['x', 'W'], ['y'], {}, 'mm')],
    });
    const [report] = pruneModel(bytes).layers;
    expect(Number.isFinite(report!.removedPercent)).toBe(true);
    expect(report!.removedPercent).toBeGreaterThan(0);
    expect(report!.zeroed).toBe(32);
  });

  it('keeps the storage form: float_data stays float_data, fp16 raw_data and fp16 int32_data are pruned as halves', () => {
    const f16 = seeded(64, 41).map(floatToHalfBits);
    const bytes = model({
      inputs: [valueInfo('x', T.FLOAT, [2, 8]), valueInfo('h', T.FLOAT16, [2, 8])],
      outputs: [valueInfo('y', T.FLOAT, [2, 8]), valueInfo('z', T.FLOAT16, [2, 8]), valueInfo('v', T.FLOAT16, [2, 8])],
      initializers: [
        tensor('Wf', T.FLOAT, [8, 8], seeded(64, 40), false),
        tensor('Wh', T.FLOAT16, [8, 8], f16),
        tensor('Wi', T.FLOAT16, [8, 8], f16, false),
      ],
      nodes: [node('MatMul', ['x', 'Wf'], ['y'], {}, 'mm_f'), node('MatMul', ['h', 'Wh'], ['z'], {}, 'mm_h'), node('MatMul', ['h', 'Wi'], ['v'], {}, 'mm_i')],
    });
    const before = decode(bytes);
    const result = pruneModel(bytes);
    const after = decode(result.model);
    expect(result.layers.map((l) => [l.initializer, l.dtype, l.pruned])).toEqual([['Wf', 'float32', true], ['Wh', 'float16', true], ['Wi', 'float16', true]]);
    for (const l of result.layers) {
      expect(l.removedPercent).toBeCloseTo(expectTwoFour(weightOf(before, l.initializer).values, weightOf(after, l.initializer).values, [8, 8], 0), 9);
    }
    expect(weightOf(after, 'Wf').tensor.rawData?.byteLength ?? 0).toBe(0);
    expect(weightOf(after, 'Wf').tensor.floatData).toHaveLength(64);
    expect(weightOf(after, 'Wh').tensor.rawData?.byteLength).toBe(128);
    expect(weightOf(after, 'Wi').tensor.int32Data).toHaveLength(64);
    expect(withoutInitializers(result.model)).toEqual(withoutInitializers(bytes));
  });

  it('skips non-float weights and MatMul weights that are not rank 2, and leaves A inputs alone', () => {
    const bytes = model({
      inputs: [valueInfo('x', T.INT32, [2, 8]), valueInfo('y', T.FLOAT, [2, 4, 8])],
      outputs: [valueInfo('a', T.INT32, [2, 8]), valueInfo('b', T.FLOAT, [2, 4, 4]), valueInfo('c', T.FLOAT, [4, 4])],
      initializers: [tensor('Wi', T.INT32, [8, 8], seeded(64, 1).map((v) => Math.round(v * 9))), tensor('W3', T.FLOAT, [2, 8, 4], seeded(64, 2)), tensor('A', T.FLOAT, [4, 8], seeded(32, 3))],
      nodes: [node('MatMul', ['x', 'Wi'], ['a'], {}, 'mm_int'), node('MatMul', ['y', 'W3'], ['b'], {}, 'mm_3d'), node('MatMul', ['A', 'A2'], ['c'], {}, 'mm_a')],
    });
    // (A2 is not defined: pruneModel reads weights, it does not validate the graph.)
    const result = pruneModel(bytes);
    expect(result.layers.map((l) => [l.initializer, l.pruned, l.skipReason])).toEqual([['Wi', false, 'dtype int32 (only float and float16 weights are pruned)']]);
    expect(new Uint8Array(result.model)).toEqual(new Uint8Array(bytes));
  });

  it('typed errors: not a model, a bad pattern, external data, data that does not match the dims', () => {
    const err = (f: () => unknown): InferrtError => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(InferrtError);
        return e as InferrtError;
      }
      throw new Error('expected an InferrtError');
    };
    expect(err(() => pruneModel(new Uint8Array([1, 2, 3, 4]), { name: 'junk.onnx' }))).toMatchObject({ code: 'INVALID_MODEL', message: expect.stringMatching(/^junk.onnx is not a valid ONNX model/) });
    expect(err(() => pruneModel(mlpModel(), { layers: '(' }))).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/options.layers '\(' is not a valid regular expression/) });
    const external = model({
      inputs: [valueInfo('x', T.FLOAT, [1, 4])],
      outputs: [valueInfo('y', T.FLOAT, [1, 4])],
      initializers: [{ name: 'W', dataType: T.FLOAT, dims: [4, 4], dataLocation: 1, externalData: [{ key: 'location', value: 'w.bin' }] }],
      nodes: [node('MatMul', ['x', 'W'], ['y'], {}, 'mm')],
    });
    expect(err(() => pruneModel(external))).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/weight 'W' of MatMul 'mm' is stored in external data file 'w.bin'/) });
    const short = model({
      inputs: [valueInfo('x', T.FLOAT, [1, 4])],
      outputs: [valueInfo('y', T.FLOAT, [1, 4])],
      initializers: [tensor('W', T.FLOAT, [4, 4], seeded(12, 1))],
      nodes: [node('MatMul', ['x', 'W'], ['y'], {}, 'mm')],
    });
    expect(err(() => pruneModel(short))).toMatchObject({ code: 'INVALID_MODEL', message: expect.stringMatching(/raw_data holds 48 bytes, but dims \[4, 4\] of float32 need 64/) });
  });
});

describe('pruneModel on exported models', () => {
  const read = (f: string): Uint8Array => readFileSync(path.join(modelsDir, f));

  it('demo CNN: every pruned Conv/Gemm weight is 2:4, the rest byte-identical; the engine matches onnxruntime on the pruned model', async () => {
    const bytes = read('demo_cnn.onnx');
    const before = decode(bytes);
    const result = pruneModel(bytes);
    const after = decode(result.model);
    expect(result.summary).toMatchObject({ pruned: 3, skipped: 1 });
    const pruned = new Set(result.layers.filter((l) => l.pruned).map((l) => l.initializer));
    for (const l of result.layers.filter((x) => x.pruned)) {
      expect(l.axis).toBe(1); // Conv: input channels; the classifier Gemm has transB = 1
      expect(l.removedPercent).toBeCloseTo(expectTwoFour(weightOf(before, l.initializer).values, weightOf(after, l.initializer).values, l.dims, l.axis), 9);
    }
    for (const t of before.graph!.initializer!) if (!pruned.has(t.name!)) expect(rawBytes(after, t.name!), t.name!).toEqual(rawBytes(before, t.name!));
    expect(withoutInitializers(result.model)).toEqual(withoutInitializers(bytes));

    const input = { dtype: 'float32' as const, dims: [4, 3, 32, 32], data: Float32Array.from(seeded(4 * 3 * 32 * 32, 9)) };
    const original = await ortRun(bytes, { input });
    const outs = await expectEngineMatchesOrt(result.model, { input });
    expect(maxAbsDiff(outs.logits!, original.logits!)).toBeGreaterThan(1e-3);
  });

  it('BERT (TorchScript export): MatMul weights along K, the pooler Gemm along axis 1; the engine matches onnxruntime', async () => {
    const bytes = read('bert_torchscript_op13.onnx');
    const before = decode(bytes);
    const result = pruneModel(bytes);
    const after = decode(result.model);
    expect(result.summary).toMatchObject({ pruned: 13, skipped: 0 });
    for (const l of result.layers) {
      expect(l.axis).toBe(l.users[0]!.opType === 'Gemm' ? 1 : 0);
      expect(l.removedPercent).toBeCloseTo(expectTwoFour(weightOf(before, l.initializer).values, weightOf(after, l.initializer).values, l.dims, l.axis), 9);
    }
    expect(withoutInitializers(result.model)).toEqual(withoutInitializers(bytes));
    const dims = [2, 8];
    const feeds: Record<string, HostTensor> = {
      input_ids: { dtype: 'int64', dims, data: BigInt64Array.from({ length: 16 }, (_, i) => BigInt((i * 7) % 50)) },
      attention_mask: { dtype: 'int64', dims, data: BigInt64Array.from({ length: 16 }, (_, i) => (i % 8 < 6 ? 1n : 0n)) },
      token_type_ids: { dtype: 'int64', dims, data: new BigInt64Array(16) },
    };
    await expectEngineMatchesOrt(result.model, feeds, 2e-4);
  });
});
