/**
 * Builder: turns a NetworkDefinition and a BuilderConfig into a Plan (TensorRT's IBuilder). The build runs off
 * the main thread; progress and the build log come back to JS while the event loop keeps ticking.
 */
import type { NativeBuildProgress } from './binding.js';
import { backends, backendSupports, cudaUnavailableReason, layerKinds, type Backend } from './backends.js';
import { BuilderConfig, checkOptions, formatValue, type BuilderConfigOptions, type OptimizationProfile, type PackedSequenceOptions, type ShapeRange } from './config.js';
import { didYouMean } from './suggest.js';
import { InferrtError } from './errors.js';
import { addon } from './binding.js';
import { NetworkDefinition } from './network.js';
import { calibrationScales } from './int8/calibration-run.js';
import { Plan } from './plan.js';
import { Runtime } from './runtime.js';
import type { Engine } from './engine.js';
import { describeValue, formatShape } from './tensor.js';

/** Severity of a log message, most severe first. */
export type LogSeverity = 'error' | 'warning' | 'info' | 'verbose';

/** Receives inferrt's log messages (TensorRT's ILogger). */
export type Logger = (severity: LogSeverity, message: string) => void;

/** Options of `new Builder()`. Unknown keys are rejected. */
export interface BuilderOptions {
  /**
   * Where built engines run. Default `'auto'`: `'cuda'` when `backends()` lists it (the addon was built with CUDA
   * and a GPU is visible) and the CUDA backend has kernels, else `'cpu'`. On CUDA, a layer without a GPU kernel
   * for its case runs on the CPU reference kernel with copies; the build log and `engine.layers[i].runsOn` say which.
   * Asking for `'cuda'` where it is unavailable throws CUDA_ERROR saying why.
   */
  backend?: 'auto' | Backend;
  /** CUDA device ordinal. Default `0`. Ignored by the CPU backend. */
  device?: number;
  /** Receives the build log (each line as 'info') and warnings. Default: none (use `plan.buildLog`). */
  logger?: Logger;
}

/** Progress of a build, reported through {@link BuildOptions.onProgress}. */
export interface BuildProgress {
  /**
   * The build stage: 'calibrate' (INT8 builds with a calibrator: reading its cache, or after each calibration
   * batch, with fraction 0), 'validate', 'fold', 'prune', 'fuse', 'precision', 'layout', 'sparsity' (builds with
   * `sparseWeights`), 'tactics' (CUDA builds timing GEMM algorithms; reported after each GEMM), 'cudnn'
   * (CUDA INT8 builds with tactic timing: one run at the opt shapes that chooses the cuDNN plans of the INT8 layers),
   * 'serialize', then 'done' (later builds may add stages).
   */
  stage: string;
  /** 0..1 over the whole build. */
  fraction: number;
  /** A human-readable line about the stage. */
  message: string;
}

/** Options of `builder.build()`. Unknown keys are rejected. */
export interface BuildOptions {
  /** Called on the main thread as the build advances. Default: none. An exception thrown here fails the build. */
  onProgress?: (progress: BuildProgress) => void;
  /**
   * Aborts the build: the promise rejects at once with the signal's reason. The native build cannot be
   * interrupted mid-pass; it finishes in the background and its result is dropped. Default: none.
   */
  signal?: AbortSignal;
}

const builderKeys = ['backend', 'device', 'logger'] as const;
const buildKeys = ['onProgress', 'signal'] as const;
const backendChoices = ['auto', 'cpu', 'cuda'] as const;

/** Builds plans. Holds no native resources. */
export class Builder {
  /** The backend plans are built for (resolved from 'auto'). */
  readonly backend: Backend;
  /** The CUDA device ordinal. */
  readonly device: number;
  readonly #logger: Logger | undefined;

