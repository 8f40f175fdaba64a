/**
 * Runtime: loads plans into engines (TensorRT's IRuntime). The plan is parsed and validated off the main thread;
 * a truncated, corrupted, foreign or mismatched plan is an InferrtError with code BAD_PLAN saying why.
 */
import { Engine } from './engine.js';
import { InferrtError } from './errors.js';
import { addon } from './binding.js';
import { Plan, readPlanFile } from './plan.js';
import { describeValue } from './tensor.js';

/** Loads plans. */
export class Runtime {
  private constructor() {}

  /**
   * Loads a plan — a file path (read asynchronously), plan bytes, or a {@link Plan} — into an engine.
   * BAD_PLAN when the bytes are not a valid plan for this library and machine.
   */
  static async load(pathOrBytes: string | Uint8Array | Plan): Promise<Engine> {
    let bytes: Uint8Array;
    if (typeof pathOrBytes === 'string') bytes = await readPlanFile(pathOrBytes, 'Runtime.load');
    else if (pathOrBytes instanceof Plan) bytes = pathOrBytes.bytes;
    else if (pathOrBytes instanceof Uint8Array) bytes = pathOrBytes;
    else {
      throw new InferrtError('INVALID_ARGUMENT', `Runtime.load: expected a plan file path, a Uint8Array or a Plan, got ${describeValue(pathOrBytes)}`);
    }
    return new Engine(await addon.loadEngine(bytes));
  }
}
