/**
 * MatMulInteger, ConvInteger, QLinearMatMul and QLinearConv through the ONNX importer and the CPU kernels.
 * MatMulInteger and ConvInteger are exact: compared with onnxruntime-node on the same model where onnxruntime
 * implements the case (it has no per-row a_zero_point, and ConvInteger only for uint8 x and w with one w zero
 * point), else with onnxruntime on a float reference graph (Cast → Sub zero point → MatMul / Conv → Cast int32,
 * exact since every sum stays far below 2^24). QLinear* are compared with onnxruntime allowing 1 unit: both
 * requantize int32 accumulators through float32, and onnxruntime multiplies by one precomputed
 * a_scale·b_scale / y_scale where inferrt multiplies by a_scale·b_scale and divides by y_scale (QuantizeLinear),
 * so a value near a rounding tie may land on the neighbouring integer.
 */
import { describe, expect, it } from 'vitest';
import { Builder, Runtime, tensor as hostTensor, type Precision } from '../../lib/index.js';
import { NetworkDefinition } from '../../lib/network.js';
import { OnnxParser } from '../../lib/onnx/index.js';
import { model, node, T, tensor, valueInfo, type AttrValue, type ModelSpec } from './helpers.js';
import { expectClose, seededInt8s, seededInts } from './quantized-outputs.js';
import { canRun, f32, importError, runInferrt, runOrt, type HostTensor } from './run.js';

const elem = { int8: T.INT8, uint8: T.UINT8 } as const;
type Int8Type = keyof typeof elem;

const numbers = (t: HostTensor): number[] => Array.from(t.data as ArrayLike<number>);

async function exactVsOrt(spec: ModelSpec, inputs: Record<string, HostTensor>): Promise<void> {
  const bytes = model(spec);
  expectClose(await runInferrt(bytes, inputs), await runOrt(bytes, inputs));
}

/** inferrt on `spec` vs onnxruntime on `reference` (same inputs), exact. */
async function exactVsReference(spec: ModelSpec, reference: ModelSpec, inputs: Record<string, HostTensor>): Promise<void> {
  expectClose(await runInferrt(model(spec), inputs), await runOrt(model(reference), inputs));
}

/** inferrt vs onnxruntime on `spec`, every value within 1 unit; returns how many differ. */
async function withinOneUnitOfOrt(spec: ModelSpec, inputs: Record<string, HostTensor>): Promise<number> {
  const bytes = model(spec);
  return expectClose(await runInferrt(bytes, inputs), await runOrt(bytes, inputs), 1);
}

/** Layer kinds of the imported network, and the last layer's name. */
function importedKinds(spec: ModelSpec): { kinds: string[]; last: string } {
  const network = new NetworkDefinition();
  OnnxParser.parse(network, model(spec));
  const layers = Array.from({ length: network.numLayers }, (_, i) => network.getLayer(i));
  return { kinds: layers.map((l) => l.kind), last: layers[layers.length - 1]!.name };
}

/** Float reference: y = Cast<int32>(op(Cast<float>(x) - xZero, wShifted)), wShifted a float initializer. */
function floatReference(op: 'MatMul' | 'Conv', input: string, xType: number, xDims: number[], xZero: { dims: number[]; values: number[] }, w: { dims: number[]; values: number[] }, attrs: Record<string, AttrValue> = {}): ModelSpec {
  return {
    opset: 13,
    nodes: [
      node('Cast', [input], ['xf'], { to: T.FLOAT }),
      node('Sub', ['xf', 'xz'], ['xs']),
      node(op, ['xs', 'w'], ['yf'], attrs),
      node('Cast', ['yf'], ['y'], { to: T.INT32 }),
    ],
    inputs: [valueInfo(input, xType, xDims)],
    outputs: [valueInfo('y', T.INT32, null)],
    initializers: [tensor('xz', T.FLOAT, xZero.dims, xZero.values), tensor('w', T.FLOAT, w.dims, w.values)],
  };
}

