/**
 * The builder's common-subexpression elimination (native/builder/common_subexpressions.cc): a layer of the same
 * kind, attributes and inputs as an earlier one (inputs: one tensor, or small constants with equal values) goes,
 * its readers reading the earlier one's outputs. What must stay: layers whose constants differ in value, whose
 * attributes differ, and a duplicate that writes a network output. Outputs are checked against plain JS math, the
 * SDPA BERT export (a Where per encoder layer making its mask) against onnxruntime.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Builder, OnnxParser, Runtime, tensor, type NetworkDefinition } from '../../lib/index.js';
import { expectClose, randomFloats } from '../api/helpers.js';
import { runNetwork } from './network-engine.js';

const [R, C] = [3, 8];
const x = randomFloats(R * C, 7);
const MERGED = /^common subexpressions: (\d+) layers? merged into earlier identical ones$/;

function mergedCount(log: readonly string[]): number {
  const line = log.find((l) => MERGED.test(l));
  return line ? Number(MERGED.exec(line)![1]) : 0;
}

/** y_i = Where(x > 0, a_i, b_i) + x for two branches whose scalar constants are added separately. */
function defineWheres(values: { a: [number, number]; b: [number, number] }, secondIsOutput = false) {
  return (n: NetworkDefinition): void => {
    const input = n.addInput('x', 'float32', [R, C]);
    const positive = n.addElementWise(input, n.addConstant([], new Float32Array([0])), 'greater').output();
    for (const i of [0, 1] as const) {
      const where = n.addWhere(positive, n.addConstant([], new Float32Array([values.a[i]])), n.addConstant([], new Float32Array([values.b[i]])));
      if (i === 1 && secondIsOutput) n.markOutput(where.output(), 'w1');
      n.markOutput(n.addElementWise(where.output(), input, 'add').output(), `y${i}`);
    }
  };
}

function whereReference(a: number, b: number): Float32Array {
  return x.map((v) => (v > 0 ? a : b) + v);
}

async function run(define: (n: NetworkDefinition) => void) {
  const { plan, engine, out } = await runNetwork(define, { x: [x, [R, C]] });
  const kinds = engine.layers.map((l) => l.kind);
  engine.dispose();
  return { kinds, log: plan.buildLog, out };
}

