import { describe, expect, it } from 'vitest';
import { NetworkDefinition, type Layer } from '../../lib/network.js';
import { OnnxParser } from '../../lib/onnx/index.js';
import { f, model, node, T, tensor, valueInfo, type ModelSpec } from './helpers.js';
import { canRun, f32, i64, importError, matchesOrt, runInferrt } from './run.js';

function imported(spec: ModelSpec): { network: NetworkDefinition; layers: Layer[] } {
  const network = new NetworkDefinition();
  OnnxParser.parse(network, model(spec));
  return { network, layers: Array.from({ length: network.numLayers }, (_, i) => network.getLayer(i)) };
}

const kinds = (layers: Layer[]) => layers.map((l) => l.kind);

const fx = (name: string, dims: number[]) => valueInfo(name, T.FLOAT, dims);
const out = (name = 'y') => valueInfo(name, T.FLOAT, null);

describe('Gemm', () => {
  const spec = (attrs: Record<string, number | ReturnType<typeof f>>, withC = true): ModelSpec => ({
    nodes: [node('Gemm', withC ? ['a', 'b', 'c'] : ['a', 'b'], ['y'], attrs, 'gemm')],
    inputs: [fx('a', [2, 3])],
    outputs: [out()],
    initializers: [tensor('b', T.FLOAT, [4, 3], Array.from({ length: 12 }, (_, i) => i / 7 - 0.5)), tensor('c', T.FLOAT, [4], [1, -1, 0.5, 2])],
  });

  it('transB, alpha and beta become MatMul(transB) + Mul + Mul + Add, the last named after the node', async () => {
    const s = spec({ transB: 1, alpha: 0.5, beta: f(2) });
    const { layers } = imported(s);
    expect(kinds(layers)).toEqual(['MatMul', 'ElementWise', 'ElementWise', 'ElementWise']);
    expect(layers[0]!.attributes).toMatchObject({ transA: 0, transB: 1 });
    expect(layers.map((l) => l.attributes.op)).toEqual([undefined, 'mul', 'mul', 'add']);
    expect(layers[3]!.name).toBe('gemm');
    await matchesOrt(s, { a: f32([2, 3]) });
  });

  it('without C or scaling it is a single MatMul', async () => {
    const s = spec({ transB: 1 }, false);
    const { layers } = imported(s);
    expect(kinds(layers)).toEqual(['MatMul']);
    expect(layers[0]!.name).toBe('gemm');
    await matchesOrt(s, { a: f32([2, 3]) });
  });
});

describe('Softmax', () => {
  const spec = (opset: number, axis: number | undefined, op = 'Softmax'): ModelSpec => ({
    opset,
    nodes: [node(op, ['x'], ['y'], axis === undefined ? {} : { axis }, 'sm')],
    inputs: [fx('x', [2, 3, 4])],
    outputs: [out()],
  });

  it('opset 12 with axis 1 flattens to 2-D, normalizes rows, and reshapes back', async () => {
    const { layers } = imported(spec(12, 1));
    expect(kinds(layers)).toEqual(['Shape', 'Flatten', 'Softmax', 'Reshape']);
    expect(layers[1]!.attributes.axis).toBe(1);
    await matchesOrt(spec(12, 1), { x: f32([2, 3, 4]) });
    await matchesOrt(spec(12, undefined), { x: f32([2, 3, 4]) });
    await matchesOrt(spec(11, 0, 'LogSoftmax'), { x: f32([2, 3, 4]) });
  });

  it('opset 12 with the last axis, and opset 13, are one Softmax layer', async () => {
    expect(kinds(imported(spec(12, 2)).layers)).toEqual(['Softmax']);
    const { layers } = imported(spec(13, 1));
    expect(kinds(layers)).toEqual(['Softmax']);
    expect(layers[0]!.attributes).toMatchObject({ axis: 1, log: 0 });
    expect(imported(spec(13, undefined, 'LogSoftmax')).layers[0]!.attributes).toMatchObject({ axis: -1, log: 1 });
    await matchesOrt(spec(13, 1), { x: f32([2, 3, 4]) });
  });
});

