// Sparsity records in plans (the optional 'SPRS' section, native/plan/sections.h) on the CPU. sparseWeights builds
// write them; the fields only a CUDA build fills in (sparse, timings, the cuSPARSELt algorithm, compressed weights)
// reach a CPU plan through the plan writer (addon.testing.withPlanSparsity), and everything after that is the real
// path: the plan reader as Runtime.load uses it, engine.layers, inspect, and runs.
import { describe, expect, it } from 'vitest';
import { addon, type NativeLayerSparsity } from '../../lib/binding.js';
import { MinMaxCalibrator, Runtime, tensor, type NetworkDefinition, type Plan } from '../../lib/index.js';
import { formatReport, inspectEngine } from '../../lib/cli/commands/inspect.js';
import { reseal, sections } from '../fuzz/plan-bytes.js';
import { planLoadError } from '../inferrt-errors.js';
import { buildAndRun, nonZero, twoFour } from './sparse-helpers.js';

const X = nonZero(2 * 8, 1);

// x [2, 8] -> fc1 (2:4 along K) -> relu -> fc2 (dense) -> softmax 'probs' -> y
function define(n: NetworkDefinition): void {
  const x = n.addInput('x', 'float32', [2, 8]);
  const h = n.addActivation(n.addMatrixMultiply(x, n.addConstant([8, 4], twoFour([8, 4], 0, 2)), { name: 'fc1' }).output(), 'relu').output();
  const z = n.addMatrixMultiply(h, n.addConstant([4, 4], nonZero(16, 3)), { name: 'fc2' }).output();
  n.markOutput(n.addSoftmax(z, { axis: -1, name: 'probs' }).output(), 'y');
}

async function build(sparseWeights: boolean): Promise<{ plan: Plan; y: Float32Array; layers: string[]; kinds: string[] }> {
  const { plan, engine, out } = await buildAndRun(define, { x: [X, [2, 8]] }, { sparseWeights });
  const result = { plan, y: out.y as Float32Array, layers: engine.layers.map((l) => l.name), kinds: engine.layers.map((l) => l.kind) };
  engine.dispose();
  return result;
}

/** A record as a CUDA build would write it for a layer it made sparse. */
function sparseRecord(layer: number, overrides: Partial<NativeLayerSparsity> = {}): NativeLayerSparsity {
  return {
    layer,
    eligible: true,
    sparse: true,
    anyShape: false,
    note: '',
    denseMs: 0.62,
    sparseMs: 0.41,
    gemmKey: `csl:a=f16,m=2,n=4,k=8,layer=${layer} — ü`,
    cusparseLtVersion: 604,
    algConfigId: 3,
    splitK: -2,
    splitKMode: 1,
    splitKBuffers: 4,
    // Every byte value, so a dropped or reordered byte shows.
    compressed: Uint8Array.from({ length: 300 }, (_, i) => (i * 7 + layer) & 0xff),
    ...overrides,
  };
}

/** The plan with its SPRS payload bytes edited in place (then resealed, so only the parser can object). */
function editSparsity(plan: Uint8Array, edit: (payload: DataView) => void): Uint8Array {
  const out = plan.slice();
  const s = sections(out).find((x) => x.tag === 'SPRS')!;
  edit(new DataView(out.buffer, out.byteOffset + s.at + 16, s.length));
  return reseal(out);
}

