/**
 * Runs one ONNX backend node test (model.onnx + test_data_set_N/{input,output}_K.pb) through the whole
 * pipeline: OnnxParser → Builder → Runtime → ExecutionContext.infer, and compares with the recorded outputs
 * (the ONNX project's reference results) using the backend-test tolerances (rtol 1e-3, atol 1e-7).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Builder, InferrtError, Runtime, type Backend, type BuilderConfigOptions, type Engine, type Tensor } from '../../lib/index.js';
import { decodeModel, decodeTensorBytes, decodeTensorProto, tensorDataOf } from '../../lib/onnx/index.js';
import { OnnxParser } from '../../lib/onnx/index.js';
import { halfBitsToFloat, type TensorData } from '../../lib/dtypes.js';

export type Outcome =
  | { status: 'pass' }
  | { status: 'fail'; message: string }
  | { status: 'unsupported'; reason: string };

export const RTOL = 1e-3;
export const ATOL = 1e-7;

const builders = new Map<Backend, Builder>();

/** One Builder per backend, made on first use (a 'cuda' one throws CUDA_ERROR where CUDA is unavailable). */
function builderFor(backend: Backend): Builder {
  let builder = builders.get(backend);
  if (!builder) builders.set(backend, (builder = new Builder({ backend })));
  return builder;
}

/** One data set's run, as {@link RunOptions.onRun} sees it. */
export interface NodeTestRun {
  set: string;
  /** The engine that ran it (alive only during the callback). */
  engine: Engine;
  inputs: Record<string, Tensor>;
  outputs: Record<string, Tensor>;
}

/** Options of {@link runNodeTest}; the defaults are what the CPU conformance suite uses. */
export interface RunOptions {
  /** The backend to build for. Default 'cpu'. */
  backend?: Backend;
  /** Extra build-config options (e.g. strictFp32), merged under the profile the test needs. Default none. */
  config?: BuilderConfigOptions;
  /** Called after each data set ran, before its outputs are compared with the recorded ones. */
  onRun?: (run: NodeTestRun) => void;
}

export function listTests(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .filter((name) => fs.existsSync(path.join(root, name, 'model.onnx')))
    .sort();
}

/** dtypes inferrt does not have (README, "Data types"); tests needing them are expected-unsupported. */
export const UNSUPPORTED_DTYPES = ['double', 'string', 'int16', 'uint16', 'uint32', 'uint64', 'bfloat16', 'complex64', 'complex128', 'float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz', 'uint4', 'int4', 'sequence', 'optional', 'map'];

/** Ops whose conformance outputs were drawn from numpy's random generator in training mode. */
export const RANDOM_OPS = ['Dropout'];

/**
 * The reason an unsupported error gives: "op X" for an op type the parser has no importer for (or a foreign
 * domain), "dtype X" for a dtype inferrt lacks, "random: op X" where the expected output was drawn from
 * numpy's random generator (training-mode Dropout), and otherwise "op X: why" (which the allowed-reason check
 * rejects, so such a test cannot hide in the expected-unsupported list).
 */
export function unsupportedReason(e: InferrtError): string {
  const lower = e.message.toLowerCase();
  const dtype = UNSUPPORTED_DTYPES.find((d) => new RegExp(`\\b${d}\\b`).test(lower));
  const details = e.details as Array<{ opType: string; domain?: string; reason?: string }> | undefined;
  if (Array.isArray(details) && details.length > 0) {
    const reasons = details.map((d) => {
      const op = d.domain ? `${d.domain}.${d.opType}` : d.opType;
      if (d.reason === 'no importer' || d.domain) return `op ${op}`;
      if (d.reason?.includes('random')) return `random: op ${op}`;
      return dtype ? `dtype ${dtype}` : `op ${op}: ${d.reason}`;
    });
    return [...new Set(reasons)].sort().join(', ');
  }
  return dtype ? `dtype ${dtype}` : e.message;
}

