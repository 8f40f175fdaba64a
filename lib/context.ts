/**
 * ExecutionContext: runs an engine (TensorRT's IExecutionContext). Each context has its own active profile,
 * input shapes and activation memory. `infer` validates inputs in JS, then runs off the main thread; calls on one
 * context run one after another (a promise queue), calls on different contexts may overlap.
 */
import type { NativeContext, NativeHostTensor } from './binding.js';
import { formatValue, isPlainObject } from './config.js';
import { didYouMean } from './suggest.js';
import type { Engine, TensorInfo } from './engine.js';
import { DeviceBuffer } from './cuda/device-buffer.js';
import { Stream } from './cuda/stream.js';
import { bytesOf, dtypeCode, matchesDType, type DType } from './dtypes.js';
import { DisposedError, InferrtError } from './errors.js';
import {
  describeValue, formatShape, fromNativeTensor, isTensorData, shapeSize, typedArrayName, type Tensor, type TensorInput,
} from './tensor.js';

/** What `ExecutionContext.layerTimes()` returns: GPU milliseconds summed over `runs` profiled runs. */
export interface LayerTimes {
  runs: number;
  msByKind: Record<string, number>;
  msByLayer: Record<string, number>;
}

/** Runs inference on an engine. Create with `engine.createContext()`; dispose it (or use `using`) when done. */
export class ExecutionContext implements Disposable {
  readonly #engine: Engine;
  #native: NativeContext | null;
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  /** Input shapes given to the latest infer() (queued or running) or setInputShape, by name; what a bare array takes. */
  #shapes = new Map<string, number[]>();

  /** @internal Contexts come from `engine.createContext()`. */
  constructor(engine: Engine, native: NativeContext) {
    this.#engine = engine;
    this.#native = native;
  }

  /** The engine this context runs. */
  get engine(): Engine {
    return this.#engine;
  }

  /** Whether `dispose()` (or the engine's) has been called. */
  get disposed(): boolean {
    return this.#native === null;
  }

  /**
   * Device memory this context holds, in bytes: its activation arena (sized by tensor liveness for the active
   * profile's largest shapes when created; grown if a run needs more) plus kernel scratch and the host-known
   * values of each cached shape signature. 0 on the CPU backend.
   */
  get deviceMemorySize(): number {
    return this.live('deviceMemorySize').deviceMemorySize();
  }

  /**
   * With `profileLayers: true` on a CUDA engine: GPU milliseconds summed over the runs so far, per layer kind
   * (conversions between fp32 and fp16 layers and CPU-fallback layers are listed as such) and per layer name.
   * Empty otherwise.
   */
  layerTimes(): LayerTimes {
    const native = this.live('layerTimes');
    this.notBusy('layerTimes');
    return native.layerTimes();
  }

  /** The active optimization profile. */
  get profile(): number {
    return this.live('profile').getOptimizationProfile();
  }

