/** Shared by the CLI tests: in-process runs with captured output, a tiny ONNX model, and the onnxruntime oracle. */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import type { onnx as pb } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll } from 'vitest';
import { runCli } from '../../lib/cli/cli.js';
import type { CliIO } from '../../lib/cli/io.js';
import { lcgFloats } from '../../examples/seeded-random.js';

const onnx = onnxProto.onnx;
const T = onnx.TensorProto.DataType;

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** What one in-process CLI run printed, and its exit code. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Streams that record what is written; `tty` makes stderr look like a terminal. */
export function captureIO(tty = false): { io: CliIO; stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s), isTTY: tty, columns: 100 },
    },
    stdout: () => out,
    stderr: () => err,
  };
}

/** Runs `inferrt ...argv` in-process. */
export async function cli(argv: string[], tty = false): Promise<CliResult> {
  const c = captureIO(tty);
  const code = await runCli(argv, c.io);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

/** A fresh temporary directory, removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'inferrt-cli-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A temporary directory for the calling test file: made before its tests (and before `beforeAll` hooks registered
 * after this call), removed after them. Returns `at(name)`, the path of `name` in it.
 */
export function useTempDir(): (name: string) => string {
  let dir = '';
  let cleanup = async (): Promise<void> => {};
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterAll(() => cleanup());
  return (name) => {
    if (!dir) throw new Error('useTempDir: the directory exists only while the tests run');
    return path.join(dir, name);
  };
}

/** Deterministic floats in [-1, 1). */
export const randomFloats = lcgFloats;

export const TINY = { features: 4, hidden: 3 };

/**
 * A tiny model, built with onnx-proto's encoder:
 *   x float32 [batch, 4], mask int64 [batch, 3]
 *   'hidden/relu:0' = Relu(x @ W + b)           (a name that needs sanitizing as a file name)
 *   probs = Softmax(hidden + Cast(mask, float))  float32 [batch, 3]
 */
export function tinyModel(): Uint8Array {
  const { features: K, hidden: N } = TINY;
  const init = (name: string, dims: number[], values: Float32Array): pb.ITensorProto => ({
    name, dataType: T.FLOAT, dims, rawData: new Uint8Array(values.buffer.slice(0)),
  });
  const vi = (name: string, elemType: number, dims: Array<number | string>): pb.IValueInfoProto => ({
    name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  });
  const model: pb.IModelProto = {
    irVersion: 8,
    producerName: 'inferrt-cli-test',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'tiny',
      input: [vi('x', T.FLOAT, ['batch', K]), vi('mask', T.INT64, ['batch', N])],
      output: [vi('hidden/relu:0', T.FLOAT, ['batch', N]), vi('probs', T.FLOAT, ['batch', N])],
      initializer: [init('W', [K, N], randomFloats(K * N, 7)), init('b', [N], randomFloats(N, 8))],
      node: [
        { opType: 'MatMul', input: ['x', 'W'], output: ['mm'], name: 'matmul' },
        { opType: 'Add', input: ['mm', 'b'], output: ['pre'], name: 'bias' },
        { opType: 'Relu', input: ['pre'], output: ['hidden/relu:0'], name: 'relu' },
        { opType: 'Cast', input: ['mask'], output: ['maskf'], name: 'cast', attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: T.FLOAT }] },
        { opType: 'Add', input: ['hidden/relu:0', 'maskf'], output: ['logits'], name: 'add_mask' },
        { opType: 'Softmax', input: ['logits'], output: ['probs'], name: 'softmax', attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 }] },
      ],
    },
  };
  return onnx.ModelProto.encode(model).finish();
}

/** The exported demo CNN when another engineer's fixture is there, else undefined. */
export function demoCnnPath(): string | undefined {
  for (const p of ['test/fixtures/models/demo_cnn.onnx', 'examples/demo/demo_cnn.onnx']) {
    const full = path.join(repoRoot, p);
    if (existsSync(full)) return full;
  }
  return undefined;
}

/** onnxruntime-node's outputs for `feeds`, by name. */
export async function ortRun(model: Uint8Array | string, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = typeof model === 'string' ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** A model's graph inputs (initializers excluded), dims -1 where symbolic. */
export function onnxInputs(bytes: Uint8Array): Array<{ name: string; dims: number[] }> {
  const model = onnx.ModelProto.decode(bytes);
  const inits = new Set((model.graph?.initializer ?? []).map((t) => t.name));
  return (model.graph?.input ?? [])
    .filter((i) => !inits.has(i.name ?? ''))
    .map((i) => ({ name: i.name ?? '', dims: (i.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimValue != null && Number(d.dimValue) > 0 ? Number(d.dimValue) : -1)) }));
}

/** y = -x, x float32 [2, 4]: a one-input model. */
export function negModel(): Uint8Array {
  const vi = (name: string): pb.IValueInfoProto => ({ name, type: { tensorType: { elemType: T.FLOAT, shape: { dim: [{ dimValue: 2 }, { dimValue: 4 }] } } } });
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'neg', input: [vi('x')], output: [vi('y')], node: [{ opType: 'Neg', input: ['x'], output: ['y'], name: 'neg' }] },
  }).finish();
}

/** Largest |a - b| / max(1, |b|) over two float arrays of equal length. */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return worst;
}

export { ort };
