// Tactic records in plans (the optional 'TCTC' section, native/plan/sections.h) on the CPU. CUDA builds write
// them; here a CPU plan gets records through the plan writer (addon.testing.withPlanTactics), and everything
// after that is the real path: the plan reader as Runtime.load uses it, engine.layers, inspect, and runs.
import { describe, expect, it } from 'vitest';
import { addon, type NativeLayerTactic } from '../../lib/binding.js';
import { Builder, Plan, Runtime, tensor, type Engine } from '../../lib/index.js';
import { formatReport, inspectEngine } from '../../lib/cli/commands/inspect.js';
import { randomFloats } from '../api/helpers.js';
import { reseal, sections } from '../fuzz/plan-bytes.js';
import { planLoadError } from '../inferrt-errors.js';

const W1 = randomFloats(4 * 6, 11);
const B1 = randomFloats(6, 12);
const W2 = randomFloats(6 * 3, 13);

// x [-1, 4] -> MatMul W1 + B1 -> relu -> MatMul W2 -> softmax -> y: two MatMul layers after fusion.
async function buildPlan(): Promise<Plan> {
  const builder = new Builder({ backend: 'cpu' });
  const network = builder.createNetwork();
  const x = network.addInput('x', 'float32', [-1, 4]);
  const h = network.addMatrixMultiply(x, network.addConstant([4, 6], W1, { name: 'w1' })).output();
  const r = network.addActivation(network.addElementWise(h, network.addConstant([6], B1, { name: 'b1' }), 'add').output(), 'relu').output();
  const z = network.addMatrixMultiply(r, network.addConstant([6, 3], W2, { name: 'w2' })).output();
  network.markOutput(network.addSoftmax(z, { axis: -1 }).output(), 'y');
  try {
    return await builder.build(network, builder.createConfig({ profiles: [{ x: { min: [1, 4], opt: [2, 4], max: [8, 4] } }] }));
  } finally {
    network.dispose();
  }
}

function reference(x: Float32Array, rows: number): Float32Array {
  const out = new Float32Array(rows * 3);
  for (let i = 0; i < rows; i++) {
    const r = Array.from({ length: 6 }, (_, j) => Math.max(0, B1[j]! + [0, 1, 2, 3].reduce((s, k) => s + x[i * 4 + k]! * W1[k * 6 + j]!, 0)));
    const z = [0, 1, 2].map((c) => r.reduce((s, v, j) => s + v * W2[j * 3 + c]!, 0));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const sum = e.reduce((a, b) => a + b, 0);
    e.forEach((v, c) => (out[i * 3 + c] = v / sum));
  }
  return out;
}

async function run(engine: Engine, x: Float32Array, rows: number): Promise<Float32Array> {
  const ctx = engine.createContext();
  try {
    return (await ctx.infer({ x: tensor(x, [rows, 4]) })).y!.data as Float32Array;
  } finally {
    ctx.dispose();
  }
}

const hex = (words: bigint[]): string => words.map((w) => w.toString(16).padStart(16, '0')).join('');

function record(layer: number, overrides: Partial<NativeLayerTactic> = {}): NativeLayerTactic {
  return {
    layer,
    gemmKey: `a=f32,d=f32,tf32=1,tA=0,tB=0,m=2,n=${layer},k=4,lda=4,ldb=6,ldd=6,batch=1,sA=0,sB=0,sD=0,epi=relu_bias,al=256.256.256.256`,
    // Every byte position distinct, the top bit of a word set, so a byte-order or width slip shows.
    algo: hex(Array.from({ length: 8 }, (_, w) => 0x8000000000000000n | (BigInt(layer) << 40n) | BigInt(w * 0x01010101))),
    cublasLtVersion: 120805,
    timeMs: 0.1 + 0.2 + layer,
    description: `algo ${layer}, tile 128x256, stages 64x3, split-K 1, reduction 0, swizzle 1, custom 0 — über`,
    ...overrides,
  };
}