  /** Validates `options` and resolves the backend; see {@link BuilderOptions}. */
  constructor(options: BuilderOptions = {}) {
    checkOptions(options, builderKeys, 'Builder');
    const requested = options.backend ?? 'auto';
    if (!backendChoices.includes(requested)) {
      const hint = typeof requested === 'string' ? didYouMean(requested, backendChoices) : '';
      throw new InferrtError('INVALID_ARGUMENT', `Builder: backend must be one of 'auto', 'cpu', 'cuda', got ${formatValue(requested)}${hint}`);
    }
    const device = options.device ?? 0;
    if (typeof device !== 'number' || !Number.isInteger(device) || device < 0) {
      throw new InferrtError('INVALID_ARGUMENT', `Builder: device must be a non-negative integer, got ${formatValue(device)}`);
    }
    if (options.logger !== undefined && typeof options.logger !== 'function') {
      throw new InferrtError('INVALID_ARGUMENT', `Builder: logger must be a function (severity, message) => void, got ${describeValue(options.logger)}`);
    }
    const available = backends();
    if (requested === 'cuda' && !available.includes('cuda')) {
      throw new InferrtError('CUDA_ERROR', `Builder: backend 'cuda' is not available: ${cudaUnavailableReason()}. Available backends: ${available.join(', ')}`);
    }
    // 'auto' picks CUDA only where it has kernels (an addon built without them reports none).
    const cudaRuns = available.includes('cuda') && layerKinds().some((k) => backendSupports('cuda', k));
    this.backend = requested === 'auto' ? (cudaRuns ? 'cuda' : 'cpu') : requested;
    this.device = device;
    this.#logger = options.logger;
  }

  /** A new, empty network definition. */
  createNetwork(): NetworkDefinition {
    return new NetworkDefinition();
  }

  /** A validated build configuration; see {@link BuilderConfigOptions} for each option and its default. */
  createConfig(options: BuilderConfigOptions = {}): BuilderConfig {
    return new BuilderConfig(options);
  }

  /**
   * Builds `network` under `config` into a plan, off the main thread. Checks in JS first that the network has
   * outputs and that the profiles cover every dynamic input with ranges that fit its static dims.
   */
  async build(network: NetworkDefinition, config: BuilderConfig, options: BuildOptions = {}): Promise<Plan> {
    if (!(network instanceof NetworkDefinition)) {
      throw new InferrtError('INVALID_ARGUMENT', `build: network must be a NetworkDefinition (builder.createNetwork()), got ${describeValue(network)}`);
    }
    if (!(config instanceof BuilderConfig)) {
      throw new InferrtError('INVALID_ARGUMENT', `build: config must be a BuilderConfig (builder.createConfig()), got ${describeValue(config)}`);
    }
    checkOptions(options, buildKeys, 'build');
    const { onProgress, signal } = options;
    if (onProgress !== undefined && typeof onProgress !== 'function') {
      throw new InferrtError('INVALID_ARGUMENT', `build: onProgress must be a function, got ${describeValue(onProgress)}`);
    }
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new InferrtError('INVALID_ARGUMENT', `build: signal must be an AbortSignal, got ${describeValue(signal)}`);
    }
    signal?.throwIfAborted();
    const packed = config.packedSequences;
    const profiles = resolveProfiles(network, config.profiles.length === 0 && packed ? [paddedProfile(network, packed)] : config.profiles);
    const nativeConfig = config.toNative(this.backend, profiles);

    let callbackError: unknown;
    let aborted = false;
    const progress = (p: NativeBuildProgress): void => {
      if (aborted || callbackError !== undefined) return;
      this.#logger?.('verbose', `[${p.stage} ${Math.round(p.fraction * 100)}%] ${p.message}`);
      if (!onProgress) return;
      try {
        onProgress({ stage: p.stage, fraction: p.fraction, message: p.message });
      } catch (e) {
        callbackError = e;
      }
    };
    if (config.int8Calibrator) {
      const scales = await calibrationScales(config.int8Calibrator, network, () => this.#fp32Engine(network, config, signal),
        (message) => progress({ stage: 'calibrate', fraction: 0, message }), signal);
      if (callbackError !== undefined) throw callbackError;
      nativeConfig.int8Scales = Object.fromEntries(scales);
    }
    const work = addon.buildPlan(network.native(), nativeConfig, onProgress || this.#logger ? progress : null);
    const result = await raceAbort(work, signal, () => {
      aborted = true;
    });
    if (callbackError !== undefined) throw callbackError;
    for (const line of result.log) this.#logger?.('info', line);
    return new Plan(result.plan, result.log);
  }

