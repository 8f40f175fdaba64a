/**
 * sparseWeights in INT8 builds on the CPU: the INT8 pass's QuantizedMatMul layers (int8 weights stored [N, K]) are
 * checked for the 2:4 pattern along K like float MatMuls (native/builder/sparse_eligibility.cc). A model pruned with
 * `pruneModel` (`inferrt prune`) stays 2:4 after quantization (zeros stay zero), so its INT8 MatMuls are eligible;
 * a weight left unpruned gets a note counting its bad groups of the quantized weight, computed here from the INT8
 * reference (int8-reference.ts). Int8 zeros are the value 0 only: -128 (the sign bit alone) is a non-zero.
 */
import { describe, expect, it } from 'vitest';
import {
  Builder, MinMaxCalibrator, Runtime, pruneModel, tensor, type BuilderConfigOptions, type EngineLayer, type NetworkDefinition,
} from '../../lib/index.js';
import { OnnxParser } from '../../lib/onnx/index.js';
import { model, node, T, tensor as onnxTensor, valueInfo } from '../onnx/helpers.js';
import { seededUniform } from '../seeded-uniform.js';
import { violations } from '../builder/sparse-helpers.js';
import { quantize, weightScales } from './int8-reference.js';

function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const next = seededUniform(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * next());
}

const ROWS = 4;
const W1 = uniform(16 * 32, 1);  // fc1: MatMul [K 16, N 32], pruned
const G2 = uniform(24 * 32, 2);  // fc2: Gemm transB = 1, [N 24, K 32], pruned along K (axis 1)
const W3 = uniform(24 * 8, 3);   // fc3: MatMul [K 24, N 8], not pruned
const W4 = uniform(8 * 4, 4);    // fc4: MatMul [K 8, N 4], pruned
const W5 = uniform(4 * 6, 5);    // fc5: MatMul [K 4, N 6], pruned
const W6 = uniform(6 * 3, 6);    // fc6: MatMul [K 6, N 3]: K not a multiple of 4

/** x [rows, 16] -> fc1 + b1 -> relu -> fc2 (Gemm) -> relu -> fc3 -> fc4 -> fc5 -> relu -> fc6 -> y. */
function mlp(): Uint8Array {
  return model({
    opset: 17,
    inputs: [valueInfo('x', T.FLOAT, ['rows', 16])],
    outputs: [valueInfo('y', T.FLOAT, ['rows', 3])],
    initializers: [
      onnxTensor('W1', T.FLOAT, [16, 32], W1),
      onnxTensor('b1', T.FLOAT, [32], uniform(32, 11, -0.2, 0.2)),
      onnxTensor('G2', T.FLOAT, [24, 32], G2),
      onnxTensor('c2', T.FLOAT, [24], uniform(24, 12, -0.2, 0.2)),
      onnxTensor('W3', T.FLOAT, [24, 8], W3),
      onnxTensor('W4', T.FLOAT, [8, 4], W4),
      onnxTensor('W5', T.FLOAT, [4, 6], W5),
      onnxTensor('W6', T.FLOAT, [6, 3], W6),
    ],
    nodes: [
      node('MatMul', ['x', 'W1'], ['h1a'], {}, 'fc1'),
      node('Add', ['h1a', 'b1'], ['h1b'], {}, 'fc1_bias'),
      node('Relu', ['h1b'], ['h1'], {}, 'fc1_relu'),
      node('Gemm', ['h1', 'G2', 'c2'], ['h2a'], { transB: 1 }, 'fc2'),
      node('Relu', ['h2a'], ['h2'], {}, 'fc2_relu'),
      node('MatMul', ['h2', 'W3'], ['h3'], {}, 'fc3'),
      node('MatMul', ['h3', 'W4'], ['h4'], {}, 'fc4'),
      node('MatMul', ['h4', 'W5'], ['h5a'], {}, 'fc5'),
      node('Relu', ['h5a'], ['h5'], {}, 'fc5_relu'),
      node('MatMul', ['h5', 'W6'], ['y'], {}, 'fc6'),
    ],
  });
}

const X = uniform(ROWS * 16, 20, -2, 2);
const cpuNote = 'the cpu backend has no sparse kernels';

async function buildAndRun(bytes: Uint8Array, config: BuilderConfigOptions): Promise<{ log: string[]; layers: EngineLayer[]; y: Float32Array }> {
  const builder = new Builder({ backend: 'cpu' });
  const plan = await (async () => {
    using network = builder.createNetwork();
    OnnxParser.parse(network, bytes);
    return await builder.build(network, builder.createConfig(config));
  })();
  using engine = await Runtime.load(plan);
  using ctx = engine.createContext();
  const y = (await ctx.infer({ x: tensor(X, [ROWS, 16]) })).y!.data as Float32Array;
  return { log: [...plan.buildLog], layers: engine.layers, y };
}

/** The per-output-channel int8 weight the INT8 pass makes of a MatMul's [K, N] float weight, as [K, N] values. */
function quantizedKN(w: Float32Array, n: number): number[] {
  const scales = weightScales(w, n, (i) => i % n);
  return Array.from(w, (v, i) => quantize(v, scales[i % n]!));
}