describe('Squeeze/Unsqueeze axes', () => {
  it('opset 11 reads the attribute, opset 13 the (constant) input', async () => {
    const v11: ModelSpec = { opset: 11, nodes: [node('Unsqueeze', ['x'], ['y'], { axes: [0, 3] })], inputs: [fx('x', [2, 3])], outputs: [out()] };
    const v13: ModelSpec = {
      opset: 13,
      nodes: [node('Unsqueeze', ['x', 'axes'], ['y'])],
      inputs: [fx('x', [2, 3])],
      outputs: [out()],
      initializers: [tensor('axes', T.INT64, [2], [0, -1])],
    };
    for (const [s, axes] of [[v11, [0, 3]], [v13, [0, -1]]] as const) {
      const { layers } = imported(s);
      expect(kinds(layers)).toEqual(['Unsqueeze']);
      expect(layers[0]!.attributes.axes).toEqual(axes);
      await matchesOrt(s, { x: f32([2, 3]) });
    }
  });

  it('opset 13 axes computed at run time are UNSUPPORTED_OP with the reason', () => {
    const e = importError({
      opset: 13,
      nodes: [node('Unsqueeze', ['x', 'axes'], ['y'], {}, 'unsq')],
      inputs: [fx('x', [2, 3]), valueInfo('axes', T.INT64, [1])],
      outputs: [out()],
    });
    expect(e.code).toBe('UNSUPPORTED_OP');
    expect(e.message).toMatch(/node 'unsq' \(Unsqueeze\): axes \(input 1, 'axes'\) must be known at build time/);
  });

  it('Squeeze opset 13 without axes squeezes every size-1 dim', async () => {
    const s: ModelSpec = { opset: 13, nodes: [node('Squeeze', ['x'], ['y'])], inputs: [fx('x', [1, 3, 1])], outputs: [out()] };
    const { layers } = imported(s);
    expect(layers[0]!.attributes.axes).toBeUndefined();
    await matchesOrt(s, { x: f32([1, 3, 1]) });
  });
});

describe('Clip', () => {
  it('constant bounds become one clip activation (inputs from opset 11, attributes before)', async () => {
    const v11: ModelSpec = {
      opset: 11,
      nodes: [node('Clip', ['x', 'lo', ''], ['y'])],
      inputs: [fx('x', [6])],
      outputs: [out()],
      initializers: [tensor('lo', T.FLOAT, [], [-0.5])],
    };
    const { layers } = imported(v11);
    expect(kinds(layers)).toEqual(['Activation']);
    expect(layers[0]!.attributes).toMatchObject({ op: 'clip', alpha: -0.5 });
    expect(layers[0]!.attributes.beta).toBeUndefined();
    await matchesOrt(v11, { x: f32([6]) });
    const v7: ModelSpec = { opset: 7, nodes: [node('Clip', ['x'], ['y'], { min: f(0), max: f(1) })], inputs: [fx('x', [6])], outputs: [out()] };
    expect(imported(v7).layers[0]!.attributes).toMatchObject({ op: 'clip', alpha: 0, beta: 1 });
    await matchesOrt(v7, { x: f32([6]) });
  });

  it('run-time bounds become Max and Min', async () => {
    const s: ModelSpec = { opset: 13, nodes: [node('Clip', ['x', 'lo', 'hi'], ['y'])], inputs: [fx('x', [6]), fx('lo', []), fx('hi', [])], outputs: [out()] };
    expect(imported(s).layers.map((l) => l.attributes.op)).toEqual(['max', 'min']);
    await matchesOrt(s, { x: f32([6]), lo: f32([], [-0.5]), hi: f32([], [1]) });
  });
});