  /**
   * Selects the optimization profile whose ranges input shapes are checked against (default 0). Input shapes set
   * before are kept where they lie in the new profile's ranges and forgotten otherwise. Not allowed while an
   * `infer` on this context is pending.
   */
  setOptimizationProfile(index: number): void {
    const native = this.live('setOptimizationProfile');
    this.notBusy('setOptimizationProfile');
    checkProfileIndex(index, this.#engine.numProfiles, 'setOptimizationProfile: index');
    native.setOptimizationProfile(index);
    this.#shapes.clear();
  }

  /**
   * Sets an input's shape (needed before `infer` when an input with dynamic dims is passed as a bare typed array,
   * or to query output shapes). SHAPE_MISMATCH when outside the active profile's range. Not allowed while an
   * `infer` on this context is pending.
   */
  setInputShape(name: string, dims: readonly number[]): void {
    const native = this.live('setInputShape');
    this.notBusy('setInputShape');
    const info = this.input(name, 'setInputShape');
    checkInputShape(info, dims, this.profileIndex(native), 'setInputShape');
    native.setInputShape(name, [...dims]);
    this.#shapes.set(name, [...dims]);
  }

  /** Current dims of an input or output: outputs follow from the input shapes set so far (-1 where still unknown). */
  getTensorShape(name: string): number[] {
    const native = this.live('getTensorShape');
    this.#engine.getTensorInfo(name);
    return native.getTensorShape(name);
  }

  /**
   * Runs the engine on `inputs` (every input, by name) and resolves to every output, by name, as typed arrays
   * (bool as Uint8Array, float16 as Uint16Array bits). Names, dtypes and shapes are checked here first:
   * INVALID_ARGUMENT for unknown or missing names, DTYPE_MISMATCH for the wrong typed array, SHAPE_MISMATCH for a
   * shape outside the active profile or data of the wrong length. The input shapes given become the context's.
   * Input data is copied before this returns, so the caller may reuse its buffers at once.
   */
  infer(inputs: Record<string, TensorInput>): Promise<Record<string, Tensor>> {
    let prepared: Record<string, NativeHostTensor>;
    try {
      const native = this.live('infer');
      prepared = this.prepare(inputs, native);
    } catch (e) {
      return Promise.reject(e);
    }
    const run = async (): Promise<Record<string, Tensor>> => {
      const native = this.live('infer');
      for (const [name, t] of Object.entries(prepared)) native.setInputShape(name, t.dims);
      const out = await native.infer(prepared);
      const result: Record<string, Tensor> = {};
      for (const name of this.#engine.outputNames()) {
        const t = out[name];
        if (!t) throw new InferrtError('INTERNAL', `infer: the addon returned no output '${name}'`);
        result[name] = fromNativeTensor(t);
      }
      return result;
    };
    // An idle context starts at once (the addon copies the inputs before native.infer returns); a busy one
    // copies them now, so the caller may reuse its buffers either way.
    return this.schedule(run, () => {
      for (const t of Object.values(prepared)) t.data = t.data.slice();
    });
  }

  /**
   * Binds an input or output to device memory for {@link enqueue} (TensorRT's `setTensorAddress`); `null`
   * unbinds it. While bound, the context keeps the buffer's memory alive (even if the buffer is disposed). CUDA
   * engines only; the buffer must be on the engine's device and, at enqueue time, large enough for the tensor.
   */
  setTensorAddress(name: string, buffer: DeviceBuffer | null): void {
    const native = this.live('setTensorAddress');
    this.notBusy('setTensorAddress');
    if (buffer !== null && !(buffer instanceof DeviceBuffer)) {
      throw new InferrtError('INVALID_ARGUMENT', `setTensorAddress: buffer must be a DeviceBuffer or null, got ${formatValue(buffer)}`);
    }
    native.setTensorAddress(name, buffer === null ? null : buffer.native('setTensorAddress'));
  }

  /**
   * Enqueues a run on `stream` with every input and output bound by {@link setTensorAddress} (TensorRT's
   * `enqueueV3`): inputs are read in place on the GPU and outputs written into their buffers, with no host
   * copies; input shapes are those set with {@link setInputShape}. The run starts after the work already queued
   * on `stream`, and later work on `stream` waits for it. Resolves once the run is enqueued (shape planning and
   * the first run of a shape happen off the main thread); `await stream.synchronize()` before reading outputs.
   * An index out of range found on the GPU during an enqueued run is reported by this context's next call.
   */
  enqueue(stream: Stream): Promise<void> {
    try {
      this.live('enqueue');
      if (!(stream instanceof Stream)) throw new InferrtError('INVALID_ARGUMENT', `enqueue: stream must be a Stream, got ${formatValue(stream)}`);
      stream.native('enqueue');
    } catch (e) {
      return Promise.reject(e);
    }
    return this.schedule(() => this.live('enqueue').enqueue(stream.native('enqueue')));
  }

  /**
   * Calls on one context run one after another: `run` starts at once on an idle context, else after the calls
   * queued before it (`whenQueued` runs first, synchronously, e.g. to copy inputs the caller may reuse).
   */
  private schedule<T>(run: () => Promise<T>, whenQueued?: () => void): Promise<T> {
    this.#pending++;
    let started: Promise<T>;
    if (this.#pending === 1) started = run();
    else {
      whenQueued?.();
      started = this.#tail.then(run, run);
    }
    const job = started.finally(() => {
      this.#pending--;
    });
    this.#tail = job.then(noop, noop);
    return job;
  }

  /**
   * Frees the context's memory. An `infer` already running finishes first (memory is released after it);
   * queued calls and anything called afterwards reject with DisposedError. Safe to call twice.
   */
  dispose(): void {
    void this.disposeAndDrain();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal Disposes and resolves once the native context has been released. */
  disposeAndDrain(): Promise<void> {
    const native = this.#native;
    if (!native) return this.#tail;
    this.#native = null;
    if (this.#pending === 0) {
      native.dispose();
      return Promise.resolve();
    }
    // Released after the running call; a failure to release has no caller left to report to.
    this.#tail = this.#tail.then(() => {
      try {
        native.dispose();
      } catch {
        /* already released */
      }
    });
    return this.#tail;
  }

  private live(what: string): NativeContext {
    if (!this.#native) throw new DisposedError(`ExecutionContext (${what})`);
    return this.#native;
  }

  private notBusy(what: string): void {
    if (this.#pending > 0) {
      throw new InferrtError('INVALID_ARGUMENT', `${what}: an infer() on this context is still pending; await it first (infer() takes each input's shape from the tensors it is given)`);
    }
  }

  private profileIndex(native: NativeContext): number {
    return native.getOptimizationProfile();
  }

  private input(name: unknown, what: string): TensorInfo {
    const info = typeof name === 'string' ? this.#engine.inputInfo(name) : undefined;
    if (info) return info;
    const inputs = this.#engine.inputNames();
    const isOutput = typeof name === 'string' && this.#engine.outputNames().includes(name);
    const hint = isOutput ? ` ('${name}' is an output)` : typeof name === 'string' ? didYouMean(name, inputs) : '';
    throw new InferrtError('INVALID_ARGUMENT', `${what}: ${describeName(name)} is not an input of the engine${hint}; inputs: ${inputs.join(', ')}`);
  }

  /** Validates every input and turns it into the addon's form. */
  private prepare(inputs: Record<string, TensorInput>, native: NativeContext): Record<string, NativeHostTensor> {
    if (!isPlainObject(inputs)) {
      throw new InferrtError('INVALID_ARGUMENT', `infer: inputs must be an object mapping input names to tensors, got ${describeValue(inputs)}`);
    }
    const expected = this.#engine.inputNames();
    for (const name of Object.keys(inputs)) this.input(name, 'infer');
    const missing = expected.filter((n) => inputs[n] === undefined);
    if (missing.length > 0) {
      throw new InferrtError('INVALID_ARGUMENT', `infer: missing input${missing.length > 1 ? 's' : ''} ${missing.map((n) => `'${n}'`).join(', ')}; expected inputs: ${expected.join(', ')}`);
    }
    const profile = this.profileIndex(native);
    const out: Record<string, NativeHostTensor> = {};
    for (const name of expected) {
      const info = this.#engine.inputInfo(name)!;
      const given = inputs[name];
      let data: unknown;
      let shape: readonly number[];
      if (isTensorData(given)) {
        data = given;
        // The shape of the latest infer() even while it is still queued (the native context has not seen it yet).
        shape = this.#shapes.get(name) ?? native.getTensorShape(name);
        if (shape.some((d) => d < 0)) {
          throw new InferrtError('INVALID_ARGUMENT', `infer: input '${name}' was given as a bare ${describeValue(given)}, but its shape ${formatShape(shape)} is not known yet; pass { data, shape } or call setInputShape('${name}', dims) first`);
        }
      } else if (isPlainObject(given)) {
        data = given.data;
        shape = given.shape as readonly number[];
        if (!isTensorData(data)) {
          throw new InferrtError('INVALID_ARGUMENT', `infer: input '${name}'.data must be a typed array (${typedArrayName[info.dtype]}), got ${describeValue(data)}`);
        }
        checkDataDType(info, data);
        // The data fits; a dtype label must agree too (a Uint8Array labelled 'uint8' is not a 'bool' input).
        const dtype = given.dtype as DType | undefined;
        if (dtype !== undefined) {
          dtypeCode(dtype, `infer: input '${name}'.dtype`);
          if (dtype !== info.dtype) {
            throw new InferrtError('DTYPE_MISMATCH', `infer: input '${name}' must be ${info.dtype} (${typedArrayName[info.dtype]}), got dtype '${dtype}'`);
          }
        }
      } else {
        throw new InferrtError('INVALID_ARGUMENT', `infer: input '${name}' must be a tensor { data, shape, dtype? } or a typed array, got ${describeValue(given)}`);
      }
      checkDataDType(info, data);
      checkInputShape(info, shape, profile, 'infer');
      const length = (data as { length: number }).length;
      if (length !== shapeSize(shape)) {
        throw new InferrtError('SHAPE_MISMATCH', `infer: input '${name}' has shape ${formatShape(shape)} (${shapeSize(shape)} elements) but its data has ${length}`);
      }
      out[name] = { dtype: dtypeCode(info.dtype), dims: [...shape], data: bytesOf(data as ArrayBufferView) };
    }
    for (const [name, t] of Object.entries(out)) this.#shapes.set(name, [...t.dims]);
    return out;
  }
}

/** @internal Checks a profile index against the engine's profile count. */
export function checkProfileIndex(index: unknown, numProfiles: number, what: string): asserts index is number {
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= numProfiles) {
    throw new InferrtError('INVALID_ARGUMENT', `${what} must be an integer in [0, ${numProfiles}) (the engine has ${numProfiles} profile${numProfiles === 1 ? '' : 's'}), got ${formatValue(index)}`);
  }
}

function checkDataDType(info: TensorInfo, data: unknown): void {
  if (!matchesDType(info.dtype, data)) {
    throw new InferrtError('DTYPE_MISMATCH', `infer: input '${info.name}' must be ${info.dtype} (${typedArrayName[info.dtype]}), got ${describeValue(data)}`);
  }
}

/** Checks dims against an input's rank, static dims and the profile's range (SHAPE_MISMATCH). */
function checkInputShape(info: TensorInfo, dims: unknown, profile: number, what: string): asserts dims is number[] {
  const name = info.name;
  if (!Array.isArray(dims) || dims.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 0)) {
    throw new InferrtError('INVALID_ARGUMENT', `${what}: shape of input '${name}' must be an array of non-negative integers, got ${Array.isArray(dims) ? `[${dims.map(String).join(', ')}]` : describeValue(dims)}`);
  }
  if (dims.length !== info.dims.length) {
    throw new InferrtError('SHAPE_MISMATCH', `${what}: input '${name}' must have rank ${info.dims.length} ${formatShape(info.dims)}, got shape ${formatShape(dims)}`);
  }
  const range = info.profiles[profile];
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i]!;
    if (info.dims[i]! >= 0 && d !== info.dims[i]) {
      throw new InferrtError('SHAPE_MISMATCH', `${what}: input '${name}' dim ${i} must be ${info.dims[i]}, got ${d} (shape ${formatShape(dims)}, expected ${formatShape(info.dims)})`);
    }
    if (range && (d < range.min[i]! || d > range.max[i]!)) {
      throw new InferrtError(
        'SHAPE_MISMATCH',
        `${what}: input '${name}' shape ${formatShape(dims)} is outside optimization profile ${profile}: dim ${i} must be in [${range.min[i]}, ${range.max[i]}], got ${d} (min ${formatShape(range.min)}, max ${formatShape(range.max)})`,
      );
    }
  }
}

function describeName(name: unknown): string {
  return typeof name === 'string' ? `'${name}'` : describeValue(name);
}

function noop(): void {}
