/**
 * QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear through the ONNX importer and the CPU kernels,
 * compared exactly with onnxruntime-node: per tensor and per axis, int8 and uint8, ties and saturation (also
 * against ONNX's formula computed here), float16 and int32 inputs (against onnxruntime on the same values widened
 * to float32, which is the layers' contract), and the importer's typed errors.
 */
import { describe, expect, it } from 'vitest';
import { floatToHalfBits, halfBitsToFloat } from '../../lib/dtypes.js';
import { NetworkDefinition } from '../../lib/network.js';
import { OnnxParser } from '../../lib/onnx/index.js';
import { model, node, T, tensor, valueInfo, type ModelSpec } from './helpers.js';
import { expectClose, i32, seededInt8s } from './quantized-outputs.js';
import { canRun, f32, importError, runInferrt, runOrt, type HostTensor } from './run.js';
import { seededUniform } from '../seeded-uniform.js';

const elem = { int8: T.INT8, uint8: T.UINT8 } as const;
const range = { int8: [-128, 127], uint8: [0, 255] } as const;

/** Round half to even, as ONNX's QuantizeLinear rounds. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
}

/** ONNX's formula: saturate(round(x / scale) + zp), x / scale in float32. */
function quantizeReference(x: number, scale: number, zp: number, type: 'int8' | 'uint8'): number {
  const [lo, hi] = range[type];
  return Math.min(hi, Math.max(lo, roundHalfEven(Math.fround(x / scale)) + zp));
}

function quantizeSpec(xType: number, xDims: number[], scale: { type?: number; dims: number[]; values: number[] }, zp: { type: number; values: number[] } | null, attrs: Record<string, number> = {}): ModelSpec {
  const initializers = [tensor('s', scale.type ?? T.FLOAT, scale.dims, scale.values)];
  if (zp) initializers.push(tensor('z', zp.type, scale.dims, zp.values));
  return {
    opset: 13,
    nodes: [node('QuantizeLinear', zp ? ['x', 's', 'z'] : ['x', 's'], ['y'], attrs, 'q')],
    inputs: [valueInfo('x', xType, xDims)],
    outputs: [valueInfo('y', zp?.type ?? T.UINT8, null)],
    initializers,
  };
}

function dequantizeSpec(xType: number, xDims: number[], scale: { type?: number; dims: number[]; values: number[] }, zp: number[] | null, attrs: Record<string, number> = {}): ModelSpec {
  const initializers = [tensor('s', scale.type ?? T.FLOAT, scale.dims, scale.values)];
  if (zp) initializers.push(tensor('z', xType, scale.dims, zp));
  return {
    opset: 13,
    nodes: [node('DequantizeLinear', zp ? ['x', 's', 'z'] : ['x', 's'], ['y'], attrs, 'dq')],
    inputs: [valueInfo('x', xType, xDims)],
    outputs: [valueInfo('y', scale.type ?? T.FLOAT, null)],
    initializers,
  };
}

async function expectSameAsOrt(spec: ModelSpec, inputs: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const bytes = model(spec);
  const ours = await runInferrt(bytes, inputs);
  expectClose(ours, await runOrt(bytes, inputs));
  return ours;
}

// Ties of x / scale at ±0.5, ±1.5, ±2.5, ..., values past both ends of int8 and uint8, signed zeros.
const edgeValues = [-1000, -129, -128.5, -127.5, -2.5, -1.5, -0.5, -0, 0, 0.5, 1.5, 2.5, 3.5, 1.25, 126.5, 127.5, 128.5, 254.5, 255.5, 1000, 0.49999997, 5];

