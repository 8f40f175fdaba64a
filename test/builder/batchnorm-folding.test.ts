/**
 * The builder's batch-norm folding: Conv -> BatchNormalization (constant statistics) becomes one Convolution with
 * folded weights and bias, before the conv epilogue fusion (so a following ReLU still fuses). ONNX models built here
 * run through the parser on the CPU backend and are checked against onnxruntime-node; the cases that must not fold
 * keep their Normalization layer.
 */
import { describe, expect, it } from 'vitest';
import { Builder, Runtime, type BuilderConfigOptions } from '../../lib/index.js';
import { expectClose, randomFloats } from '../api/helpers.js';
import { model, node, T, tensor, valueInfo } from '../onnx/helpers.js';
import { runOrt, type HostTensor } from '../onnx/run.js';
import { runOnnxOnCpu } from './onnx-engine.js';

const N = 2, C = 4, M = 6, S = 5;

interface Spec {
  group?: number;
  noConvBias?: boolean;
  relu?: boolean;
  exposeConv?: boolean;  // the conv output is a graph output too: must not fold
  meanAsInput?: boolean;  // the running mean is a graph input, not a constant: must not fold
}

function bnModel(s: Spec): Uint8Array {
  const group = s.group ?? 1;
  const init = [
    tensor('w', T.FLOAT, [M, C / group, 3, 3], randomFloats((M * C * 9) / group, 11)),
    tensor('gamma', T.FLOAT, [M], randomFloats(M, 13)),
    tensor('beta', T.FLOAT, [M], randomFloats(M, 14)),
    tensor('var', T.FLOAT, [M], Array.from(randomFloats(M, 16), (v) => 0.5 + Math.abs(v))),
  ];
  if (!s.noConvBias) init.push(tensor('b', T.FLOAT, [M], randomFloats(M, 12)));
  if (!s.meanAsInput) init.push(tensor('mean', T.FLOAT, [M], randomFloats(M, 15)));
  const nodes = [
    node('Conv', ['x', 'w', ...(s.noConvBias ? [] : ['b'])], ['c'], { pads: [1, 1, 1, 1], group }),
    node('BatchNormalization', ['c', 'gamma', 'beta', 'mean', 'var'], [s.relu ? 'bn' : 'y'], { epsilon: 1e-3 }),
  ];
  if (s.relu) nodes.push(node('Relu', ['bn'], ['y']));
  const inputs = [valueInfo('x', T.FLOAT, [N, C, S, S])];
  if (s.meanAsInput) inputs.push(valueInfo('mean', T.FLOAT, [M]));
  const outputs = [valueInfo('y', T.FLOAT, [N, M, S, S])];
  if (s.exposeConv) outputs.push(valueInfo('c', T.FLOAT, [N, M, S, S]));
  return model({ nodes, inputs, outputs, initializers: init });
}

async function build(bytes: Uint8Array, inputs: Record<string, HostTensor>, config: BuilderConfigOptions = {}) {
  const r = await runOnnxOnCpu(bytes, inputs, config);
  return { log: r.log, layers: r.layers, out: Object.fromEntries(Object.entries(r.outputs).map(([k, data]) => [k, { data }])) };
}

const feeds = (s: Spec): Record<string, HostTensor> => {
  const x: Record<string, HostTensor> = { x: { dtype: 'float32', dims: [N, C, S, S], data: randomFloats(N * C * S * S, 21) } };
  if (s.meanAsInput) x.mean = { dtype: 'float32', dims: [M], data: randomFloats(M, 15) };
  return x;
};