describe('plans with sparsity records', () => {
  it('a sparseWeights build writes what the reader reads back, and the writer reproduces it byte for byte', async () => {
    const { plan, layers } = await build(true);
    const fc1 = layers.indexOf('fc1');
    const fc2 = layers.indexOf('fc2');
    const records = addon.testing.planSparsity(plan.bytes);
    const defaults = { sparse: false, anyShape: false, denseMs: 0, sparseMs: 0, gemmKey: '', cusparseLtVersion: 0, algConfigId: 0, splitK: 1, splitKMode: 0, splitKBuffers: 1, compressed: new Uint8Array(0) };
    expect(records).toEqual([
      { layer: fc1, eligible: true, note: 'the cpu backend has no sparse kernels', ...defaults },
      { layer: fc2, eligible: false, note: 'not 2:4: 4 of 4 groups of four have 3 or 4 non-zeros', ...defaults },
    ]);
    expect(sections(plan.bytes).map((s) => s.tag).at(-1)).toBe('SPRS');
    expect(Buffer.from(addon.testing.withPlanSparsity(plan.bytes, records)).equals(Buffer.from(plan.bytes))).toBe(true);

    // Without records the section is absent: a plain build re-written with none is unchanged.
    const plain = await build(false);
    expect(addon.testing.planSparsity(plain.plan.bytes)).toEqual([]);
    expect(Buffer.from(addon.testing.withPlanSparsity(plain.plan.bytes, [])).equals(Buffer.from(plain.plan.bytes))).toBe(true);
  });

  it('round-trips sparse records with timings, algorithm and compressed weights; a CPU engine shows them and runs as before', async () => {
    const { plan, layers, y } = await build(true);
    const fc1 = layers.indexOf('fc1');
    const fc2 = layers.indexOf('fc2');
    const records = [sparseRecord(fc1, { anyShape: true }), { ...sparseRecord(fc2), sparse: false, note: 'slower than dense', denseMs: 0.2, sparseMs: 0.25, compressed: new Uint8Array(0) }];
    const bytes = addon.testing.withPlanSparsity(plan.bytes, records);
    expect(addon.testing.planSparsity(bytes)).toEqual(records);
    expect(Buffer.from(addon.testing.withPlanSparsity(bytes, records)).equals(Buffer.from(bytes))).toBe(true);

    const engine = await Runtime.load(bytes);
    expect(engine.layers[fc1]!.sparsity).toEqual({ eligible: true, sparse: true, denseMs: 0.62, sparseMs: 0.41 });
    expect(engine.layers[fc2]!.sparsity).toEqual({ eligible: true, sparse: false, note: 'slower than dense', denseMs: 0.2, sparseMs: 0.25 });
    const text = formatReport(inspectEngine('mlp.plan', engine));
    expect(text).toContain('  sparse weights: 2 eligible, 1 sparse (of 2 MatMul/Convolution layers with constant weights)');
    expect(text.find((l) => l.includes(' fc1 '))).toContain('2:4 sparse 0.410 ms vs dense 0.620 ms');
    expect(text.find((l) => l.includes(' fc2 '))).toContain('2:4 eligible, dense: slower than dense (sparse 0.250 ms vs dense 0.200 ms)');

    // The CPU backend ignores the records: the same outputs, bit for bit.
    const ctx = engine.createContext();
    const out = (await ctx.infer({ x: tensor(X, [2, 8]) })).y!.data as Float32Array;
    expect(Array.from(out)).toEqual(Array.from(y));
    ctx.dispose();
    engine.dispose();
  });

  it('rejects records the writer should never have written, with BAD_PLAN saying which', async () => {
    const { plan, layers, kinds } = await build(true);
    const fc1 = layers.indexOf('fc1');
    const fc2 = layers.indexOf('fc2');
    const probs = kinds.indexOf('Softmax');
    const write = (records: NativeLayerSparsity[]) => addon.testing.withPlanSparsity(plan.bytes, records);

    expect(await planLoadError(write([sparseRecord(999)]))).toMatch(
      new RegExp(`^corrupt section 'SPRS' at offset \\d+: a sparsity record for layer 999, the plan has ${layers.length} layers$`),
    );
    expect(await planLoadError(write([sparseRecord(probs)]))).toMatch(new RegExp(`a sparsity record for layer '${layers[probs]}', a Softmax layer \\(only MatMul, QuantizedMatMul and Convolution layers have them\\)$`));
    const [a, b] = fc1 < fc2 ? [fc1, fc2] : [fc2, fc1];
    expect(await planLoadError(write([sparseRecord(b), sparseRecord(a)]))).toMatch(new RegExp(`sparsity records out of order or twice for layer '${layers[a]}' \\(${a}\\)$`));
    expect(await planLoadError(write([sparseRecord(a), sparseRecord(a)]))).toMatch(/sparsity records out of order or twice/);
    expect(await planLoadError(write([sparseRecord(fc1, { eligible: false })]))).toMatch(/layer 'fc1' is marked sparse but its weights are not marked 2:4 \(eligible\)$/);
    expect(await planLoadError(write([sparseRecord(fc1, { compressed: new Uint8Array(10) })]))).toMatch(
      /the compressed weight of layer 'fc1' has 10 bytes, fewer than the \d+ its 2:4 \[\d+, \d+\] weight keeps$/,
    );

    // Byte edits past what the testing hook accepts. Payload: u32 count | u32 layer | u8 flags | str note (empty
    // below) | f64 dense ms | f64 sparse ms | str GEMM key | u64 version | 4 x i32 | u64 n | bytes.
    const one = write([sparseRecord(fc1, { gemmKey: '' })]);
    expect(await planLoadError(editSparsity(one, (p) => p.setUint8(8, 11)))).toMatch(/the sparsity record of layer 'fc1' has unknown flags 11$/);
    expect(await planLoadError(editSparsity(one, (p) => p.setUint8(8, 5)))).toMatch(/layer 'fc1' is marked sparse at any shape but not sparse$/);
    expect(await planLoadError(editSparsity(one, (p) => p.setFloat64(13, NaN, true)))).toMatch(/the sparsity record of layer 'fc1' has time nan ms$/);
    expect(await planLoadError(editSparsity(one, (p) => p.setFloat64(21, -1, true)))).toMatch(/has time -1 ms$/);
    expect(await planLoadError(editSparsity(one, (p) => p.setBigUint64(57, 301n, true)))).toMatch(
      /^truncated in section 'SPRS' at offset \d+: compressed weights of layer 'fc1' of 301 bytes, 300 left$/,
    );
    expect(await planLoadError(editSparsity(one, (p) => p.setUint32(9, 0xffffff, true)))).toMatch(/^truncated in section 'SPRS'/);
    expect(await planLoadError(editSparsity(one, (p) => p.setUint32(0, 1000, true)))).toMatch(/^truncated in section 'SPRS' at offset \d+: 1000 sparsity records need at least 61000 bytes/);
    expect(await planLoadError(editSparsity(one, (p) => p.setUint32(0, 0, true)))).toMatch(/^corrupt section 'SPRS': \d+ unexpected bytes at offset \d+$/);
    // The same checks guard the testing reader.
    expect(() => addon.testing.planSparsity(write([sparseRecord(999)]))).toThrow(/a sparsity record for layer 999/);
  });

  it('reads a sparse record of a 1x1 channels-last convolution and checks its bytes against the 4-D filter', async () => {
    // x [1, 4, 4, 8] (NHWC) -> 1x1 convolution 'proj' with a [16, 1, 1, 8] filter, 2:4 along C -> y
    const defineConv = (n: NetworkDefinition): void => {
      const x = n.addInput('x', 'float32', [1, 4, 4, 8]);
      const w = n.addConstant([16, 1, 1, 8], twoFour([16, 1, 1, 8], 3, 4));
      n.markOutput(n.addConvolution(x, w, null, { channelsLast: true, name: 'proj' }).output(), 'y');
    };
    const x = nonZero(128, 5);
    const { plan, engine, out } = await buildAndRun(defineConv, { x: [x, [1, 4, 4, 8]] }, { sparseWeights: true });
    const proj = engine.layers.findIndex((l) => l.name === 'proj');
    engine.dispose();
    expect(proj).toBeGreaterThanOrEqual(0);
    expect(addon.testing.planSparsity(plan.bytes)).toEqual([expect.objectContaining({ layer: proj, eligible: true, sparse: false })]);

    const loaded = await Runtime.load(addon.testing.withPlanSparsity(plan.bytes, [sparseRecord(proj)]));
    expect(loaded.layers[proj]!.sparsity).toEqual({ eligible: true, sparse: true, denseMs: 0.62, sparseMs: 0.41 });
    const ctx = loaded.createContext();
    const y = (await ctx.infer({ x: tensor(x, [1, 4, 4, 8]) })).y!.data as Float32Array;
    expect(Array.from(y)).toEqual(Array.from(out.y as Float32Array));
    ctx.dispose();
    loaded.dispose();

    // 16 x 8 weights keep 64 fp16 values: 128 bytes at least.
    const short = addon.testing.withPlanSparsity(plan.bytes, [sparseRecord(proj, { compressed: new Uint8Array(127) })]);
    expect(await planLoadError(short)).toMatch(/the compressed weight of layer 'proj' has 127 bytes, fewer than the 128 its 2:4 \[16, 1, 1, 8\] weight keeps$/);
  });

  it('reads a sparse record of an INT8 QuantizedMatMul and checks its bytes against the int8 [N, K] weight', async () => {
    // x [2, 8] -> MatMul with a [8, 16] weight 2:4 along K -> y, built INT8: QuantizeLinear -> QuantizedMatMul,
    // whose weight is int8 [16, 8] (a row per output channel), 2:4 along K still.
    const defineInt8 = (n: NetworkDefinition): void => {
      const x = n.addInput('x', 'float32', [2, 8]);
      n.markOutput(n.addMatrixMultiply(x, n.addConstant([8, 16], twoFour([8, 16], 0, 6)), { name: 'fc' }).output(), 'y');
    };
    const calibrator = new MinMaxCalibrator({ batches: [{ x: tensor(X, [2, 8]) }] });
    const { plan, engine, out } = await buildAndRun(defineInt8, { x: [X, [2, 8]] }, { precision: ['int8'], int8Calibrator: calibrator, sparseWeights: true });
    const q = engine.layers.findIndex((l) => l.kind === 'QuantizedMatMul');
    engine.dispose();
    expect(q).toBeGreaterThanOrEqual(0);
    expect(addon.testing.planSparsity(plan.bytes)).toEqual([expect.objectContaining({ layer: q, eligible: true, sparse: false })]);

    const bytes = addon.testing.withPlanSparsity(plan.bytes, [sparseRecord(q, { gemmKey: 'sp8i32 m=16 n=16 k=8' })]);
    expect(addon.testing.planSparsity(bytes)).toEqual([sparseRecord(q, { gemmKey: 'sp8i32 m=16 n=16 k=8' })]);
    const loaded = await Runtime.load(bytes);
    expect(loaded.layers[q]!.sparsity).toEqual({ eligible: true, sparse: true, denseMs: 0.62, sparseMs: 0.41 });
    const ctx = loaded.createContext();
    const y = (await ctx.infer({ x: tensor(X, [2, 8]) })).y!.data as Float32Array;
    expect(Array.from(y)).toEqual(Array.from(out.y as Float32Array));
    ctx.dispose();
    loaded.dispose();

    // 16 x 8 int8 weights keep 64 values of one byte: 64 bytes at least (a float weight's would need 128).
    const enough = addon.testing.withPlanSparsity(plan.bytes, [sparseRecord(q, { compressed: new Uint8Array(64) })]);
    (await Runtime.load(enough)).dispose();
    const short = addon.testing.withPlanSparsity(plan.bytes, [sparseRecord(q, { compressed: new Uint8Array(63) })]);
    expect(await planLoadError(short)).toMatch(/the compressed weight of layer '[^']+' has 63 bytes, fewer than the 64 its 2:4 \[16, 8\] weight keeps$/);
    // The QuantizeLinear layer in front of it takes no record.
    const quantize = addon.testing.withPlanSparsity(plan.bytes, [sparseRecord(q - 1)]);
    expect(await planLoadError(quantize)).toMatch(/a QuantizeLinear layer \(only MatMul, QuantizedMatMul and Convolution layers have them\)$/);
  });

  it('rejects a cut, newer or duplicated section', async () => {
    const { plan, layers } = await build(true);
    const good = addon.testing.withPlanSparsity(plan.bytes, [sparseRecord(layers.indexOf('fc1'))]);
    const sprs = sections(good).find((s) => s.tag === 'SPRS')!;

    const cut = new Uint8Array(good.length - 10);
    cut.set(good.subarray(0, sprs.at + 16 + sprs.length - 10));
    new DataView(cut.buffer).setBigUint64(sprs.at + 8, BigInt(sprs.length - 10), true);
    expect(await planLoadError(reseal(cut))).toMatch(/^truncated in section 'SPRS' at offset \d+: compressed weights of layer 'fc1' of 300 bytes, 290 left$/);

    const newer = good.slice();
    new DataView(newer.buffer).setUint32(sprs.at + 4, 2, true);
    expect(await planLoadError(reseal(newer))).toBe("section 'SPRS' version 2 is newer than this library supports (1)");

    const twice = new Uint8Array(good.length + 16 + sprs.length);
    twice.set(good);
    twice.set(good.subarray(sprs.at, sprs.at + 16 + sprs.length), good.length);
    expect(await planLoadError(reseal(twice))).toBe("plan has two 'SPRS' sections");
  });
});