describe('Reduce axes', () => {
  it('ReduceMean: attribute at opset 13, input at 18; ReduceSum: input from 13', async () => {
    const specs: ModelSpec[] = [
      { opset: 13, nodes: [node('ReduceMean', ['x'], ['y'], { axes: [1], keepdims: 0 })], inputs: [fx('x', [2, 3, 4])], outputs: [out()] },
      { opset: 18, nodes: [node('ReduceMean', ['x', 'axes'], ['y'], { keepdims: 0 })], inputs: [fx('x', [2, 3, 4])], outputs: [out()], initializers: [tensor('axes', T.INT64, [1], [1])] },
      { opset: 13, nodes: [node('ReduceSum', ['x', 'axes'], ['y'], { keepdims: 0 })], inputs: [fx('x', [2, 3, 4])], outputs: [out()], initializers: [tensor('axes', T.INT64, [1], [1])] },
    ];
    for (const s of specs) {
      const { layers } = imported(s);
      expect(kinds(layers)).toEqual(['Reduce']);
      expect(layers[0]!.attributes).toMatchObject({ axes: [1], keepdims: 0 });
      await matchesOrt(s, { x: f32([2, 3, 4]) });
    }
  });

  it('ReduceSum at opset 13 without axes reduces everything, or nothing with noop_with_empty_axes', async () => {
    await matchesOrt({ opset: 13, nodes: [node('ReduceSum', ['x'], ['y'])], inputs: [fx('x', [2, 3])], outputs: [out()] }, { x: f32([2, 3]) });
    // onnxruntime rejects noop_with_empty_axes without an axes input, so compare with the input itself.
    const noop: ModelSpec = { opset: 13, nodes: [node('ReduceSum', ['x'], ['y'], { noop_with_empty_axes: 1 })], inputs: [fx('x', [2, 3])], outputs: [out()] };
    expect(imported(noop).layers[0]!.attributes).toMatchObject({ noop_with_empty_axes: 1 });
    if (canRun) {
      const x = f32([2, 3]);
      const { y } = await runInferrt(model(noop), { x });
      expect(y!.dims).toEqual([2, 3]);
      expect(Array.from(y!.data as Float32Array)).toEqual(Array.from(x.data as Float32Array));
    }
  });
});

describe('Split, Slice, Pad across opsets', () => {
  it('Split: attribute (11), input (13), num_outputs (18)', async () => {
    const two = [out('a'), out('b')];
    const specs: ModelSpec[] = [
      { opset: 11, nodes: [node('Split', ['x'], ['a', 'b'], { axis: 1, split: [1, 3] })], inputs: [fx('x', [2, 4])], outputs: two },
      { opset: 13, nodes: [node('Split', ['x', 's'], ['a', 'b'], { axis: 1 })], inputs: [fx('x', [2, 4])], outputs: two, initializers: [tensor('s', T.INT64, [2], [3, 1])] },
      { opset: 18, nodes: [node('Split', ['x'], ['a', 'b'], { axis: 1, num_outputs: 2 })], inputs: [fx('x', [2, 5])], outputs: two },
    ];
    for (const s of specs) {
      const { layers, network } = imported(s);
      expect(kinds(layers)).toEqual(['Split']);
      expect(network.getTensor('a')?.isOutput && network.getTensor('b')?.isOutput).toBe(true);
      await matchesOrt(s, { x: f32(s.inputs[0]!.type!.tensorType!.shape!.dim!.map((d) => Number(d.dimValue))) });
    }
  });

  it('Slice-1 attributes keep INT64_MAX ends exact', async () => {
    const s: ModelSpec = { opset: 9, nodes: [node('Slice', ['x'], ['y'], { starts: [1], ends: [9223372036854775807n], axes: [1] })], inputs: [fx('x', [2, 4])], outputs: [out()] };
    const { network, layers } = imported(s);
    expect(kinds(layers)).toEqual(['Slice']);
    expect(Array.from(layers[0]!.inputs[2]!.value() as BigInt64Array)).toEqual([9223372036854775807n]);
    expect(network.getTensor('y')).toBeDefined();
    await matchesOrt(s, { x: f32([2, 4]) });
  });

  it('Pad: attributes (opset 10) and inputs (opset 11+)', async () => {
    const v10: ModelSpec = { opset: 10, nodes: [node('Pad', ['x'], ['y'], { pads: [0, 1, 1, 0], value: f(2) })], inputs: [fx('x', [2, 3])], outputs: [out()] };
    const v13: ModelSpec = {
      opset: 13,
      nodes: [node('Pad', ['x', 'p', ''], ['y'], { mode: 'reflect' })],
      inputs: [fx('x', [2, 3])],
      outputs: [out()],
      initializers: [tensor('p', T.INT64, [4], [0, 2, 0, 1])],
    };
    for (const s of [v10, v13]) {
      expect(kinds(imported(s).layers)).toEqual(['Pad']);
      await matchesOrt(s, { x: f32([2, 3]) });
    }
  });
});