  /** The strict-fp32 engine that calibration runs: `config`'s profiles, no tactic timing. */
  async #fp32Engine(network: NetworkDefinition, config: BuilderConfig, signal: AbortSignal | undefined): Promise<Engine> {
    const fp32 = new BuilderConfig({ precision: [], profiles: config.profiles, tacticTiming: false });
    return Runtime.load(await this.build(network, fp32, signal ? { signal } : {}));
  }
}

/** Resolves when `work` does, or rejects with the signal's reason as soon as it aborts. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined, onAbort: () => void): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => {
      onAbort();
      reject(signal.reason);
    };
    signal.addEventListener('abort', abort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', abort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(e);
      },
    );
  });
}

/**
 * The profile a packed-sequence build falls back to when the network is not rewritten: every [batch, sequence]
 * input from 1 x 1 to maxBatch x maxSequenceLength (static dims kept); other inputs are left to resolveProfiles.
 */
function paddedProfile(network: NetworkDefinition, packed: Readonly<Required<PackedSequenceOptions>>): OptimizationProfile {
  const profile: OptimizationProfile = {};
  for (const input of network.inputs) {
    const dims = input.dims;
    if (dims.length !== 2 || dims.every((d) => d >= 0)) continue;
    const pick = (d: number, value: number): number => (d >= 0 ? d : value);
    profile[input.name] = {
      min: [pick(dims[0], 1), pick(dims[1], 1)],
      opt: [pick(dims[0], packed.optBatch), pick(dims[1], packed.maxSequenceLength)],
      max: [pick(dims[0], packed.maxBatch), pick(dims[1], packed.maxSequenceLength)],
    };
  }
  return profile;
}

/**
 * Checks the profiles against the network's inputs and completes them: static inputs a profile leaves out get
 * min = opt = max = their dims, so the addon sees every input in every profile.
 */
function resolveProfiles(network: NetworkDefinition, profiles: OptimizationProfile[]): OptimizationProfile[] {
  const inputs = network.inputs.map((t) => ({ name: t.name, dims: t.dims }));
  if (network.outputs.length === 0) {
    throw new InferrtError('INVALID_MODEL', 'build: the network has no outputs; mark at least one with network.markOutput(tensor)');
  }
  const dynamic = inputs.filter((i) => i.dims.some((d) => d < 0));
  if (profiles.length === 0 && dynamic.length > 0) {
    const list = dynamic.map((i) => `'${i.name}' ${formatShape(i.dims)}`).join(', ');
    throw new InferrtError(
      'INVALID_ARGUMENT',
      `build: the network has dynamic inputs (${list}); give an optimization profile with a { min, opt, max } range for each (createConfig({ profiles: [...] }))`,
    );
  }
  const names = inputs.map((i) => i.name);
  return profiles.map((profile, p) => {
    for (const name of Object.keys(profile)) {
      if (!names.includes(name)) {
        throw new InferrtError('INVALID_ARGUMENT', `build: profiles[${p}] names '${name}', which is not a network input${didYouMean(name, names)}; inputs: ${names.join(', ')}`);
      }
    }
    const out: OptimizationProfile = {};
    for (const input of inputs) {
      const range = profile[input.name];
      if (!range) {
        if (input.dims.some((d) => d < 0)) {
          throw new InferrtError('INVALID_ARGUMENT', `build: profiles[${p}] has no range for input '${input.name}' with dynamic dims ${formatShape(input.dims)}; every profile must cover every dynamic input`);
        }
        out[input.name] = { min: [...input.dims], opt: [...input.dims], max: [...input.dims] };
        continue;
      }
      checkRangeAgainstDims(range, input.dims, `build: profiles[${p}].${input.name}`);
      out[input.name] = range;
    }
    return out;
  });
}

function checkRangeAgainstDims(range: ShapeRange, dims: number[], what: string): void {
  if (range.min.length !== dims.length) {
    throw new InferrtError('SHAPE_MISMATCH', `${what}: the input has rank ${dims.length} ${formatShape(dims)} but the range has rank ${range.min.length}`);
  }
  dims.forEach((d, i) => {
    if (d < 0) return;
    for (const k of ['min', 'opt', 'max'] as const) {
      if (range[k][i] !== d) {
        throw new InferrtError('SHAPE_MISMATCH', `${what}.${k}[${i}] must be ${d} (the input's static dim), got ${range[k][i]}`);
      }
    }
  });
}