/** The plan with its TCTC payload bytes edited in place (then resealed, so only the parser can object). */
function editTactics(plan: Uint8Array, edit: (payload: DataView, at: number) => void): Uint8Array {
  const out = plan.slice();
  const s = sections(out).find((x) => x.tag === 'TCTC')!;
  edit(new DataView(out.buffer, out.byteOffset + s.at + 16, s.length), s.at + 16);
  return reseal(out);
}

describe('plans with tactic records', () => {
  it('the writer writes no section without tactics and round-trips records exactly', async () => {
    const plan = await buildPlan();
    const engine = await Runtime.load(plan);
    const matmuls = engine.layers.flatMap((l, i) => (l.kind === 'MatMul' ? [i] : []));
    expect(matmuls).toHaveLength(2);
    expect(engine.layers.every((l) => l.tactic === undefined)).toBe(true);
    expect(sections(plan.bytes).map((s) => s.tag)).not.toContain('TCTC');
    expect(addon.testing.planTactics(plan.bytes)).toEqual([]);
    // Re-writing the plan with no tactics reproduces it byte for byte: the section is optional.
    expect(Buffer.from(addon.testing.withPlanTactics(plan.bytes, [])).equals(Buffer.from(plan.bytes))).toBe(true);

    const records = matmuls.map((l) => record(l));
    const withTactics = addon.testing.withPlanTactics(plan.bytes, records);
    expect(sections(withTactics).map((s) => s.tag).at(-1)).toBe('TCTC');
    expect(addon.testing.planTactics(withTactics)).toEqual(records);
    // Records survive a second trip through the reader and writer unchanged.
    expect(Buffer.from(addon.testing.withPlanTactics(withTactics, records)).equals(Buffer.from(withTactics))).toBe(true);
    engine.dispose();
  });

  it('a CPU engine shows them in engine.layers and inspect, and runs as without them', async () => {
    const plan = await buildPlan();
    const plain = await Runtime.load(plan);
    const matmuls = plain.layers.flatMap((l, i) => (l.kind === 'MatMul' ? [i] : []));
    const records = matmuls.map((l) => record(l));
    const engine = await Runtime.load(addon.testing.withPlanTactics(plan.bytes, records));
    expect(engine.layers.map((l) => l.tactic)).toEqual(plain.layers.map((_, i) => records.find((r) => r.layer === i)?.description));

    const report = inspectEngine('mlp.plan', engine);
    expect(report.layers.filter((l) => l.tactic).map((l) => l.tactic)).toEqual(records.map((r) => r.description));
    const text = formatReport(report);
    const head = text.find((l) => l.trimStart().startsWith('#'))!;
    expect(head).toMatch(/precision\s+tactic\s+inputs -> outputs/);
    for (const r of records) expect(text.some((l) => l.includes(plain.layers[r.layer]!.name) && l.includes(r.description))).toBe(true);
    expect(formatReport(inspectEngine('mlp.plan', plain)).join('\n')).not.toMatch(/tactic/);

    const x = randomFloats(5 * 4, 21);
    const expected = reference(x, 5);
    const [a, b] = [await run(plain, x, 5), await run(engine, x, 5)];
    expect(Array.from(b)).toEqual(Array.from(a));
    a.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(1e-5));
    plain.dispose();
    engine.dispose();
  });

  it('rejects records the writer should never have written, with BAD_PLAN saying which', async () => {
    const plan = (await buildPlan()).bytes;
    const engine = await Runtime.load(plan);
    const layers = engine.layers;
    const matmul = layers.findIndex((l) => l.kind === 'MatMul');
    const softmax = layers.findIndex((l) => l.kind === 'Softmax');
    engine.dispose();
    const write = (records: NativeLayerTactic[]): Uint8Array => addon.testing.withPlanTactics(plan, records);

    expect(await planLoadError(write([record(999)]))).toMatch(new RegExp(`^corrupt section 'TCTC' at offset \\d+: a tactic for layer 999, the plan has ${layers.length} layers$`));
    expect(await planLoadError(write([record(softmax)]))).toMatch(new RegExp(`a GEMM tactic for layer '${layers[softmax]!.name}', a Softmax layer$`));
    expect(await planLoadError(write([record(matmul), record(matmul)]))).toMatch(/tactics out of order or twice for layer '.*'/);
    expect(await planLoadError(write([record(matmul, { gemmKey: '' })]))).toMatch(/has an empty GEMM key$/);
    // The testing hook refuses a NaN time, so write one over a valid record: u32 count, u32 layer, str key, 8 words, u64 version, f64 ms.
    const nan = editTactics(write([record(matmul)]), (p) => p.setFloat64(8 + p.getUint32(8, true) + 4 + 64 + 8, NaN, true));
    expect(await planLoadError(nan)).toMatch(/the tactic of layer '.*' has time nan ms$/);
    // The same checks guard the testing reader.
    expect(() => addon.testing.planTactics(write([record(999)]))).toThrow(/a tactic for layer 999/);
  });

  it('takes a tactic on a FullyConnected plugin layer (a GEMM) and rejects one on another plugin', async () => {
    const builder = new Builder({ backend: 'cpu' });
    const network = builder.createNetwork();
    const x = network.addInput('x', 'float32', [2, 4]);
    const fc = network.addPlugin('FullyConnected', [x, network.addConstant([4, 6], W1)], { activation: 'relu' }, { name: 'fc' }).output();
    network.markOutput(network.addPlugin('SkipLayerNorm', [fc, fc, network.addConstant([6], B1)], {}, { name: 'ln' }).output(), 'y');
    const plan = (await builder.build(network, builder.createConfig())).bytes;
    network.dispose();
    const write = (records: NativeLayerTactic[]): Uint8Array => addon.testing.withPlanTactics(plan, records);
    const engine = await Runtime.load(write([record(0)]));
    expect(engine.layers.map((l) => [l.plugin?.name, l.tactic !== undefined])).toEqual([['FullyConnected', true], ['SkipLayerNorm', false]]);
    engine.dispose();
    expect(await planLoadError(write([record(1)]))).toMatch(/a GEMM tactic for layer 'ln', a Plugin layer$/);
  });

  it('rejects truncated, oversized, duplicated and newer tactic sections', async () => {
    const plan = (await buildPlan()).bytes;
    const engine = await Runtime.load(plan);
    const matmul = engine.layers.findIndex((l) => l.kind === 'MatMul');
    engine.dispose();
    const good = addon.testing.withPlanTactics(plan, [record(matmul)]);
    const tctc = sections(good).find((s) => s.tag === 'TCTC')!;

    // The section cut short by 10 bytes (its length and the body resealed to match).
    const cut = new Uint8Array(good.length - 10);
    cut.set(good.subarray(0, tctc.at + 16 + tctc.length - 10));
    new DataView(cut.buffer).setBigUint64(tctc.at + 8, BigInt(tctc.length - 10), true);
    expect(await planLoadError(reseal(cut))).toMatch(/^truncated in section 'TCTC' at offset \d+: needs \d+ more bytes, \d+ left$/);

    const many = editTactics(good, (p) => p.setUint32(0, 1000, true));
    expect(await planLoadError(many)).toMatch(/^truncated in section 'TCTC' at offset \d+: 1000 tactics need at least 92000 bytes/);

    const longKey = editTactics(good, (p) => p.setUint32(8, 0xffffff, true));
    expect(await planLoadError(longKey)).toMatch(/^truncated in section 'TCTC'/);

    const extra = editTactics(good, (p) => p.setUint32(0, 0, true)); // one record's bytes left over
    expect(await planLoadError(extra)).toMatch(/^corrupt section 'TCTC': \d+ unexpected bytes at offset \d+$/);

    const newer = good.slice();
    new DataView(newer.buffer).setUint32(tctc.at + 4, 2, true);
    expect(await planLoadError(reseal(newer))).toBe("section 'TCTC' version 2 is newer than this library supports (1)");

    const twice = new Uint8Array(good.length + 16 + tctc.length);
    twice.set(good);
    twice.set(good.subarray(tctc.at, tctc.at + 16 + tctc.length), good.length);
    expect(await planLoadError(reseal(twice))).toBe("plan has two 'TCTC' sections");
  });
});