describe('generators and pass-throughs', () => {
  it('Constant forms become constants named after their output', () => {
    const { network } = imported({
      nodes: [
        node('Constant', [], ['c1'], { value: tensor('', T.INT32, [2], [4, 5]) }),
        node('Constant', [], ['c2'], { value_float: f(1.5) }),
        node('Constant', [], ['c3'], { value_ints: [1, 2, 3] }),
        node('Concat', ['c3', 'c3'], ['y'], { axis: 0 }),
      ],
      inputs: [],
      outputs: [valueInfo('y', T.INT64, null)],
    });
    expect(Array.from(network.getTensor('c1')!.value() as Int32Array)).toEqual([4, 5]);
    expect(network.getTensor('c2')!.dims).toEqual([]);
    expect(network.getTensor('c3')!.dtype).toBe('int64');
  });

  it('ConstantOfShape defaults to float 0 and takes the value attribute', async () => {
    const s: ModelSpec = {
      nodes: [node('Shape', ['x'], ['s']), node('ConstantOfShape', ['s'], ['z']), node('ConstantOfShape', ['s'], ['o'], { value: tensor('', T.INT64, [1], [7]) })],
      inputs: [fx('x', [2, 3])],
      outputs: [out('z'), valueInfo('o', T.INT64, null)],
    };
    await matchesOrt(s, { x: f32([2, 3]) });
    const { network } = imported(s);
    expect(network.getTensor('o')!.dtype).toBe('int64');
  });

  it('Dropout is the identity with an all-ones mask; random (training) dropout is refused', async () => {
    const s: ModelSpec = { nodes: [node('Dropout', ['x'], ['y', 'mask'], {}, 'd'), node('Not', ['mask'], ['m2'])], inputs: [fx('x', [2, 3])], outputs: [out(), valueInfo('m2', T.BOOL, null)] };
    expect(kinds(imported(s).layers)).toEqual(['Identity', 'Shape', 'ConstantOfShape', 'Unary']);
    await matchesOrt(s, { x: f32([2, 3]) });
    const training: ModelSpec = {
      nodes: [node('Dropout', ['x', '', 't'], ['y'], {}, 'd')],
      inputs: [fx('x', [2])],
      outputs: [out()],
      initializers: [tensor('t', T.BOOL, [], [1])],
    };
    expect(importError(training).message).toMatch(/node 'd' \(Dropout\): training_mode=true with a nonzero ratio \(random dropout\) is not supported/);
    // Training with ratio 0 drops nothing, so it is supported.
    const zero: ModelSpec = { ...training, nodes: [node('Dropout', ['x', 'r', 't'], ['y'], {}, 'd')], initializers: [...training.initializers!, tensor('r', T.FLOAT, [], [0])] };
    expect(kinds(imported(zero).layers)).toEqual(['Identity']);
  });

  it('BatchNormalization with used training outputs is refused', () => {
    const bn = importError({
      opset: 9,
      nodes: [node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y', 'rm'], {}, 'bn')],
      inputs: [fx('x', [1, 2, 2])],
      outputs: [out(), out('rm')],
      initializers: ['s', 'b', 'm', 'v'].map((n) => tensor(n, T.FLOAT, [2], [1, 1])),
    });
    expect(bn.code).toBe('UNSUPPORTED_OP');
    expect(bn.message).toMatch(/node 'bn' \(BatchNormalization\): output 1 \('rm', a training statistic\) is not supported/);
  });

  it('variadic Sum/Max/Mean chain binary layers', async () => {
    const s: ModelSpec = {
      nodes: [node('Sum', ['a', 'b', 'c'], ['s']), node('Max', ['a', 'b', 'c'], ['m']), node('Mean', ['a', 'b', 'c'], ['y'], {}, 'mean')],
      inputs: [fx('a', [3]), fx('b', [3]), fx('c', [1])],
      outputs: [out('s'), out('m'), out()],
    };
    const { layers } = imported(s);
    expect(layers.filter((l) => l.kind === 'ElementWise').map((l) => l.attributes.op)).toEqual(['add', 'add', 'max', 'max', 'add', 'add', 'div']);
    expect(layers[layers.length - 1]!.name).toBe('mean');
    await matchesOrt(s, { a: f32([3]), b: f32([3], [5, -5, 0]), c: f32([1], [0.25]) });
  });

  it('Cast and CastLike map ONNX dtypes', async () => {
    const s: ModelSpec = {
      nodes: [node('Cast', ['x'], ['i'], { to: T.INT32 }), node('CastLike', ['i', 'x'], ['y'])],
      inputs: [fx('x', [4])],
      outputs: [valueInfo('i', T.INT32, null), out()],
      opset: 15,
    };
    const { network } = imported(s);
    expect(network.getTensor('i')!.dtype).toBe('int32');
    await matchesOrt(s, { x: f32([4], [1.7, -1.7, 0.2, 3]) });
  });
});

describe('MaxPool indices and BatchNormalization training', () => {
  const cases: Array<[number[], Record<string, number | number[]>]> = [
    [[2, 3, 5, 5], { kernel_shape: [2, 2], strides: [2, 2] }],
    [[2, 3, 5, 5], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], storage_order: 1 }],
    [[1, 2, 7, 6], { kernel_shape: [2, 3], dilations: [2, 1], strides: [1, 2] }],
    [[1, 2, 6, 6], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }],
    [[2, 2, 9], { kernel_shape: [3], strides: [2], pads: [1, 1] }],
    [[1, 1, 4, 4, 4], { kernel_shape: [2, 2, 2], strides: [2, 2, 2] }],
  ];
  for (const [dims, attrs] of cases) {
    it(`MaxPool Indices for ${JSON.stringify(attrs)} on [${dims}]`, async () => {
      const s: ModelSpec = {
        opset: 12,
        nodes: [node('MaxPool', ['x'], ['y', 'i'], attrs, 'pool')],
        inputs: [fx('x', dims)],
        outputs: [out(), valueInfo('i', T.INT64, null)],
      };
      const n = dims.reduce((a, d) => a * d, 1);
      // Distinct values so the argmax is unique (onnxruntime and inferrt agree on ties too, but keep it clear).
      await matchesOrt(s, { x: f32(dims, Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1)) });
    });
  }

  it('BatchNormalization training_mode=1 normalizes with batch statistics and blends running stats', async () => {
    const s: ModelSpec = {
      opset: 15,
      nodes: [node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y', 'rm', 'rv'], { training_mode: 1, momentum: f(0.8) }, 'bn')],
      inputs: [fx('x', [2, 3, 2, 2])],
      outputs: [out(), out('rm'), out('rv')],
      initializers: [tensor('s', T.FLOAT, [3], [1, 2, 0.5]), tensor('b', T.FLOAT, [3], [0, 1, -1]), tensor('m', T.FLOAT, [3], [0.1, 0.2, 0.3]), tensor('v', T.FLOAT, [3], [1, 2, 3])],
    };
    await matchesOrt(s, { x: f32([2, 3, 2, 2]) }, 1e-4);
  });
});

