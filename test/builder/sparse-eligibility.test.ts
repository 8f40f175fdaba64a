// sparseWeights builds on the CPU: which MatMul / Convolution layers' constant weights are 2:4 along their
// reduction dimension (native/builder/sparse_eligibility.cc, sparse_report.cc), as engine.layers[i].sparsity, the
// build log and inspect show it; that the flag never changes a weight or an output; and the plan's 'SPRS' section.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { floatToHalfBits, type EngineLayer, type NetworkDefinition } from '../../lib/index.js';
import { formatReport, inspectEngine } from '../../lib/cli/commands/inspect.js';
import { sections } from '../fuzz/plan-bytes.js';
import { cli, tempDir } from '../cli/helpers.js';
import { buildAndRun, nonZero, numel, twoFour, violations } from './sparse-helpers.js';

const X = nonZero(2 * 16, 1);
const Y = nonZero(16 * 4, 2);

// MatMul weights, each [rows, cols] row-major.
const W_K = twoFour([16, 8], 0, 3);       // fc_k: 2:4 along K (transB 0)
const W_T = twoFour([12, 8], 1, 4);       // fc_t: [N, K] with transB 1: 2:4 along K, its axis 1
const W_OUT = twoFour([12, 8], 1, 5);     // fc_out: [K, N] 2:4 along N only
const W_ALMOST = twoFour([8, 6], 0, 6);   // fc_almost: 2:4 along K but for one group
W_ALMOST[[0, 1, 2, 3].find((r) => W_ALMOST[r * 6 + 1] === 0)! * 6 + 1] = 0.25; // a third non-zero in column 1's first group
const W_ODD = nonZero(6 * 4, 7);          // fc_odd: K = 6

/**
 * x [2, 16] -> fc_k -> relu -> fc_t -> relu -> fc_out -> relu -> fc_almost -> relu -> fc_odd -> softmax -> y,
 * and g = x · yIn (a MatMul whose B is an input: no record).
 */
function defineMlp(n: NetworkDefinition): void {
  const x = n.addInput('x', 'float32', [2, 16]);
  const relu = (t: ReturnType<typeof n.addInput>) => n.addActivation(t, 'relu').output();
  let h = relu(n.addMatrixMultiply(x, n.addConstant([16, 8], W_K), { name: 'fc_k' }).output());
  h = relu(n.addMatrixMultiply(h, n.addConstant([12, 8], W_T), { name: 'fc_t', transposeB: true }).output());
  h = relu(n.addMatrixMultiply(h, n.addConstant([12, 8], W_OUT), { name: 'fc_out' }).output());
  h = relu(n.addMatrixMultiply(h, n.addConstant([8, 6], W_ALMOST), { name: 'fc_almost' }).output());
  h = n.addMatrixMultiply(h, n.addConstant([6, 4], W_ODD), { name: 'fc_odd' }).output();
  n.markOutput(n.addSoftmax(h, { axis: -1, name: 'probs' }).output(), 'y');
  n.markOutput(n.addMatrixMultiply(x, n.addInput('yIn', 'float32', [16, 4]), { name: 'fc_input' }).output(), 'g');
}
const mlpFeeds = { x: [X, [2, 16]], yIn: [Y, [16, 4]] } as Record<string, [Float32Array, number[]]>;

const byName = (layers: EngineLayer[]) => Object.fromEntries(layers.map((l) => [l.name, l]));
const cpuNote = 'the cpu backend has no sparse kernels';

describe('the crafted weights (the oracle of the tests below)', () => {
  it('are 2:4 along the axes they are meant to be, and not along the others', () => {
    expect(violations(W_K, [16, 8], 0).bad).toBe(0);
    expect(violations(W_T, [12, 8], 1).bad).toBe(0);
    expect(violations(W_OUT, [12, 8], 1).bad).toBe(0);
    expect(violations(W_OUT, [12, 8], 0).bad).toBeGreaterThan(0);
    expect(violations(W_ALMOST, [8, 6], 0)).toEqual({ bad: 1, groups: 12 });
    expect(violations(W_K, [16, 8], 0).groups).toBe(32);
    // -0 is among the zeros and counts as one.
    expect(Array.from(W_K).some((v) => Object.is(v, -0))).toBe(true);
    expect(Array.from(W_K).filter((v) => v === 0).length).toBe(numel([16, 8]) / 2);
  });
});

