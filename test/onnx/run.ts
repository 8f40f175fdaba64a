/**
 * Runs an ONNX model two ways — imported by OnnxParser and executed by inferrt's CPU backend, and by
 * onnxruntime-node — so importer tests can compare numbers. Uses the raw addon (build → load → infer).
 */
import ort from 'onnxruntime-node';
import { expect } from 'vitest';
import { addon } from '../../lib/binding.js';
import { dtypeCode, dtypeFromCode, viewBytes, type DType, type TensorData } from '../../lib/dtypes.js';
import { NetworkDefinition } from '../../lib/network.js';
import { OnnxParser } from '../../lib/onnx/index.js';
import { InferrtError } from '../../lib/errors.js';
import { model, type ModelSpec } from './helpers.js';

export interface HostTensor {
  dtype: DType;
  dims: number[];
  data: TensorData;
}

/** Whether this addon can build and run engines (false while only the network part is built). */
export const canRun = typeof addon.buildPlan === 'function' && typeof addon.loadEngine === 'function' && addon.version() !== 'fake';

export function f32(dims: number[], values?: number[]): HostTensor {
  const n = dims.reduce((a, d) => a * d, 1);
  return { dtype: 'float32', dims, data: Float32Array.from(values ?? Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + 0.3) * 2)) };
}
export function i64(dims: number[], values: number[]): HostTensor {
  return { dtype: 'int64', dims, data: BigInt64Array.from(values, (v) => BigInt(v)) };
}

export async function runInferrt(bytes: Uint8Array, inputs: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  using network = new NetworkDefinition();
  OnnxParser.parse(network, bytes);
  const built = await addon.buildPlan(network.native(), {
    fp16: false, int8: false, tf32: false, sparseWeights: false, workspaceBytes: 0, backend: 'cpu', profiles: [],
  }, null);
  const engine = await addon.loadEngine(built.plan);
  const ctx = engine.createContext();
  try {
    const feeds = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, {
      dtype: dtypeCode(t.dtype), dims: t.dims, data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
    }]));
    const outs = await ctx.infer(feeds);
    return Object.fromEntries(Object.entries(outs).map(([k, t]) => {
      const dtype = dtypeFromCode(t.dtype);
      return [k, { dtype, dims: t.dims, data: viewBytes(dtype, t.data) }];
    }));
  } finally {
    ctx.dispose();
    engine.dispose();
  }
}

export async function runOrt(bytes: Uint8Array, inputs: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const session = await ort.InferenceSession.create(bytes);
  const feeds = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, new ort.Tensor(t.dtype, t.data as never, t.dims)]));
  const outs = await session.run(feeds);
  await session.release();
  return Object.fromEntries(Object.entries(outs).map(([k, t]) => [k, { dtype: t.type as DType, dims: [...t.dims], data: t.data as TensorData }]));
}

/** Asserts inferrt's outputs equal onnxruntime's: same names, dtypes, dims, and values within `tol` (relative). */
export async function expectMatchesOrt(bytes: Uint8Array, inputs: Record<string, HostTensor>, tol = 1e-5): Promise<void> {
  const [ours, theirs] = await Promise.all([runInferrt(bytes, inputs), runOrt(bytes, inputs)]);
  expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
  for (const [name, want] of Object.entries(theirs)) {
    const got = ours[name]!;
    expect(got.dtype, name).toBe(want.dtype);
    expect(got.dims, name).toEqual(want.dims);
    const a = Array.from(got.data as ArrayLike<number | bigint>, Number);
    const b = Array.from(want.data as ArrayLike<number | bigint>, Number);
    for (let i = 0; i < b.length; i++) {
      if (Number.isNaN(b[i])) expect(Number.isNaN(a[i]!), `${name}[${i}]`).toBe(true);
      else expect(Math.abs(a[i]! - b[i]!), `${name}[${i}]: ${a[i]} vs ${b[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]!)));
    }
  }
}

/** The InferrtError importing `spec` throws (fails the test when it imports cleanly). */
export function importError(spec: ModelSpec): InferrtError {
  try {
    OnnxParser.parse(new NetworkDefinition(), model(spec));
  } catch (e) {
    expect(e).toBeInstanceOf(InferrtError);
    return e as InferrtError;
  }
  throw new Error('expected an error');
}

/** Numeric check of `spec` against onnxruntime when the addon can build and run engines. */
export async function matchesOrt(spec: ModelSpec, inputs: Record<string, HostTensor>, tol?: number): Promise<void> {
  if (canRun) await expectMatchesOrt(model(spec), inputs, tol);
}