describe('LayerNormalization', () => {
  it('imports Y as one layer, and Mean/InvStdDev (when used) from reductions', async () => {
    const s: ModelSpec = {
      opset: 17,
      nodes: [node('LayerNormalization', ['x', 's', 'b'], ['y', 'mean', 'inv'], { axis: 1, epsilon: f(1e-3) }, 'ln')],
      inputs: [fx('x', [2, 3, 4])],
      outputs: [out(), out('mean'), out('inv')],
      initializers: [tensor('s', T.FLOAT, [3, 4], Array.from({ length: 12 }, (_, i) => 1 + i / 10)), tensor('b', T.FLOAT, [3, 4], Array.from({ length: 12 }, (_, i) => i / 4 - 1))],
    };
    const { layers } = imported(s);
    expect(layers[0]!.kind).toBe('Normalization');
    expect(layers[0]!.attributes).toMatchObject({ mode: 'layer', axis: 1 });
    await matchesOrt(s, { x: f32([2, 3, 4]) }, 1e-4);
    const yOnly: ModelSpec = { ...s, nodes: [node('LayerNormalization', ['x', 's', 'b'], ['y'], { axis: 1 }, 'ln')], outputs: [out()] };
    expect(kinds(imported(yOnly).layers)).toEqual(['Normalization']);
  });
});