describe('sparseWeights on MatMul layers', () => {
  it('records each MatMul with a constant weight: eligible when 2:4 along K, else a note saying why', async () => {
    const { engine, plan, out } = await buildAndRun(defineMlp, mlpFeeds, { sparseWeights: true });
    const layers = byName(engine.layers);
    expect(layers.fc_k!.sparsity).toEqual({ eligible: true, sparse: false, note: cpuNote });
    expect(layers.fc_t!.sparsity).toEqual({ eligible: true, sparse: false, note: cpuNote });
    expect(layers.fc_out!.sparsity).toEqual({ eligible: false, sparse: false, note: '2:4 along the output dimension, not the reduction dimension' });
    expect(layers.fc_almost!.sparsity).toEqual({ eligible: false, sparse: false, note: 'not 2:4: 1 of 12 groups of four have 3 or 4 non-zeros' });
    expect(layers.fc_odd!.sparsity).toEqual({ eligible: false, sparse: false, note: 'reduction length 6 is not a multiple of 4' });
    // A MatMul whose B is a network input, and layers of other kinds, have no record.
    expect(layers.fc_input!.kind).toBe('MatMul');
    expect(layers.fc_input!.sparsity).toBeUndefined();
    expect(engine.layers.filter((l) => l.kind !== 'MatMul').every((l) => l.sparsity === undefined)).toBe(true);
    expect(engine.layers.filter((l) => l.sparsity).length).toBe(5);

    const log = plan.buildLog.filter((l) => l.startsWith('sparse weights:'));
    expect(log).toEqual([
      'sparse weights: 2 of 5 MatMul/Convolution layers with constant weights are 2:4 along their reduction dimension (fc_k, fc_t); the cpu backend has no sparse kernels: they stay dense',
      'sparse weights: fc_out stays dense: 2:4 along the output dimension, not the reduction dimension',
      'sparse weights: fc_almost stays dense: not 2:4: 1 of 12 groups of four have 3 or 4 non-zeros',
      'sparse weights: fc_odd stays dense: reduction length 6 is not a multiple of 4',
    ]);
    expect(sections(plan.bytes).map((s) => s.tag)).toContain('SPRS');

    // The flag changes no weight and no output: bit-identical to a build without it.
    const plain = await buildAndRun(defineMlp, mlpFeeds);
    for (const name of ['y', 'g']) expect(Buffer.from(out[name]!.buffer).equals(Buffer.from(plain.out[name]!.buffer))).toBe(true);
    expect(plain.engine.info.weightBytes).toBe(engine.info.weightBytes);
    engine.dispose();
    plain.engine.dispose();
  });

  it('without sparseWeights: no records, no log lines, no section', async () => {
    const { engine, plan } = await buildAndRun(defineMlp, mlpFeeds, { sparseWeights: false });
    expect(engine.layers.every((l) => !('sparsity' in l))).toBe(true);
    expect(plan.buildLog.some((l) => l.includes('sparse'))).toBe(false);
    expect(sections(plan.bytes).map((s) => s.tag)).not.toContain('SPRS');
    expect(formatReport(inspectEngine('mlp.plan', engine)).join('\n')).not.toMatch(/sparse|sparsity/);
    engine.dispose();
  });

  it('one log line per ineligible layer for the first five, then a count', async () => {
    const define = (n: NetworkDefinition) => {
      let h = n.addInput('x', 'float32', [1, 4]);
      for (let i = 0; i < 8; i++) h = n.addMatrixMultiply(h, n.addConstant([4, 4], i === 3 ? twoFour([4, 4], 0, i) : nonZero(16, 30 + i)), { name: `m${i}` }).output();
      n.markOutput(h, 'y');
    };
    const { engine, plan } = await buildAndRun(define, { x: [nonZero(4, 9), [1, 4]] }, { sparseWeights: true });
    const log = plan.buildLog.filter((l) => l.startsWith('sparse weights:'));
    expect(log[0]).toBe('sparse weights: 1 of 8 MatMul/Convolution layers with constant weights is 2:4 along their reduction dimension (m3); the cpu backend has no sparse kernels: it stays dense');
    expect(log.slice(1, 6)).toEqual(['m0', 'm1', 'm2', 'm4', 'm5'].map((m) => `sparse weights: ${m} stays dense: not 2:4: 4 of 4 groups of four have 3 or 4 non-zeros`));
    expect(log.slice(6)).toEqual(['sparse weights: and 2 more layers stay dense (inferrt inspect lists them)']);
    // inspect lists them all.
    expect(engine.layers.filter((l) => l.sparsity && !l.sparsity.eligible).map((l) => l.name)).toEqual(['m0', 'm1', 'm2', 'm4', 'm5', 'm6', 'm7']);
    engine.dispose();
  });

  it('float16 weights: +0 and -0 are zeros, the smallest subnormal is not', async () => {
    const half = (w: Float32Array) => Uint16Array.from(w, (v) => floatToHalfBits(v));
    const good = half(twoFour([8, 4], 0, 11));
    expect(good.some((b) => b === 0x8000) && good.some((b) => b === 0)).toBe(true);
    const subnormal = half(twoFour([4, 4], 0, 12));
    subnormal[subnormal.findIndex((b) => (b & 0x7fff) === 0)] = 0x0001;
    expect(violations(subnormal, [4, 4], 0, (b) => (b & 0x7fff) === 0)).toEqual({ bad: 1, groups: 4 });
    const define = (n: NetworkDefinition) => {
      const x = n.addInput('x', 'float16', [2, 8]);
      const h = n.addMatrixMultiply(x, n.addConstant([8, 4], good), { name: 'h_good' }).output();
      n.markOutput(n.addMatrixMultiply(h, n.addConstant([4, 4], subnormal), { name: 'h_subnormal' }).output(), 'y');
    };
    const feeds = { x: [Uint16Array.from(nonZero(16, 13), (v) => floatToHalfBits(v)), [2, 8]] } as Record<string, [Uint16Array, number[]]>;
    const { engine, out } = await buildAndRun(define, feeds, { sparseWeights: true, precision: ['fp16'] });
    const layers = byName(engine.layers);
    expect(layers.h_good!.sparsity).toEqual({ eligible: true, sparse: false, note: cpuNote });
    expect(layers.h_subnormal!.sparsity).toEqual({ eligible: false, sparse: false, note: 'not 2:4: 1 of 4 groups of four have 3 or 4 non-zeros' });
    const plain = await buildAndRun(define, feeds, { precision: ['fp16'] });
    expect(Array.from(out.y!)).toEqual(Array.from(plain.out.y!));
    engine.dispose();
    plain.engine.dispose();
  });
});

