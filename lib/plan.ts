/**
 * Plan: a built engine as bytes (TensorRT's serialized engine, "plan file"). Self-describing: a header with
 * magic, format and library versions, backend and GPU architecture, and a checksum; `Runtime.load` validates it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { InferrtError } from './errors.js';
import { describeValue } from './tensor.js';

/** A serialized engine. Create with `builder.build()`, `Plan.load(path)` or `new Plan(bytes)`. */
export class Plan {
  /** The plan bytes. Not validated until `Runtime.load`. */
  readonly bytes: Uint8Array;
  /** Log lines the builder wrote while building this plan (empty for a plan read from bytes or a file). */
  readonly buildLog: readonly string[];

  /** Wraps plan bytes (not copied). */
  constructor(bytes: Uint8Array, buildLog: readonly string[] = []) {
    if (!(bytes instanceof Uint8Array)) {
      throw new InferrtError('INVALID_ARGUMENT', `Plan: bytes must be a Uint8Array, got ${describeValue(bytes)}`);
    }
    this.bytes = bytes;
    this.buildLog = Object.freeze([...buildLog]);
  }

  /** Size in bytes. */
  get byteLength(): number {
    return this.bytes.byteLength;
  }

  /** Writes the plan to `path` (conventionally `*.plan`), replacing any file there. */
  async save(path: string): Promise<void> {
    if (typeof path !== 'string' || path === '') {
      throw new InferrtError('INVALID_ARGUMENT', `Plan.save: path must be a non-empty string, got ${describeValue(path)}`);
    }
    await writeFile(path, this.bytes);
  }

  /** Reads a plan file (asynchronously). The bytes are validated when the plan is loaded into an engine. */
  static async load(path: string): Promise<Plan> {
    return new Plan(await readPlanFile(path, 'Plan.load'));
  }
}

/** @internal Reads a plan file; a missing/unreadable file is INVALID_ARGUMENT naming the path. */
export async function readPlanFile(path: string, what: string): Promise<Uint8Array> {
  if (typeof path !== 'string' || path === '') {
    throw new InferrtError('INVALID_ARGUMENT', `${what}: path must be a non-empty string, got ${describeValue(path)}`);
  }
  try {
    const buf = await readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new InferrtError('INVALID_ARGUMENT', `${what}: cannot read plan file '${path}': ${err.code ?? err.message}`);
  }
}