describe('inputValues', () => {
  it('supplies axes that a test graph passes as an input', async () => {
    const s: ModelSpec = {
      opset: 13,
      nodes: [node('Unsqueeze', ['x', 'axes'], ['y'])],
      inputs: [fx('x', [2, 3]), valueInfo('axes', T.INT64, [1])],
      outputs: [out()],
    };
    const network = new NetworkDefinition();
    const result = OnnxParser.parse(network, model(s), { inputValues: { axes: BigInt64Array.of(1n) } });
    expect(network.getLayer(0).attributes.axes).toEqual([1]);
    expect(result.warnings.join()).toMatch(/graph input 'axes' given in options.inputValues/);
  });
});

describe('composites', () => {
  it('Size, DepthToSpace, SpaceToDepth, Shrink, EyeLike, OneHot, Hardmax, MeanVarianceNormalization, IsInf', async () => {
    await matchesOrt({ nodes: [node('Size', ['x'], ['y'])], inputs: [fx('x', [2, 3])], outputs: [valueInfo('y', T.INT64, null)] }, { x: f32([2, 3]) });
    for (const mode of ['DCR', 'CRD']) {
      await matchesOrt({ nodes: [node('DepthToSpace', ['x'], ['y'], { blocksize: 2, mode })], inputs: [fx('x', [1, 8, 2, 3])], outputs: [out()] }, { x: f32([1, 8, 2, 3]) });
    }
    await matchesOrt({ nodes: [node('SpaceToDepth', ['x'], ['y'], { blocksize: 2 })], inputs: [fx('x', [1, 2, 4, 6])], outputs: [out()] }, { x: f32([1, 2, 4, 6]) });
    await matchesOrt({ nodes: [node('Shrink', ['x'], ['y'], { lambd: 1.5, bias: f(0.5) })], inputs: [fx('x', [8])], outputs: [out()] }, { x: f32([8]) });
    await matchesOrt({ nodes: [node('EyeLike', ['x'], ['y'], { k: 1 })], inputs: [fx('x', [3, 4])], outputs: [out()] }, { x: f32([3, 4]) });
    await matchesOrt({ opset: 11, nodes: [node('OneHot', ['i', 'depth', 'v'], ['y'], { axis: 1 })], inputs: [valueInfo('i', T.INT64, [2, 3])], outputs: [out()], initializers: [tensor('depth', T.INT64, [], [4]), tensor('v', T.FLOAT, [2], [-1, 5])] }, { i: i64([2, 3], [0, 3, -1, 2, 9, -4]) });
    for (const [opset, axis] of [[11, 1], [11, 2], [13, 1], [13, -1]] as const) {
      await matchesOrt({ opset, nodes: [node('Hardmax', ['x'], ['y'], { axis })], inputs: [fx('x', [2, 3, 4])], outputs: [out()] }, { x: f32([2, 3, 4], [...Array(23).fill(0).map((_, i) => (i * 7) % 5), 4]) });
    }
    await matchesOrt({ opset: 13, nodes: [node('MeanVarianceNormalization', ['x'], ['y'])], inputs: [fx('x', [2, 3, 2, 2])], outputs: [out()] }, { x: f32([2, 3, 2, 2]) }, 1e-4);
    const inf = f32([4], [Infinity, -Infinity, 1, NaN]);
    await matchesOrt({ nodes: [node('IsInf', ['x'], ['y'], { detect_negative: 0 })], inputs: [fx('x', [4])], outputs: [valueInfo('y', T.BOOL, null)] }, { x: inf });
  });
});