describe('common-subexpression elimination', () => {
  it('merges a layer whose inputs are the same tensor and equal constants', async () => {
    const r = await run(defineWheres({ a: [1, 1], b: [-2, -2] }));
    expect(mergedCount(r.log)).toBe(1);
    expect(r.kinds.filter((k) => k === 'Where')).toHaveLength(1);
    for (const name of ['y0', 'y1']) expectClose(r.out[name]!.data as Float32Array, whereReference(1, -2), 0);
  });

  it('keeps layers whose constants differ in value', async () => {
    const r = await run(defineWheres({ a: [1, 1], b: [-2, -3] }));
    expect(r.kinds.filter((k) => k === 'Where')).toHaveLength(2);
    expectClose(r.out.y0!.data as Float32Array, whereReference(1, -2), 0);
    expectClose(r.out.y1!.data as Float32Array, whereReference(1, -3), 0);
  });

  it('keeps a duplicate that writes a network output, and layers whose attributes differ', async () => {
    const kept = await run(defineWheres({ a: [1, 1], b: [-2, -2] }, true));
    expect(kept.kinds.filter((k) => k === 'Where')).toHaveLength(2);
    expectClose(kept.out.w1!.data as Float32Array, x.map((v) => (v > 0 ? 1 : -2)), 0);
    // Two Transposes of one cube with the same output dims, apart only in their perm attribute.
    const cube = randomFloats(R * R * R, 9);
    const perms = await runNetwork((n) => {
      const input = n.addInput('x', 'float32', [R, R, R]);
      n.markOutput(n.addElementWise(n.addTranspose(input, [1, 0, 2]).output(), n.addTranspose(input, [2, 1, 0]).output(), 'add').output(), 'y');
    }, { x: [cube, [R, R, R]] });
    const kinds = perms.engine.layers.map((l) => l.kind);
    perms.engine.dispose();
    expect(mergedCount(perms.plan.buildLog)).toBe(0);
    expect(kinds.filter((k) => k === 'Transpose')).toHaveLength(2);
    const at = (i: number, j: number, k: number): number => cube[(i * R + j) * R + k]!;
    const want = new Float32Array(R * R * R);
    for (let i = 0; i < R; i++) for (let j = 0; j < R; j++) for (let k = 0; k < R; k++) want[(i * R + j) * R + k] = at(j, i, k) + at(k, j, i);
    expectClose(perms.out.y!.data as Float32Array, want, 0);
  });

  it('keeps twins whose requested layer precisions differ', async () => {
    const define = (pinned: boolean) => (n: NetworkDefinition): void => {
      const input = n.addInput('x', 'float32', [R, C]);
      const [a, b] = [n.addTranspose(input, [1, 0]), n.addTranspose(input, [1, 0])];
      if (pinned) b.setPrecision('fp32');
      n.markOutput(n.addElementWise(a.output(), b.output(), 'add').output(), 'y');
    };
    for (const pinned of [false, true]) {
      const r = await runNetwork(define(pinned), { x: [x, [R, C]] }, { config: { precision: ['fp16'] } });
      const kinds = r.engine.layers.map((l) => l.kind);
      r.engine.dispose();
      expect(mergedCount(r.plan.buildLog), `pinned ${pinned}`).toBe(pinned ? 0 : 1);
      expect(kinds.filter((k) => k === 'Transpose'), `pinned ${pinned}`).toHaveLength(pinned ? 2 : 1);
      const twice = new Float32Array(R * C);
      for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) twice[j * R + i] = 2 * x[i * C + j]!;
      expectClose(r.out.y!.data as Float32Array, twice, 2e-3);
    }
  });

  it('merges shape computations over dynamic dims and gives the right values at other row counts', async () => {
    const define = (n: NetworkDefinition): void => {
      const input = n.addInput('x', 'float32', [-1, C]);
      const fill = n.addConstant([1], new Float32Array([3]));
      const [a, b] = [0, 1].map(() => n.addConstantOfShape(n.addShape(input).output(), fill).output());
      n.markOutput(n.addElementWise(n.addElementWise(a!, b!, 'add').output(), input, 'mul').output(), 'y');
    };
    for (const rows of [2, 5]) {
      const input = randomFloats(rows * C, 40 + rows);
      const builder = new Builder({ backend: 'cpu' });
      using network = builder.createNetwork();
      define(network);
      const plan = await builder.build(network, builder.createConfig({ profiles: [{ x: { min: [1, C], opt: [3, C], max: [8, C] } }] }));
      expect(mergedCount(plan.buildLog), `rows ${rows}`).toBeGreaterThan(0);
      using engine = await Runtime.load(plan);
      using ctx = engine.createContext();
      const out = await ctx.infer({ x: tensor(input, [rows, C]) });
      expectClose(out.y!.data as Float32Array, input.map((v) => 6 * v), 0);
    }
  });

  it('makes the SDPA BERT export\'s attention mask once, and its outputs still match onnxruntime', async () => {
    const file = path.join(import.meta.dirname, '../fixtures/models/bert_sdpa_torchscript_op17.onnx');
    const builder = new Builder({ backend: 'cpu' });
    using network = builder.createNetwork();
    const parsed = await OnnxParser.parseFile(network, file);
    const [B, S] = [2, 7];
    const range = { min: [B, S], opt: [B, S], max: [B, S] };
    const plan = await builder.build(network, builder.createConfig({ profiles: [Object.fromEntries(parsed.inputs.map((n) => [n, range]))] }));
    expect(mergedCount(plan.buildLog)).toBeGreaterThan(0);
    using engine = await Runtime.load(plan);
    const attention = engine.layers.filter((l) => l.kind === 'Attention');
    expect(attention).toHaveLength(2);
    // Both read one mask (their fourth input), made by one Where.
    expect(new Set(attention.map((l) => l.inputs[3])).size).toBe(1);
    const ids = BigInt64Array.from({ length: B * S }, (_, i) => BigInt((i * 37) % 90));
    const mask = BigInt64Array.from({ length: B * S }, (_, i) => (i % S < S - 2 * (i < S ? 1 : 0) ? 1n : 0n));
    const types = new BigInt64Array(B * S);
    const feeds = { input_ids: ids, attention_mask: mask, token_type_ids: types };
    using ctx = engine.createContext();
    const ours = await ctx.infer(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, tensor(v, [B, S])])));
    const session = await ort.InferenceSession.create(readFileSync(file));
    const theirs = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('int64', v, [B, S])])));
    for (const name of session.outputNames) expectClose(ours[name]!.data as Float32Array, theirs[name]!.data as Float32Array, 1e-4);
  });
});