describe.skipIf(!canRun)('QuantizeLinear', () => {
  it.each([
    { type: 'int8', zp: 0, scale: 1 },
    { type: 'int8', zp: -3, scale: 2 },
    { type: 'uint8', zp: 0, scale: 1 },
    { type: 'uint8', zp: 128, scale: 0.5 },
  ] as const)('per tensor, $type zero point $zp, scale $scale: ties to even, saturation at both ends', async ({ type, zp, scale }) => {
    const spec = quantizeSpec(T.FLOAT, [edgeValues.length], { dims: [], values: [scale] }, { type: elem[type], values: [zp] });
    const ours = await expectSameAsOrt(spec, { x: f32([edgeValues.length], edgeValues) });
    expect(ours.y!.dtype).toBe(type);
    expect(Array.from(ours.y!.data as Int8Array | Uint8Array)).toEqual(edgeValues.map((x) => quantizeReference(Math.fround(x), scale, zp, type)));
  });

  it('without a zero point gives uint8 (ONNX default)', async () => {
    const spec = quantizeSpec(T.FLOAT, [edgeValues.length], { dims: [], values: [0.75] }, null);
    const ours = await expectSameAsOrt(spec, { x: f32([edgeValues.length], edgeValues) });
    expect(ours.y!.dtype).toBe('uint8');
  });

  it.each([
    { axis: 1, channels: 3, type: 'int8' },
    { axis: -2, channels: 3, type: 'uint8' },
    { axis: -1, channels: 4, type: 'int8' },
    { axis: 0, channels: 2, type: 'uint8' },
  ] as const)('per axis $axis ($channels scales, $type)', async ({ axis, channels, type }) => {
    const next = seededUniform(channels * 10 + axis + 5);
    const x = Array.from({ length: 24 }, (_, i) => (i % 5 === 0 ? (i - 12) * 0.5 : (next() - 0.5) * 80));
    const scales = Array.from({ length: channels }, (_, c) => 0.25 * (c + 1));
    const zps = Array.from({ length: channels }, (_, c) => (type === 'int8' ? c * 7 - 5 : 100 + c * 20));
    const spec = quantizeSpec(T.FLOAT, [2, 3, 4], { dims: [channels], values: scales }, { type: elem[type], values: zps }, { axis });
    const network = new NetworkDefinition();
    OnnxParser.parse(network, model(spec));
    expect(network.getLayer(0).kind).toBe('QuantizeLinear');
    expect(network.getLayer(0).attributes.axis).toBe(axis);
    await expectSameAsOrt(spec, { x: f32([2, 3, 4], x) });
  });

  it('float16 x and scale are widened to float32 first: equal to onnxruntime on the widened values', async () => {
    const next = seededUniform(16);
    const halves = Array.from({ length: 40 }, (_, i) => floatToHalfBits(i < 8 ? i - 3.5 : (next() - 0.5) * 600));
    const scaleBits = floatToHalfBits(0.3);
    const ours = await runInferrt(model(quantizeSpec(T.FLOAT16, [40], { type: T.FLOAT16, dims: [], values: [scaleBits] }, { type: T.INT8, values: [2] })),
      { x: { dtype: 'float16', dims: [40], data: Uint16Array.from(halves) } });
    const widened = quantizeSpec(T.FLOAT, [40], { dims: [], values: [halfBitsToFloat(scaleBits)] }, { type: T.INT8, values: [2] });
    expectClose(ours, await runOrt(model(widened), { x: f32([40], halves.map(halfBitsToFloat)) }));
  });

  it('int32 x converts to float32 (exact up to 2^24): equal to onnxruntime on the same values as float', async () => {
    const values = [-70000, -301, -300, -299, -5, 0, 5, 299, 300, 301, 16777216, -16777216, 1000];
    const ours = await runInferrt(model(quantizeSpec(T.INT32, [values.length], { dims: [], values: [2] }, { type: T.UINT8, values: [100] })), { x: i32([values.length], values) });
    const asFloat = quantizeSpec(T.FLOAT, [values.length], { dims: [], values: [2] }, { type: T.UINT8, values: [100] });
    expectClose(ours, await runOrt(model(asFloat), { x: f32([values.length], values) }));
  });
});