// Convolution weights [M, C/group, kH, kW].
const W_CONV_C = twoFour([8, 8, 3, 3], 1, 21);  // conv_c: 2:4 along the input channels
const W_CONV_M = twoFour([8, 8, 3, 3], 0, 22);  // conv_m: 2:4 along the output channels only
const W_CONV_DENSE = nonZero(8 * 8, 23);          // conv_dense: [8, 8, 1, 1], no zeros
const W_CONV_GROUPED = nonZero(8 * 2 * 9, 24);    // conv_grouped: group 4, C/group = 2

// x [1, 8, 6, 6] -> conv_c -> relu -> conv_m -> relu -> conv_dense -> conv_grouped -> y
function defineConvs(n: NetworkDefinition): void {
  const x = n.addInput('x', 'float32', [1, 8, 6, 6]);
  const same = { kernelShape: [3, 3], pads: [1, 1, 1, 1] };
  // The conv + relu fusion names each fused layer after its relu.
  let h = n.addActivation(n.addConvolution(x, n.addConstant([8, 8, 3, 3], W_CONV_C), null, same).output(), 'relu', { name: 'conv_c' }).output();
  h = n.addActivation(n.addConvolution(h, n.addConstant([8, 8, 3, 3], W_CONV_M), null, same).output(), 'relu', { name: 'conv_m' }).output();
  h = n.addConvolution(h, n.addConstant([8, 8, 1, 1], W_CONV_DENSE), null, { kernelShape: [1, 1], name: 'conv_dense' }).output();
  n.markOutput(n.addConvolution(h, n.addConstant([8, 2, 3, 3], W_CONV_GROUPED), null, { ...same, group: 4, name: 'conv_grouped' }).output(), 'y');
}
const convFeeds = { x: [nonZero(8 * 36, 25), [1, 8, 6, 6]] } as Record<string, [Float32Array, number[]]>;