describe('sparseWeights on INT8 MatMul layers (CPU)', () => {
  it('a pruned model quantized to INT8: its QuantizedMatMuls are 2:4 along K and eligible; the others say why not', async () => {
    const pruned = pruneModel(mlp(), { layers: /^(fc1|fc2|fc4|fc5)$/ });
    expect(pruned.layers.filter((l) => l.pruned).map((l) => l.initializer)).toEqual(['W1', 'G2', 'W4', 'W5']);
    const calibrator = new MinMaxCalibrator({ batches: [{ x: tensor(X, [ROWS, 16]) }] });
    const config: BuilderConfigOptions = { precision: ['int8'], int8Calibrator: calibrator, profiles: [{ x: { min: [1, 16], opt: [ROWS, 16], max: [8, 16] } }] };
    const r = await buildAndRun(pruned.model, { ...config, sparseWeights: true });

    const int8 = r.layers.filter((l) => l.kind === 'QuantizedMatMul');
    expect(int8).toHaveLength(6);
    // In layer order: fc1 (+ bias + relu), fc2 (Gemm + relu), fc3, fc4, fc5 (+ relu), fc6.
    const [fc1, fc2, fc3, fc4, fc5, fc6] = int8;
    expect(fc1!.sparsity).toEqual({ eligible: true, sparse: false, note: cpuNote });
    expect(fc2!.sparsity).toEqual({ eligible: true, sparse: false, note: cpuNote });
    expect(fc4!.sparsity).toEqual({ eligible: true, sparse: false, note: cpuNote });
    expect(fc5!.sparsity).toEqual({ eligible: true, sparse: false, note: cpuNote });
    // fc3 was not pruned: the note counts the bad groups of its int8 weight, along K.
    const q3 = quantizedKN(W3, 8);
    const bad3 = violations(q3, [24, 8], 0);
    expect(bad3.bad).toBeGreaterThan(0);
    expect(fc3!.sparsity).toEqual({ eligible: false, sparse: false, note: `not 2:4: ${bad3.bad} of ${bad3.groups} groups of four have 3 or 4 non-zeros` });
    expect(fc6!.sparsity).toEqual({ eligible: false, sparse: false, note: 'reduction length 6 is not a multiple of 4' });
    // The QuantizeLinear layers have no record.
    expect(r.layers.filter((l) => l.sparsity).map((l) => l.kind)).toEqual(Array(6).fill('QuantizedMatMul'));

    const names = [fc1, fc2, fc4, fc5].map((l) => l!.name).join(', ');
    expect(r.log.filter((l) => l.startsWith('sparse weights:'))).toEqual([
      `sparse weights: 4 of 6 MatMul/Convolution layers with constant weights are 2:4 along their reduction dimension (${names}); the cpu backend has no sparse kernels: they stay dense`,
      `sparse weights: ${fc3!.name} stays dense: ${fc3!.sparsity!.note}`,
      `sparse weights: ${fc6!.name} stays dense: reduction length 6 is not a multiple of 4`,
    ]);

    // The flag changes nothing else: the same calibrator (it keeps its scales) without it gives the same bits.
    const plain = await buildAndRun(pruned.model, config);
    expect(plain.layers.every((l) => l.sparsity === undefined)).toBe(true);
    expect(Buffer.from(r.y.buffer).equals(Buffer.from(plain.y.buffer))).toBe(true);
  });

  it('an int8 weight of -128 is a non-zero (explicit Q/DQ weights keep it)', async () => {
    // x [2, 8] -> Q/DQ (scale 1/32) -> MatMul(DQ(int8 W [8, 4], scale 1/64)) -> y. W's groups of four along K keep
    // two non-zeros, except column 1's first group, which has -128 as a third.
    const wq = new Int8Array(8 * 4);
    for (let k = 0; k < 8; k++) for (let n = 0; n < 4; n++) if ((k + n) % 4 < 2) wq[k * 4 + n] = (k % 2 ? 1 : -1) * (5 + k + n);
    const define = (n: NetworkDefinition, w: Int8Array, name: string) => {
      const x = n.addInput('x', 'float32', [2, 8]);
      const s = n.addConstant([], Float32Array.of(1 / 32));
      const xq = n.addDequantize(n.addQuantize(x, s, null, { outputDType: 'int8' }).output(), s).output();
      const w8 = n.addDequantize(n.addConstant([8, 4], w, { dtype: 'int8' }), n.addConstant([], Float32Array.of(1 / 64))).output();
      n.markOutput(n.addMatrixMultiply(xq, w8, { name }).output(), 'y');
    };
    const run = async (w: Int8Array) => {
      const builder = new Builder({ backend: 'cpu' });
      using network = builder.createNetwork();
      define(network, w, 'fc');
      const plan = await builder.build(network, builder.createConfig({ precision: ['int8'], sparseWeights: true }));
      using engine = await Runtime.load(plan);
      return engine.layers.filter((l) => l.sparsity).map((l) => [l.kind, l.sparsity]);
    };
    expect(violations(wq, [8, 4], 0).bad).toBe(0);
    expect(await run(wq)).toEqual([['QuantizedMatMul', { eligible: true, sparse: false, note: cpuNote }]]);
    const third = wq.slice();
    const at = [0, 1, 2, 3].find((k) => third[k * 4 + 1] === 0)! * 4 + 1;
    third[at] = -128;
    expect(violations(third, [8, 4], 0)).toEqual({ bad: 1, groups: 8 });
    expect(await run(third)).toEqual([['QuantizedMatMul', { eligible: false, sparse: false, note: 'not 2:4: 1 of 8 groups of four have 3 or 4 non-zeros' }]]);
  });
});