describe.skipIf(!canRun)('DequantizeLinear', () => {
  it.each(['int8', 'uint8'] as const)('per tensor %s, with and without a zero point', async (type) => {
    const x = seededInt8s(type, [3, 5], 3);
    await expectSameAsOrt(dequantizeSpec(elem[type], [3, 5], { dims: [], values: [0.037] }, [type === 'int8' ? -7 : 131]), { x });
    await expectSameAsOrt(dequantizeSpec(elem[type], [3, 5], { dims: [], values: [1.5] }, null), { x });
  });

  it.each([
    { axis: 1, channels: 3, type: 'int8' },
    { axis: -1, channels: 4, type: 'uint8' },
    { axis: -3, channels: 2, type: 'int8' },
  ] as const)('per axis $axis ($channels scales, $type)', async ({ axis, channels, type }) => {
    const scales = Array.from({ length: channels }, (_, c) => 0.01 + 0.3 * c);
    const zps = Array.from({ length: channels }, (_, c) => (type === 'int8' ? 3 - 4 * c : 120 + 5 * c));
    await expectSameAsOrt(dequantizeSpec(elem[type], [2, 3, 4], { dims: [channels], values: scales }, zps, { axis }), { x: seededInt8s(type, [2, 3, 4], axis + 9) });
  });

  it('int32 x (a quantized bias): per axis, exact vs onnxruntime', async () => {
    const values = [-2147483, -1000001, -3, 0, 7, 123456, 2000000, 16777215];
    await expectSameAsOrt(dequantizeSpec(T.INT32, [2, 4], { dims: [4], values: [0.001, 0.5, 3, 1e-4] }, null, { axis: 1 }), { x: i32([2, 4], values) });
  });

  it('a float16 scale gives float16: (x - zp) * scale in float32, rounded once', async () => {
    const x = seededInt8s('uint8', [16], 4);
    const scaleBits = floatToHalfBits(0.0123);
    const ours = await runInferrt(model(dequantizeSpec(T.UINT8, [16], { type: T.FLOAT16, dims: [], values: [scaleBits] }, [77])), { x });
    const f = await runOrt(model(dequantizeSpec(T.UINT8, [16], { dims: [], values: [halfBitsToFloat(scaleBits)] }, [77])), { x });
    const y = f.y!;
    expectClose(ours, { y: { dtype: 'float16', dims: y.dims, data: Uint16Array.from(y.data as Float32Array, floatToHalfBits) } });
  });
});

describe.skipIf(!canRun)('DynamicQuantizeLinear', () => {
  const spec: ModelSpec = {
    opset: 11,
    nodes: [node('DynamicQuantizeLinear', ['x'], ['y', 'y_scale', 'y_zero_point'], {}, 'dql')],
    inputs: [valueInfo('x', T.FLOAT, [3, 7])],
    outputs: [valueInfo('y', T.UINT8, null), valueInfo('y_scale', T.FLOAT, null), valueInfo('y_zero_point', T.UINT8, null)],
  };

  it.each([
    { name: 'mixed signs', lo: -3, hi: 5 },
    { name: 'all positive (the range still starts at 0)', lo: 0.5, hi: 9 },
    { name: 'all negative (the range still ends at 0)', lo: -7, hi: -0.25 },
  ])('$name: y, scale and zero point equal onnxruntime', async ({ lo, hi }) => {
    const next = seededUniform(Math.round(hi * 100));
    const x = f32([3, 7], Array.from({ length: 21 }, () => lo + next() * (hi - lo)));
    const ours = await expectSameAsOrt(spec, { x });
    expect(ours.y_scale!.dims).toEqual([]);
    expect(ours.y_zero_point!.dims).toEqual([]);
  });

  it("all zeros: y and zero point 0, scale 1 / 255 (ONNX's reference; onnxruntime says 1)", async () => {
    const ours = await runInferrt(model(spec), { x: f32([3, 7], new Array(21).fill(0)) });
    expect(Array.from(ours.y!.data as Uint8Array)).toEqual(new Array(21).fill(0));
    expect(ours.y_scale!.data[0]).toBe(Math.fround(1 / 255));
    expect(ours.y_zero_point!.data[0]).toBe(0);
  });
});