describe('network errors', () => {
  it('are rethrown with the node name and op type first', () => {
    const e = importError({ nodes: [node('MatMul', ['a', 'b'], ['y'], {}, 'mm')], inputs: [fx('a', [2, 3]), fx('b', [4, 5])], outputs: [out()] });
    expect(e.message).toMatch(/^node 'mm' \(MatMul\): /);
    expect(e.code).toMatch(/SHAPE_MISMATCH|INVALID_ARGUMENT|INVALID_MODEL/);
  });

  it('shape subgraphs on static shapes fold while importing', () => {
    const { network } = imported({
      nodes: [
        node('Shape', ['x'], ['s']),
        node('Gather', ['s', 'zero'], ['n']),
        node('Unsqueeze', ['n', 'axes'], ['n1']),
        node('Concat', ['n1', 'minus1'], ['shape'], { axis: 0 }),
        node('Reshape', ['x', 'shape'], ['y']),
      ],
      inputs: [fx('x', [2, 3, 4])],
      outputs: [out()],
      initializers: [tensor('zero', T.INT64, [], [0]), tensor('axes', T.INT64, [1], [0]), tensor('minus1', T.INT64, [1], [-1])],
    });
    expect(Array.from(network.getTensor('shape')!.value() as BigInt64Array)).toEqual([2n, -1n]);
    expect(network.getTensor('y')!.dims).toEqual([2, 12]);
  });
});

describe('ConvTranspose', () => {
  const spec = (attrs: Record<string, number | number[]>, x: number[], w: number[]): ModelSpec => {
    const outChannels = w[1]! * ((attrs.group as number | undefined) ?? 1);
    return {
      nodes: [node('ConvTranspose', ['x', 'w', 'b'], ['y'], attrs, 'deconv')],
      inputs: [fx('x', x)],
      outputs: [out()],
      initializers: [
        tensor('w', T.FLOAT, w, Array.from({ length: w.reduce((a, d) => a * d, 1) }, (_, i) => Math.cos(i * 0.61))),
        tensor('b', T.FLOAT, [outChannels], Array.from({ length: outChannels }, (_, i) => i / 4 - 0.3)),
      ],
    };
  };

  it('is a stride-1 convolution over zero-upsampled input with flipped, regrouped weights', async () => {
    const s = spec({ group: 2, strides: [2, 3], dilations: [1, 2], pads: [1, 0, 0, 2], output_padding: [1, 0] }, [2, 4, 3, 4], [4, 3, 3, 2]);
    const { layers } = imported(s);
    expect(kinds(layers).at(-1)).toBe('Convolution');
    expect(layers.at(-1)!.attributes).toMatchObject({ group: 2, dilations: [1, 2] });
    await matchesOrt(s, { x: f32([2, 4, 3, 4]) });
  });

  it('honours output_shape and 1-D and 3-D windows', async () => {
    await matchesOrt(spec({ strides: [3, 2], output_shape: [10, 8] }, [1, 2, 3, 3], [2, 3, 3, 3]), { x: f32([1, 2, 3, 3]) });
    await matchesOrt(spec({ strides: [2], pads: [1, 1] }, [1, 3, 5], [3, 2, 4]), { x: f32([1, 3, 5]) });
    await matchesOrt(spec({ strides: [1, 2, 1] }, [1, 2, 2, 3, 2], [2, 2, 2, 2, 2]), { x: f32([1, 2, 2, 3, 2]) });
  });

  it('rejects weights whose channels do not split into the groups', () => {
    expect(importError(spec({ group: 2 }, [1, 3, 4, 4], [3, 2, 3, 3])).message).toMatch(/'deconv' \(ConvTranspose\).*W's first dim \(3\) must be divisible by group \(2\)/);
  });
});

describe('LRN', () => {
  it('matches onnxruntime with non-default size, alpha, beta and bias', async () => {
    const s: ModelSpec = {
      nodes: [node('LRN', ['x'], ['y'], { size: 5, alpha: f(0.02), beta: f(0.6), bias: f(1.5) }, 'lrn')],
      inputs: [fx('x', [2, 6, 3, 5])],
      outputs: [out()],
    };
    await matchesOrt(s, { x: f32([2, 6, 3, 5]) });
  });
});