describe('batch-norm folding', () => {
  const folds: Array<[string, Spec]> = [
    ['Conv -> BatchNormalization', {}],
    ['Conv -> BatchNormalization -> Relu (the ReLU then fuses too)', { relu: true }],
    ['a conv without bias', { noConvBias: true }],
    ['a grouped conv', { group: 2, relu: true }],
  ];
  for (const [label, spec] of folds) {
    it(`folds ${label} and matches onnxruntime`, async () => {
      const bytes = bnModel(spec);
      const r = await build(bytes, feeds(spec));
      expect(r.log).toContain('batchnorm: 1 folded into convolutions');
      expect(r.layers.map((l) => l.kind)).toEqual(['Convolution']);
      expect(r.layers[0]!.inputs).toHaveLength(3);  // the folded bias is always there
      if (spec.relu) expect(r.log.find((l) => l.startsWith('fusion:'))).toContain('1 Conv+ReLU');
      const theirs = await runOrt(bytes, feeds(spec));
      expectClose(r.out.y!.data as Float32Array, theirs.y!.data as Float32Array, 1e-5);
    });
  }

  it('folds in an fp16 engine too (weights folded in fp32, then rounded)', async () => {
    const bytes = bnModel({ relu: true });
    const r = await build(bytes, feeds({}), { precision: ['fp16'] });
    expect(r.log).toContain('batchnorm: 1 folded into convolutions');
    expect(r.layers.map((l) => [l.kind, l.precision])).toEqual([['Convolution', 'fp16']]);
    expectClose(r.out.y!.data as Float32Array, (await runOrt(bytes, feeds({}))).y!.data as Float32Array, 1e-2);
  });

  const stays: Array<[string, Spec]> = [
    ['the conv output is also a graph output', { exposeConv: true }],
    ['the running mean is not a constant', { meanAsInput: true }],
  ];
  for (const [label, spec] of stays) {
    it(`does not fold when ${label}`, async () => {
      const bytes = bnModel(spec);
      const r = await build(bytes, feeds(spec));
      expect(r.log.some((l) => l.startsWith('batchnorm:'))).toBe(false);
      expect(r.layers.map((l) => l.kind)).toEqual(['Convolution', 'Normalization']);
      const theirs = await runOrt(bytes, feeds(spec));
      expectClose(r.out.y!.data as Float32Array, theirs.y!.data as Float32Array, 1e-5);
    });
  }

  it('does not fold after a channels_last convolution, whose axis 1 is H, not its output channels', async () => {
    const H = 4, W = 5, C = 3, M = 4;  // H == M: the batch norm's shape rule accepts it
    const builder = new Builder({ backend: 'cpu' });
    using n = builder.createNetwork();
    const x = n.addInput('x', 'float32', [1, H, W, C]);
    const conv = n.addConvolution(x, n.addConstant([M, 1, 1, C], randomFloats(M * C, 1)), null, { channelsLast: true, kernelShape: [1, 1] });
    const perH = (v: number[]) => n.addConstant([H], new Float32Array(v));
    n.markOutput(n.addBatchNormalization(conv.output(), perH([1, 2, 3, 4]), perH([0, 10, 20, 30]), perH([0, 0, 0, 0]), perH([1, 1, 1, 1]), { epsilon: 0 }).output(), 'y');
    const plan = await builder.build(n, builder.createConfig({}));
    expect(plan.buildLog.some((l) => l.startsWith('batchnorm:'))).toBe(false);
    using engine = await Runtime.load(plan);
    expect(engine.layers.map((l) => l.kind)).toEqual(['Convolution', 'Normalization']);
    using ctx = engine.createContext();
    const xs = randomFloats(H * W * C, 2);
    const y = (await ctx.infer({ x: { data: xs, shape: [1, H, W, C] } })).y!.data as Float32Array;
    // y[0, h, w, m] = conv[0, h, w, m] * scale[h] + bias[h]: the batch norm's channel axis is H here
    const wts = randomFloats(M * C, 1);
    const want = new Float32Array(H * W * M);
    for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let m = 0; m < M; m++) {
      let acc = 0;
      for (let c = 0; c < C; c++) acc += xs[(h * W + w) * C + c]! * wts[m * C + c]!;
      want[(h * W + w) * M + m] = acc * (h + 1) + 10 * h;
    }
    expectClose(y, want, 1e-5);
  });
});