describe('quantization importer errors', () => {
  it('a per-axis scale whose length is not x\'s dim on the axis: SHAPE_MISMATCH naming the node', () => {
    const e = importError(quantizeSpec(T.FLOAT, [2, 3, 4], { dims: [4], values: [1, 2, 3, 4] }, { type: T.INT8, values: [0, 0, 0, 0] }, { axis: 1 }));
    expect(e.code).toBe('SHAPE_MISMATCH');
    expect(e.message).toMatch(/node 'q' \(QuantizeLinear\).*scale \(input 1\) has 4 values but x \[2, 3, 4\] has 3 on axis 1/);
  });

  it('a DequantizeLinear zero point whose dtype differs from x: INVALID_MODEL naming the node', () => {
    const spec = dequantizeSpec(T.INT8, [4], { dims: [], values: [0.5] }, [1]);
    spec.initializers![1] = tensor('z', T.UINT8, [], [1]);
    const e = importError(spec);
    expect(e.code).toBe('INVALID_MODEL');
    expect(e.message).toMatch(/node 'dq' \(DequantizeLinear\): x_zero_point has dtype uint8 but x has dtype int8/);
  });

  it('blocked quantization (block_size > 0): UNSUPPORTED_OP naming the node', () => {
    const e = importError(dequantizeSpec(T.INT8, [2, 4], { dims: [2, 2], values: [1, 2, 3, 4] }, null, { axis: 1, block_size: 2 }));
    expect(e.code).toBe('UNSUPPORTED_OP');
    expect(e.message).toMatch(/node 'dq' \(DequantizeLinear\): blocked quantization \(block_size 2\) is not supported/);
    const q = importError(quantizeSpec(T.FLOAT, [2, 4], { dims: [2, 2], values: [1, 2, 3, 4] }, null, { axis: 1, block_size: 2 }));
    expect(q.message).toMatch(/node 'q' \(QuantizeLinear\): blocked quantization/);
  });

  it('output_dtype other than int8 / uint8 (opset 21: int16, float8, int4): UNSUPPORTED_OP naming the type', () => {
    const e = importError(quantizeSpec(T.FLOAT, [4], { dims: [], values: [1] }, null, { output_dtype: T.INT16 }));
    expect(e.code).toBe('UNSUPPORTED_OP');
    expect(e.message).toMatch(/node 'q' \(QuantizeLinear\): output_dtype int16 is not supported/);
  });

  it('opset 21 output_dtype INT8 without a zero point gives int8; one contradicting the zero point is INVALID_MODEL', () => {
    const network = new NetworkDefinition();
    OnnxParser.parse(network, model(quantizeSpec(T.FLOAT, [4], { dims: [], values: [1] }, null, { output_dtype: T.INT8 })));
    expect(network.getLayer(0).outputs[0]!.dtype).toBe('int8');
    const e = importError(quantizeSpec(T.FLOAT, [4], { dims: [], values: [1] }, { type: T.UINT8, values: [0] }, { output_dtype: T.INT8 }));
    expect(e.code).toBe('INVALID_MODEL');
    expect(e.message).toMatch(/output_dtype int8 differs from y_zero_point's dtype uint8/);
  });

  it('the network API checks the same contract: a zero point of another dtype is DTYPE_MISMATCH naming the layer', () => {
    const network = new NetworkDefinition();
    const x = network.addInput('x', 'int8', [4]);
    const scale = network.addConstant([], Float32Array.of(0.5));
    const zp = network.addConstant([], Uint8Array.of(3), { dtype: 'uint8' });
    expect(() => network.addDequantize(x, scale, zp, { name: 'dq' })).toThrow(/layer 'dq' \(DequantizeLinear\): input 2 has dtype uint8 but input 0 has dtype int8/);
    const f = network.addInput('f', 'float32', [2, 3]);
    const scales = network.addConstant([2], Float32Array.of(1, 2));
    expect(() => network.addQuantize(f, scales, null, { axis: -1, name: 'q' })).toThrow(/layer 'q' \(QuantizeLinear\): scale \(input 1\) has 2 values but x \[2, 3\] has 3 on axis 1/);
    expect(() => network.addQuantize(f, network.addConstant([], Float32Array.of(1)), null, { outputDType: 'int4' as 'int8', name: 'q4' })).toThrow(/attribute 'outputDType' must be 'int8' or 'uint8'/);
  });
});