export async function runNodeTest(dir: string, options: RunOptions = {}): Promise<Outcome> {
  const builder = builderFor(options.backend ?? 'cpu');
  const modelBytes = fs.readFileSync(path.join(dir, 'model.onnx'));
  const model = decodeModel(modelBytes, 'model.onnx');
  const graph = model.graph!;
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const graphInputs = (graph.input ?? []).filter((i) => !initializers.has(i.name)).map((i) => i.name ?? '');
  const graphOutputs = (graph.output ?? []).map((o) => o.name ?? '');

  const sets = fs.readdirSync(dir).filter((d) => d.startsWith('test_data_set_')).sort();
  using network = builder.createNetwork();
  try {
    const inputValues = sets.length ? buildTimeInputValues(path.join(dir, sets[0]!), graphInputs) : {};
    OnnxParser.parse(network, modelBytes, { name: 'model.onnx', modelDir: dir, inputValues });
  } catch (e) {
    if (e instanceof InferrtError && e.code === 'UNSUPPORTED_OP') return { status: 'unsupported', reason: unsupportedReason(e) };
    return { status: 'fail', message: `parse: ${(e as Error).message}` };
  }

  for (const set of sets) {
    let inputs: Record<string, Tensor>;
    let expected: Array<{ name: string; tensor: Tensor }>;
    try {
      inputs = Object.fromEntries(readTensors(path.join(dir, set), 'input', graphInputs).map((t) => [t.name, t.tensor]));
      expected = readTensors(path.join(dir, set), 'output', graphOutputs);
    } catch (e) {
      if (e instanceof InferrtError && e.code === 'UNSUPPORTED_OP') return { status: 'unsupported', reason: unsupportedReason(e) };
      return { status: 'fail', message: `${set}: reading test data: ${(e as Error).message}` };
    }
    const profile: Record<string, { min: number[]; opt: number[]; max: number[] }> = {};
    for (const t of network.inputs) {
      const given = inputs[t.name];
      if (given && t.dims.some((d) => d < 0)) profile[t.name] = { min: given.shape, opt: given.shape, max: given.shape };
    }
    try {
      const config = builder.createConfig({ ...options.config, ...(Object.keys(profile).length ? { profiles: [profile] } : {}) });
      const plan = await builder.build(network, config);
      using engine = await Runtime.load(plan.bytes);
      using ctx = engine.createContext();
      const outputs = await ctx.infer(inputs);
      options.onRun?.({ set, engine, inputs, outputs });
      for (const { name, tensor } of expected) {
        const actual = outputs[name];
        if (!actual) return { status: 'fail', message: `${set}: output '${name}' missing (got ${Object.keys(outputs).join(', ')})` };
        const problem = compare(tensor, actual);
        if (problem) return { status: 'fail', message: `${set}: output '${name}': ${problem}` };
      }
    } catch (e) {
      if (e instanceof InferrtError && e.code === 'UNSUPPORTED_OP') return { status: 'unsupported', reason: unsupportedReason(e) };
      return { status: 'fail', message: `${set}: ${(e as InferrtError).code ?? ''} ${(e as Error).message}` };
    }
  }
  return { status: 'pass' };
}

/**
 * The inputs of a data set, offered to the parser as build-time values: node tests feed axes, shapes, split
 * sizes and OneHot depths as graph inputs, which an engine needs while building (the parser reads an offered
 * value only where it must; the engine is then specialized to it). Undecodable inputs are left out; running
 * the test reports them. fp16 is left out too: its data are raw bits, not numbers.
 */
function buildTimeInputValues(dir: string, names: string[]): Record<string, ArrayLike<number | bigint>> {
  try {
    const out: Record<string, ArrayLike<number | bigint>> = {};
    for (const { name, tensor } of readTensors(dir, 'input', names)) {
      if (tensor.dtype !== 'float16') out[name] = tensor.data as ArrayLike<number | bigint>;
    }
    return out;
  } catch {
    return {};
  }
}

function readTensors(dir: string, kind: 'input' | 'output', names: string[]): Array<{ name: string; tensor: Tensor }> {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(`${kind}_`) && f.endsWith('.pb'))
    .sort((a, b) => Number(a.slice(kind.length + 1, -3)) - Number(b.slice(kind.length + 1, -3)));
  return files.map((file, i) => {
    const proto = decodeTensorBytes(fs.readFileSync(path.join(dir, file)), file);
    const decoded = decodeTensorProto(proto, { what: `${kind} ${file}` });
    const name = decoded.name || names[i] || `${kind}_${i}`;
    return { name, tensor: { dtype: decoded.dtype, shape: decoded.dims, data: tensorDataOf(decoded) } as Tensor };
  });
}

/** Null when `actual` matches `expected` within the backend-test tolerances, else what differs. */
export function compare(expected: Tensor, actual: Tensor): string | null {
  if (expected.dtype !== actual.dtype) return `dtype ${actual.dtype}, expected ${expected.dtype}`;
  if (expected.shape.join(',') !== actual.shape.join(',')) return `shape [${actual.shape}], expected [${expected.shape}]`;
  const e = expected.data as TensorData;
  const a = actual.data as TensorData;
  const n = e.length;
  const float = expected.dtype === 'float32' || expected.dtype === 'float16';
  for (let i = 0; i < n; i++) {
    const x = Number(a[i]);
    const y = Number(e[i]);
    if (expected.dtype === 'float16') {
      const xf = halfBitsToFloat(a[i] as number);
      const yf = halfBitsToFloat(e[i] as number);
      if (!close(xf, yf)) return `element ${i}: ${xf}, expected ${yf}`;
      continue;
    }
    if (float ? !close(x, y) : a[i] !== e[i]) return `element ${i}: ${String(a[i])}, expected ${String(e[i])}`;
  }
  return null;
}

function close(x: number, y: number): boolean {
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y);
  if (x === y) return true;
  return Math.abs(x - y) <= ATOL + RTOL * Math.abs(y);
}