describe.skipIf(!canRun)('MatMulInteger', () => {
  const spec = (aType: Int8Type, bType: Int8Type, aDims: number[], b: HostTensor, aZero: number[] | null, bZero: number[] | null, aZeroDims: number[] = []): ModelSpec => {
    const initializers = [tensor('b', elem[bType], b.dims, numbers(b))];
    if (aZero) initializers.push(tensor('az', elem[aType], aZeroDims, aZero));
    if (bZero) initializers.push(tensor('bz', elem[bType], bZero.length === 1 ? [] : [bZero.length], bZero));
    return {
      opset: 13,
      nodes: [node('MatMulInteger', ['a', 'b', aZero ? 'az' : '', bZero ? 'bz' : ''], ['y'], {}, 'mmi')],
      inputs: [valueInfo('a', elem[aType], aDims)],
      outputs: [valueInfo('y', T.INT32, null)],
      initializers,
    };
  };

  it.each([
    ['uint8', 'int8'],
    ['uint8', 'uint8'],
    ['int8', 'int8'],
  ] as const)('%s × %s: a batch broadcast with one zero point each, and one b zero point per column: exact', async (aType, bType) => {
    const aZero = [aType === 'int8' ? -9 : 131];
    const batched = spec(aType, bType, [2, 1, 3, 4], seededInt8s(bType, [3, 4, 5], 2), aZero, [bType === 'int8' ? 5 : 250]);
    expect(importedKinds(batched).kinds).toEqual(['MatMulInteger']);
    await exactVsOrt(batched, { a: seededInt8s(aType, [2, 1, 3, 4], 1) });
    // onnxruntime takes a per-column b zero point [N] only for a 2-D b.
    const bZero = seededInts(7, 5, bType === 'int8' ? -128 : 0, bType === 'int8' ? 127 : 255);
    await exactVsOrt(spec(aType, bType, [2, 3, 4], seededInt8s(bType, [4, 5], 2), aZero, bZero), { a: seededInt8s(aType, [2, 3, 4], 1) });
    await exactVsOrt(spec(aType, bType, [2, 1, 3, 4], seededInt8s(bType, [3, 4, 5], 2), null, null), { a: seededInt8s(aType, [2, 1, 3, 4], 3) });
  });

  it('1-D a, and 1-D b: numpy matmul dims', async () => {
    const b = seededInt8s('int8', [4, 5], 4);
    await exactVsOrt(spec('uint8', 'int8', [4], b, [3], [1, 2, 3, 4, 5]), { a: seededInt8s('uint8', [4], 5) });
    await exactVsOrt(spec('uint8', 'int8', [2, 4], seededInt8s('int8', [4], 6), [3], [-2]), { a: seededInt8s('uint8', [2, 4], 7) });
  });

  it('one a zero point per row of a ([M]): exact vs a float reference graph', async () => {
    const b = seededInt8s('int8', [4, 5], 8);
    const aZero = [10, 200, 77];
    const bZero = [1, -2, 3, -4, 5];
    const shifted = numbers(b).map((v, i) => v - bZero[i % 5]!);
    const reference = floatReference('MatMul', 'a', T.UINT8, [2, 3, 4], { dims: [3, 1], values: aZero }, { dims: [4, 5], values: shifted });
    await exactVsReference(spec('uint8', 'int8', [2, 3, 4], b, aZero, bZero, [3]), reference, { a: seededInt8s('uint8', [2, 3, 4], 9) });
  });
});