describe('sparseWeights on Convolution layers', () => {
  it('NCHW and channels-last (NHWC) weights: 2:4 along the input channels at every output channel and kernel position', async () => {
    expect(violations(W_CONV_C, [8, 8, 3, 3], 1).bad).toBe(0);
    expect(violations(W_CONV_M, [8, 8, 3, 3], 1).bad).toBeGreaterThan(0);
    const plain = await buildAndRun(defineConvs, convFeeds);
    for (const channelsLast of [false, true]) {
      const { engine, plan, out } = await buildAndRun(defineConvs, convFeeds, { sparseWeights: true, channelsLast });
      const layers = byName(engine.layers);
      // The channels-last pass converts the three convolutions with C/group and M a multiple of 8.
      expect(['conv_c', 'conv_m', 'conv_dense', 'conv_grouped'].map((c) => layers[c]!.channelsLast === true)).toEqual([channelsLast, channelsLast, channelsLast, false]);
      expect(layers.conv_c!.sparsity).toEqual({ eligible: true, sparse: false, note: cpuNote });
      expect(layers.conv_m!.sparsity).toEqual({ eligible: false, sparse: false, note: '2:4 along the output channels, not the input channels' });
      expect(layers.conv_dense!.sparsity).toEqual({ eligible: false, sparse: false, note: 'not 2:4: 16 of 16 groups of four have 3 or 4 non-zeros' });
      expect(layers.conv_grouped!.sparsity).toEqual({ eligible: false, sparse: false, note: 'reduction length 2 is not a multiple of 4' });
      expect(plan.buildLog.find((l) => l.startsWith('sparse weights: 1 of 4'))).toBe(
        'sparse weights: 1 of 4 MatMul/Convolution layers with constant weights is 2:4 along their reduction dimension (conv_c); the cpu backend has no sparse kernels: it stays dense',
      );
      // Unchanged outputs (the channels-last engine is bit-identical to the NCHW one on the CPU too).
      expect(Buffer.from(out.y!.buffer).equals(Buffer.from(plain.out.y!.buffer))).toBe(true);
      engine.dispose();
    }
    plain.engine.dispose();
  });

  it('a network without constant MatMul / Convolution weights says so in one line', async () => {
    const define = (n: NetworkDefinition) => {
      const a = n.addInput('a', 'float32', [2, 4]);
      n.markOutput(n.addMatrixMultiply(a, n.addInput('b', 'float32', [4, 4])).output(), 'y');
    };
    const { engine, plan } = await buildAndRun(define, { a: [nonZero(8, 1), [2, 4]], b: [nonZero(16, 2), [4, 4]] }, { sparseWeights: true });
    expect(plan.buildLog.filter((l) => l.startsWith('sparse weights:'))).toEqual([
      'sparse weights: no MatMul/Convolution layer has constant float weights; nothing can run sparse',
    ]);
    expect(engine.layers.every((l) => l.sparsity === undefined)).toBe(true);
    expect(sections(plan.bytes).map((s) => s.tag)).not.toContain('SPRS');
    engine.dispose();
  });
});

describe('inspect', () => {
  it('shows a sparsity column and a summary line for a sparseWeights plan, and the records in --json', async () => {
    const { engine } = await buildAndRun(defineMlp, mlpFeeds, { sparseWeights: true });
    const report = inspectEngine('mlp.plan', engine);
    expect(report.layers.map((l) => l.sparsity)).toEqual(engine.layers.map((l) => l.sparsity));
    const text = formatReport(report);
    expect(text).toContain('  sparse weights: 2 eligible, 0 sparse (of 5 MatMul/Convolution layers with constant weights)');
    expect(text.find((l) => l.trimStart().startsWith('#'))).toMatch(/precision\s+sparsity\s+inputs -> outputs/);
    const row = (name: string) => text.find((l) => l.includes(` ${name} `))!;
    expect(row('fc_k')).toContain(`2:4 eligible, dense: ${cpuNote}`);
    expect(row('fc_almost')).toContain('dense: not 2:4: 1 of 12 groups of four have 3 or 4 non-zeros');
    expect(row('fc_odd')).toContain('dense: reduction length 6 is not a multiple of 4');
    engine.dispose();
  });

  it('inferrt inspect prints them from a plan file, as text and as JSON', async () => {
    const { plan, engine } = await buildAndRun(defineMlp, mlpFeeds, { sparseWeights: true });
    const expected = engine.layers.map((l) => l.sparsity);
    engine.dispose();
    const { dir, cleanup } = await tempDir();
    try {
      const file = path.join(dir, 'mlp.plan');
      await plan.save(file);
      const json = await cli(['inspect', file, '--json']);
      expect(json.code).toBe(0);
      const report = JSON.parse(json.stdout) as { layers: Array<{ sparsity?: unknown }> };
      expect(report.layers.map((l) => l.sparsity)).toEqual(expected);
      const text = await cli(['inspect', file]);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain('sparse weights: 2 eligible, 0 sparse (of 5 MatMul/Convolution layers with constant weights)');
      expect(text.stdout).toMatch(/fc_almost .*dense: not 2:4: 1 of 12 groups of four have 3 or 4 non-zeros/);
    } finally {
      await cleanup();
    }
  });
});