describe.skipIf(!canRun)('ConvInteger', () => {
  const spec = (xType: Int8Type, wType: Int8Type, xDims: number[], w: HostTensor, xZero: number, wZero: number[], attrs: Record<string, AttrValue>): ModelSpec => ({
    opset: 13,
    nodes: [node('ConvInteger', ['x', 'w', 'xz', 'wz'], ['y'], attrs, 'convi')],
    inputs: [valueInfo('x', elem[xType], xDims)],
    outputs: [valueInfo('y', T.INT32, null)],
    initializers: [
      tensor('w', elem[wType], w.dims, numbers(w)),
      tensor('xz', elem[xType], [], [xZero]),
      tensor('wz', elem[wType], wZero.length === 1 ? [] : [wZero.length], wZero),
    ],
  });
  const geometries: Array<{ name: string; xDims: number[]; wDims: number[]; attrs: Record<string, AttrValue> }> = [
    { name: 'pads, strides, dilations, group 2', xDims: [2, 4, 7, 9], wDims: [6, 2, 3, 3], attrs: { pads: [1, 2, 1, 0], strides: [2, 1], dilations: [1, 2], group: 2 } },
    { name: 'SAME_UPPER padding, depthwise', xDims: [1, 3, 6, 5], wDims: [3, 1, 3, 2], attrs: { auto_pad: 'SAME_UPPER', group: 3 } },
    { name: '1-D, stride 3', xDims: [2, 2, 11], wDims: [4, 2, 4], attrs: { pads: [2, 1], strides: [3] } },
  ];

  it.each(geometries)('uint8 x and w, one w zero point, $name: exact vs onnxruntime', async ({ xDims, wDims, attrs }) => {
    const s = spec('uint8', 'uint8', xDims, seededInt8s('uint8', wDims, 11), 119, [131], attrs);
    expect(importedKinds(s).kinds).toEqual(['ConvInteger']);
    await exactVsOrt(s, { x: seededInt8s('uint8', xDims, 12) });
  });

  it.each(geometries.flatMap((g) => [{ ...g, xType: 'int8' as const }, { ...g, xType: 'uint8' as const }]))(
    '$xType x, int8 w with one zero point per output channel, $name: padding adds nothing; exact vs a float reference graph',
    async ({ xDims, wDims, attrs, xType }) => {
      const w = seededInt8s('int8', wDims, 13);
      const wZero = seededInts(14, wDims[0]!, -20, 20);
      const perChannel = numbers(w).length / wDims[0]!;
      const shifted = numbers(w).map((v, i) => v - wZero[Math.floor(i / perChannel)]!);
      const xZero = xType === 'int8' ? -17 : 140;
      const reference = floatReference('Conv', 'x', elem[xType], xDims, { dims: [], values: [xZero] }, { dims: wDims, values: shifted }, attrs);
      await exactVsReference(spec(xType, 'int8', xDims, w, xZero, wZero, attrs), reference, { x: seededInt8s(xType, xDims, 15) });
    },
  );
});

describe.skipIf(!canRun)('QLinearMatMul and QLinearConv (within 1 unit of onnxruntime: float rounding of the requantization)', () => {
  const qlinearMatMul = (aDims: number[], bType: Int8Type, bScale: number[], bZero: number[], scalesAsInputs = false): ModelSpec => {
    const b = seededInt8s(bType, [8, 6], 21);
    const scaleDims = bScale.length === 1 ? [] : [bScale.length];
    const scales = [tensor('as', T.FLOAT, [], [0.02]), tensor('bs', T.FLOAT, scaleDims, bScale)];
    return {
      opset: 13,
      nodes: [node('QLinearMatMul', ['a', 'as', 'az', 'b', 'bs', 'bz', 'ys', 'yz'], ['y'], {}, 'qmm')],
      inputs: [valueInfo('a', T.UINT8, aDims), ...(scalesAsInputs ? [valueInfo('as', T.FLOAT, []), valueInfo('bs', T.FLOAT, scaleDims)] : [])],
      outputs: [valueInfo('y', T.UINT8, null)],
      initializers: [
        ...(scalesAsInputs ? [] : scales),
        tensor('az', T.UINT8, [], [121]),
        tensor('b', elem[bType], [8, 6], numbers(b)),
        tensor('bz', elem[bType], scaleDims, bZero),
        tensor('ys', T.FLOAT, [], [0.045]),
        tensor('yz', T.UINT8, [], [128]),
      ],
    };
  };

  it('2-D, int8 b with one scale and zero point per column', async () => {
    const s = qlinearMatMul([5, 8], 'int8', [0.01, 0.02, 0.015, 0.03, 0.005, 0.011], [0, 0, 0, 0, 0, 0]);
    const { kinds, last } = importedKinds(s);
    expect(kinds).toEqual(['MatMulInteger', 'Cast', 'ElementWise', 'QuantizeLinear']);
    expect(last).toBe('qmm');
    const differing = await withinOneUnitOfOrt(s, { a: seededInt8s('uint8', [5, 8], 22) });
    expect(differing).toBeLessThanOrEqual(2);
  });

  it('3-D batch, uint8 b, per-tensor scale and zero point', async () => {
    const differing = await withinOneUnitOfOrt(qlinearMatMul([3, 5, 8], 'uint8', [0.013], [140]), { a: seededInt8s('uint8', [3, 5, 8], 23) });
    expect(differing).toBeLessThanOrEqual(4);
  });

  it('scales given at run time: multiplied by a Mul layer', async () => {
    const s = qlinearMatMul([5, 8], 'uint8', [0.013], [140], true);
    expect(importedKinds(s).kinds).toEqual(['MatMulInteger', 'Reshape', 'Reshape', 'ElementWise', 'Cast', 'ElementWise', 'QuantizeLinear']);
    const inputs = { a: seededInt8s('uint8', [5, 8], 24), as: f32([], [0.02]), bs: f32([], [0.013]) };
    expect(await withinOneUnitOfOrt(s, inputs)).toBeLessThanOrEqual(2);
  });

  const qlinearConv = (group: number, wScale: number[], withBias: boolean): ModelSpec => {
    const m = wScale.length > 1 ? wScale.length : 4;
    const wDims = [m, 4 / group, 3, 3];
    const w = seededInt8s('int8', wDims, 31 + group);
    const scaleDims = wScale.length === 1 ? [] : [m];
    return {
      opset: 13,
      nodes: [node('QLinearConv', ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz', ...(withBias ? ['bias'] : [])], ['y'], { pads: [1, 1, 1, 1], strides: [2, 1], group }, 'qconv')],
      inputs: [valueInfo('x', T.UINT8, [2, 4, 7, 6])],
      outputs: [valueInfo('y', T.UINT8, null)],
      initializers: [
        tensor('xs', T.FLOAT, [], [0.021]),
        tensor('xz', T.UINT8, [], [117]),
        tensor('w', T.INT8, wDims, numbers(w)),
        tensor('ws', T.FLOAT, scaleDims, wScale),
        tensor('wz', T.INT8, scaleDims, new Array(wScale.length).fill(0)),
        tensor('ys', T.FLOAT, [], [0.09]),
        tensor('yz', T.UINT8, [], [100]),
        tensor('bias', T.INT32, [m], seededInts(33, m, -3000, 3000)),
      ],
    };
  };

  it('int8 w with one scale per output channel, int32 bias, pads and strides', async () => {
    const s = qlinearConv(1, [0.004, 0.011, 0.007, 0.02], true);
    const { kinds, last } = importedKinds(s);
    expect(kinds).toEqual(['ConvInteger', 'Reshape', 'ElementWise', 'Cast', 'ElementWise', 'QuantizeLinear']);
    expect(last).toBe('qconv');
    expect(await withinOneUnitOfOrt(s, { x: seededInt8s('uint8', [2, 4, 7, 6], 34) })).toBeLessThanOrEqual(4);
  });

  it('group 2, per-tensor w scale, no bias', async () => {
    expect(await withinOneUnitOfOrt(qlinearConv(2, [0.009], false), { x: seededInt8s('uint8', [2, 4, 7, 6], 35) })).toBeLessThanOrEqual(4);
  });
});

describe.skipIf(!canRun)('QLinearMatMul in an fp16 engine', () => {
  it('keeps the requantization in fp32: int32 accumulators past fp16\'s 65504 give the fp32 engine\'s output', async () => {
    const spec: ModelSpec = {
      opset: 13,
      nodes: [node('QLinearMatMul', ['a', 'as', 'az', 'b', 'bs', 'bz', 'ys', 'yz'], ['y'], {}, 'qmm')],
      inputs: [valueInfo('a', T.UINT8, [4, 16])],
      outputs: [valueInfo('y', T.UINT8, null)],
      initializers: [
        tensor('as', T.FLOAT, [], [0.01]), tensor('az', T.UINT8, [], [0]),
        tensor('b', T.UINT8, [16, 3], seededInts(41, 48, 200, 255)), tensor('bs', T.FLOAT, [], [0.01]), tensor('bz', T.UINT8, [], [0]),
        tensor('ys', T.FLOAT, [], [0.4]), tensor('yz', T.UINT8, [], [0]),
      ],
    };
    const a = Uint8Array.from(seededInts(42, 64, 200, 255));  // sums of 16 products near 255²: ~10^6
    const run = async (precision: Precision[]) => {
      const builder = new Builder({ backend: 'cpu' });
      using network = builder.createNetwork();
      OnnxParser.parse(network, model(spec));
      using engine = await Runtime.load(await builder.build(network, builder.createConfig({ precision })));
      using ctx = engine.createContext();
      const layers = engine.layers.filter((l) => l.name.startsWith('qmm/')).map((l) => l.precision);
      return { y: Array.from((await ctx.infer({ a: hostTensor(a, [4, 16]) })).y!.data as Uint8Array), layers };
    };
    const [half, full] = [await run(['fp16']), await run([])];
    expect(half.layers.length).toBeGreaterThan(0);
    expect(half.layers.every((p) => p === 'fp32')).toBe(true);
    expect(half.y).toEqual(full.y);
    expect(Math.max(...full.y)).toBeGreaterThan(100);  // not all saturated or zero
  });
});

describe('integer op importer errors', () => {
  it('a zero point of another dtype than its operand: INVALID_MODEL naming the node', () => {
    const e = importError({
      opset: 13,
      nodes: [node('MatMulInteger', ['a', 'b', 'az'], ['y'], {}, 'mmi')],
      inputs: [valueInfo('a', T.UINT8, [2, 3])],
      outputs: [valueInfo('y', T.INT32, null)],
      initializers: [tensor('b', T.INT8, [3, 2], [1, 2, 3, 4, 5, 6]), tensor('az', T.INT8, [], [1])],
    });
    expect(e.code).toBe('INVALID_MODEL');
    expect(e.message).toMatch(/node 'mmi' \(MatMulInteger\): a_zero_point has dtype int8 but A has dtype uint8/);
  });

  it('a w zero point per channel of the wrong length: SHAPE_MISMATCH naming the node', () => {
    const e = importError({
      opset: 13,
      nodes: [node('ConvInteger', ['x', 'w', '', 'wz'], ['y'], {}, 'convi')],
      inputs: [valueInfo('x', T.UINT8, [1, 2, 4, 4])],
      outputs: [valueInfo('y', T.INT32, null)],
      initializers: [tensor('w', T.UINT8, [3, 2, 3, 3], new Array(54).fill(1)), tensor('wz', T.UINT8, [2], [1, 2])],
    });
    expect(e.code).toBe('SHAPE_MISMATCH');
    expect(e.message).toMatch(/node 'convi' \(ConvInteger\).*wZeroPoint \(input 3\) must hold one value or 3 \(one per output channel\), got shape \[2\]/);
  });
});
