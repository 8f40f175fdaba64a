/**
 * BuilderConfig: how the builder may build an engine (TensorRT's IBuilderConfig) — which reduced precisions it
 * may use, the workspace limit, and the optimization profiles that bound every dynamic input dimension.
 * Options are validated here, in JS, so a typo fails at once with the option path in the message.
 */
import type { NativeBuildConfig, NativeShapeRange } from './binding.js';
import { InferrtError } from './errors.js';
import { Calibrator } from './int8/calibrators.js';
import { didYouMean } from './suggest.js';
import { describeValue } from './tensor.js';

/** Reduced precisions the builder may choose for layers that would otherwise run in fp32. */
export type Precision = 'tf32' | 'fp16' | 'int8';

/** The shapes one input may take in one profile: every dim satisfies min <= opt <= max; kernels are tuned for `opt`. */
export interface ShapeRange {
  min: number[];
  opt: number[];
  max: number[];
}

/** One optimization profile: a shape range for each input, by name. Inputs with only static dims may be left out. */
export type OptimizationProfile = Record<string, ShapeRange>;

/** Options of `builder.createConfig`. Unknown keys are rejected. */
export interface BuilderConfigOptions {
  /**
   * The reduced precisions layers may use besides fp32. Default `['tf32']`: fp32 math may use TF32 on GPUs that
   * have it, as in TensorRT. The list is taken literally: `['fp16']` alone disallows TF32 for the layers that stay
   * fp32 (write `['tf32', 'fp16']` to keep it); `[]` means plain fp32 everywhere. On the CPU backend each precision
   * is emulated (tensors rounded where the GPU path stores them) so CPU results predict GPU accuracy.
   */
  precision?: Precision[];
  /** Run fp32 layers in full fp32, never TF32. Default `false`. Contradicts an explicit `'tf32'` in `precision`. */
  strictFp32?: boolean;
  /**
   * 2:4 structured-sparse weights (TensorRT's kSPARSE_WEIGHTS). Every MatMul / Convolution layer whose constant
   * weights have at most two non-zeros in every four consecutive elements along the reduction dimension is
   * eligible (in INT8 builds, also each INT8 MatMul by its int8 weights). `true`: a CUDA build times a cuSPARSELt
   * sparse kernel against the dense GEMM for each eligible MatMul (INT8 MatMuls: the int8 sparse GEMM against the
   * dense int8 GEMM, with bit-identical results either way; 1x1 stride-1 unpadded channels-last convolutions:
   * against cuDNN) and keeps the faster. `'force'`: the sparse kernel wherever it takes the layer, even when slower (for
   * tests and measurements). Weights are never pruned by this option (`inferrt prune` does that); the CPU backend
   * only reports eligibility. `engine.layers[i].sparsity` and the build log say what was found. Default `false`.
   */
  sparseWeights?: boolean | 'force';
  /**
   * Compute the exact (erf) GELUs that the builder fuses into GEMM layers with the tanh approximation
   * 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), which CUDA builds then get from cuBLASLt's GELU epilogue inside
   * the GEMM instead of a separate pass over its output (cuBLASLt has no erf GELU). On BERT-large's feed-forward
   * GEMM this saves about a third of the layer's time. The two forms differ by at most about 5e-4 (near x = −2.7),
   * so outputs move slightly: check them against your accuracy needs. TensorRT's BERT sample makes the same
   * trade. GELUs that stay separate layers remain exact; both backends compute the same formula. With
   * `sparseWeights`, the sparse kernel's timing counts the GELU pass it still needs. Default `false`.
   */
  approximateGelu?: boolean;
  /** Upper bound in bytes on scratch memory any one layer's implementation may use. Default `0`: no limit. */
  workspaceBytes?: number;
  /** Optimization profiles; required (at least one) when the network has dynamic input dims. Default `[]`. */
  profiles?: OptimizationProfile[];
  /**
   * CUDA builds: time the algorithms cuBLASLt offers for each MatMul layer's GEMM at the first profile's opt
   * shapes and record the fastest in the plan (TensorRT's tactic selection; `engine.layers[i].tactic` shows
   * it). Default `true`; `false` builds faster and leaves the choice to cuBLASLt's heuristic at run time.
   * Ignored on the CPU backend.
   */
  tacticTiming?: boolean;
  /**
   * Path of a timing cache file (TensorRT's timing cache, trtexec's `--timingCacheFile`): read when the build
   * starts (a missing file is an empty cache; a malformed one fails the build naming the file and line), its
   * entries for this GPU and cuBLASLt version used instead of timing those GEMMs again, and written back with
   * what this build timed when it ends (through a temporary file and a rename). Entries of other GPUs or library
   * versions are kept. Default: none.
   */
  timingCache?: string;
  /**
   * Run 2-D convolutions and poolings channels-last (NHWC), with transposes where they meet NCHW layers: cuDNN's
   * fp16 tensor-core kernels want NHWC. Convolutions qualify when their input and output channels per group are
   * multiples of 8 (depthwise ones when the channel count is), and stems with 1 to 7 input channels (group 1, output
   * channels a multiple of 8) with their input zero-padded to 8 channels; layers between qualifying ones follow. Default
   * `'auto'`: on for the CUDA backend with `'fp16'` in `precision`, for the layers that run in fp16; off on the
   * CPU. `true` converts every qualifying layer on any backend and precision; `false` never.
   */
  channelsLast?: boolean | 'auto';
  /**
   * The INT8 calibrator (TensorRT's `setInt8Calibrator`): `EntropyCalibrator`, `MinMaxCalibrator` or
   * `PercentileCalibrator`. Needs `'int8'` in `precision`. Before the build, the network runs in fp32 on the
   * calibrator's batches (or its cache file is read) and every MatMul / Convolution input gets a scale; those layers
   * then run in int8 with per-channel weight scales, the rest in fp16 / fp32. Without a calibrator, only a network's
   * own QuantizeLinear / DequantizeLinear scales (explicit quantization) make INT8 layers. Default: none.
   */
  int8Calibrator?: Calibrator;
  /**
   * Variable-length BERT over packed tokens (TensorRT-style "varseqlen"). When the network is a BERT / RoBERTa
   * encoder (a HuggingFace-style ONNX export: inputs input_ids, attention_mask, token_type_ids?), the builder
   * rebuilds it from the BERT plugins with no padding: the engine's inputs become `input_ids` int32 [T],
   * `segment_ids` int32 [T] (when the model has token_type_ids) and `cu_seqlens` int32 [B+1] (sequence start
   * offsets, as `packSequences` makes them), and `last_hidden_state` is [T, H] (`unpackSequences` cuts it per
   * request); a pooler output stays [B, H]. The rewrite replaces `profiles` with the packed one; `'int8'` cannot be
   * combined with it. When the network is not recognized the build log says why and the engine is the padded one,
   * with the profile 1..maxBatch x 1..maxSequenceLength unless `profiles` gives one. Default: none.
   */
  packedSequences?: PackedSequenceOptions;
}

/** Bounds of a packed-sequence engine (see {@link BuilderConfigOptions.packedSequences}). */
export interface PackedSequenceOptions {
  /** The longest sequence a request may have (at most the model's position embeddings allow). */
  maxSequenceLength: number;
  /** The most sequences in one run. */
  maxBatch: number;
  /** The most tokens in one run, all sequences together. Default maxBatch × maxSequenceLength. */
  maxTokens?: number;
  /** The token count kernels are tuned for. Default: maxBatch × the mean of 1 and maxSequenceLength, at most maxTokens. */
  optTokens?: number;
  /** The sequence count kernels are tuned for. Default maxBatch. */
  optBatch?: number;
}

const optionKeys = ['precision', 'strictFp32', 'sparseWeights', 'approximateGelu', 'workspaceBytes', 'profiles', 'tacticTiming', 'timingCache', 'channelsLast', 'int8Calibrator', 'packedSequences'] as const;
const packedKeys = ['maxSequenceLength', 'maxBatch', 'maxTokens', 'optTokens', 'optBatch'] as const;
const precisions: readonly Precision[] = ['tf32', 'fp16', 'int8'];

/** The validated build configuration. Create with `builder.createConfig(options)`. */
export class BuilderConfig {
  /** The allowed reduced precisions (see {@link BuilderConfigOptions.precision}). */
  readonly precision: readonly Precision[];
  readonly strictFp32: boolean;
  readonly sparseWeights: boolean | 'force';
  /** Whether fused GELUs use the tanh approximation (see {@link BuilderConfigOptions.approximateGelu}). */
  readonly approximateGelu: boolean;
  readonly workspaceBytes: number;
  /** Whether CUDA builds time GEMM algorithms (see {@link BuilderConfigOptions.tacticTiming}). */
  readonly tacticTiming: boolean;
  /** The timing cache file, if any (see {@link BuilderConfigOptions.timingCache}). */
  readonly timingCache: string | undefined;
  /** The channels-last choice (see {@link BuilderConfigOptions.channelsLast}). */
  readonly channelsLast: boolean | 'auto';
  /** The INT8 calibrator, if any (see {@link BuilderConfigOptions.int8Calibrator}). */
  readonly int8Calibrator: Calibrator | undefined;
  /** The packed-sequence bounds with defaults filled in, if any (see {@link BuilderConfigOptions.packedSequences}). */
  readonly packedSequences: Readonly<Required<PackedSequenceOptions>> | undefined;
  #profiles: OptimizationProfile[] = [];

  /** Validates `options`; throws INVALID_ARGUMENT naming the option path. */
  constructor(options: BuilderConfigOptions = {}) {
    const what = 'createConfig';
    checkOptions(options, optionKeys, what);
    this.strictFp32 = optionalBoolean(options.strictFp32, `${what}: strictFp32`) ?? false;
    if (options.sparseWeights !== undefined && typeof options.sparseWeights !== 'boolean' && options.sparseWeights !== 'force') {
      throw new InferrtError('INVALID_ARGUMENT', `${what}: sparseWeights must be true, false or 'force', got ${JSON.stringify(options.sparseWeights)}`);
    }
    this.sparseWeights = options.sparseWeights ?? false;
    this.approximateGelu = optionalBoolean(options.approximateGelu, `${what}: approximateGelu`) ?? false;
    if (options.precision === undefined) {
      this.precision = Object.freeze(this.strictFp32 ? [] : ['tf32']);
    } else {
      this.precision = Object.freeze(checkPrecision(options.precision, `${what}: precision`));
      if (this.strictFp32 && this.precision.includes('tf32')) {
        throw new InferrtError('INVALID_ARGUMENT', `${what}: strictFp32 is true but precision lists 'tf32'; drop one of them`);
      }
    }
    const ws = options.workspaceBytes ?? 0;
    if (typeof ws !== 'number' || !Number.isSafeInteger(ws) || ws < 0) {
      throw new InferrtError('INVALID_ARGUMENT', `${what}: workspaceBytes must be a non-negative integer, got ${String(ws)}`);
    }
    this.workspaceBytes = ws;
    this.tacticTiming = optionalBoolean(options.tacticTiming, `${what}: tacticTiming`) ?? true;
    const cache = options.timingCache;
    if (cache !== undefined && (typeof cache !== 'string' || cache === '' || cache.includes('\0'))) {
      throw new InferrtError('INVALID_ARGUMENT', `${what}: timingCache must be a non-empty file path string, got ${formatValue(cache)}`);
    }
    this.timingCache = cache;
    const cl = options.channelsLast === undefined ? 'auto' : options.channelsLast;
    if (cl !== true && cl !== false && cl !== 'auto') {
      throw new InferrtError('INVALID_ARGUMENT', `${what}: channelsLast must be true, false or 'auto', got ${formatValue(cl)}`);
    }
    this.channelsLast = cl;
    const calibrator = options.int8Calibrator;
    if (calibrator !== undefined && !(calibrator instanceof Calibrator)) {
      throw new InferrtError('INVALID_ARGUMENT', `${what}: int8Calibrator must be an EntropyCalibrator, MinMaxCalibrator or PercentileCalibrator, got ${describeValue(calibrator)}`);
    }
    if (calibrator && !this.precision.includes('int8')) {
      throw new InferrtError('INVALID_ARGUMENT', `${what}: int8Calibrator needs 'int8' in precision, got precision [${this.precision.map((p) => `'${p}'`).join(', ')}]`);
    }
    this.int8Calibrator = calibrator;
    this.packedSequences = options.packedSequences === undefined ? undefined : checkPacked(options.packedSequences, `${what}: packedSequences`);
    if (this.packedSequences && this.precision.includes('int8')) {
      // The rewrite renames the tensors that calibration scales are keyed by, and its plugins have no int8 kernels.
      throw new InferrtError('INVALID_ARGUMENT', `${what}: packedSequences runs the encoder's plugins in fp16 / fp32; it cannot be combined with 'int8' in precision yet`);
    }
    if (options.profiles !== undefined) {
      if (!Array.isArray(options.profiles)) {
        throw new InferrtError('INVALID_ARGUMENT', `${what}: profiles must be an array of profiles, got ${describeValue(options.profiles)}`);
      }
      options.profiles.forEach((p, i) => this.#profiles.push(checkProfile(p, `${what}: profiles[${i}]`)));
    }
  }

  /** Whether fp32 layers may use TF32. */
  get tf32(): boolean {
    return this.precision.includes('tf32');
  }
  get fp16(): boolean {
    return this.precision.includes('fp16');
  }
  get int8(): boolean {
    return this.precision.includes('int8');
  }

  /** The profiles added so far (copies). */
  get profiles(): OptimizationProfile[] {
    return this.#profiles.map(copyProfile);
  }
  get numProfiles(): number {
    return this.#profiles.length;
  }

  /** Adds a profile (validated like `createConfig`'s) and returns its index. */
  addOptimizationProfile(profile: OptimizationProfile): number {
    this.#profiles.push(checkProfile(profile, `addOptimizationProfile: profiles[${this.#profiles.length}]`));
    return this.#profiles.length - 1;
  }

  /** @internal The addon's form, for `backend`. */
  toNative(backend: string, profiles: OptimizationProfile[]): NativeBuildConfig {
    return {
      fp16: this.fp16,
      int8: this.int8,
      tf32: this.tf32,
      sparseWeights: this.sparseWeights !== false,
      sparseForce: this.sparseWeights === 'force',
      approximateGelu: this.approximateGelu,
      workspaceBytes: this.workspaceBytes,
      backend,
      tacticTiming: this.tacticTiming,
      ...(this.timingCache !== undefined ? { timingCache: this.timingCache } : {}),
      channelsLast: this.channelsLast,
      ...(this.packedSequences ? { packedSequences: { ...this.packedSequences } } : {}),
      profiles: profiles.map((p) => {
        const out: Record<string, NativeShapeRange> = {};
        for (const [name, r] of Object.entries(p)) out[name] = { min: [...r.min], opt: [...r.opt], max: [...r.max] };
        return out;
      }),
    };
  }
}

function checkPacked(value: unknown, what: string): Readonly<Required<PackedSequenceOptions>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InferrtError('INVALID_ARGUMENT', `${what} must be an object { maxSequenceLength, maxBatch, maxTokens?, optTokens?, optBatch? }, got ${describeValue(value)}`);
  }
  checkOptions(value as Record<string, unknown>, packedKeys, what);
  const v = value as PackedSequenceOptions;
  const count = (n: unknown, key: string, max: number): number => {
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1 || n > max) {
      throw new InferrtError('INVALID_ARGUMENT', `${what}.${key} must be an integer in [1, ${max}], got ${formatValue(n)}`);
    }
    return n;
  };
  const INT32_MAX = 2 ** 31 - 1;
  const maxSequenceLength = count(v.maxSequenceLength, 'maxSequenceLength', INT32_MAX);
  const maxBatch = count(v.maxBatch, 'maxBatch', INT32_MAX - 1);
  const maxTokens = v.maxTokens === undefined ? Math.min(maxBatch * maxSequenceLength, INT32_MAX) : count(v.maxTokens, 'maxTokens', INT32_MAX);
  const optTokens = v.optTokens === undefined
    ? Math.min(maxTokens, Math.max(1, Math.round((maxBatch * (1 + maxSequenceLength)) / 2)))
    : count(v.optTokens, 'optTokens', maxTokens);
  const optBatch = v.optBatch === undefined ? maxBatch : count(v.optBatch, 'optBatch', maxBatch);
  return Object.freeze({ maxSequenceLength, maxBatch, maxTokens, optTokens, optBatch });
}

function copyProfile(p: OptimizationProfile): OptimizationProfile {
  const out: OptimizationProfile = {};
  for (const [name, r] of Object.entries(p)) out[name] = { min: [...r.min], opt: [...r.opt], max: [...r.max] };
  return out;
}

function checkPrecision(value: unknown, what: string): Precision[] {
  if (!Array.isArray(value)) {
    throw new InferrtError('INVALID_ARGUMENT', `${what} must be an array of ${precisions.map((p) => `'${p}'`).join(', ')}, got ${describeValue(value)}`);
  }
  const out: Precision[] = [];
  value.forEach((p, i) => {
    if (!precisions.includes(p as Precision)) {
      const hint = typeof p === 'string' ? didYouMean(p, precisions) : '';
      throw new InferrtError('INVALID_ARGUMENT', `${what}[${i}] must be one of ${precisions.map((x) => `'${x}'`).join(', ')}, got ${formatValue(p)}${hint}`);
    }
    if (!out.includes(p as Precision)) out.push(p as Precision);
  });
  return out;
}

const rangeKeys = ['min', 'opt', 'max'] as const;

function checkProfile(profile: unknown, what: string): OptimizationProfile {
  if (!isPlainObject(profile)) {
    throw new InferrtError('INVALID_ARGUMENT', `${what} must be an object mapping input names to { min, opt, max }, got ${describeValue(profile)}`);
  }
  const out: OptimizationProfile = {};
  for (const [name, range] of Object.entries(profile)) {
    const at = `${what}.${name}`;
    if (!isPlainObject(range)) throw new InferrtError('INVALID_ARGUMENT', `${at} must be { min, opt, max }, got ${describeValue(range)}`);
    checkOptions(range, rangeKeys, at);
    for (const k of rangeKeys) {
      const dims = range[k];
      if (dims === undefined) throw new InferrtError('INVALID_ARGUMENT', `${at}.${k} is missing; a shape range needs min, opt and max`);
      if (!Array.isArray(dims)) throw new InferrtError('INVALID_ARGUMENT', `${at}.${k} must be an array of non-negative integers, got ${describeValue(dims)}`);
      dims.forEach((d, i) => {
        if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
          throw new InferrtError('INVALID_ARGUMENT', `${at}.${k}[${i}] must be a non-negative integer, got ${formatValue(d)}`);
        }
      });
    }
    const { min, opt, max } = range as unknown as ShapeRange;
    if (opt.length !== min.length || max.length !== min.length) {
      throw new InferrtError('INVALID_ARGUMENT', `${at}: min, opt and max must have the same rank, got ${min.length}, ${opt.length} and ${max.length}`);
    }
    for (let i = 0; i < min.length; i++) {
      if (min[i]! < 1) throw new InferrtError('INVALID_ARGUMENT', `${at}.min[${i}] must be >= 1 (empty dims are not supported in profiles), got ${min[i]}`);
      if (opt[i]! < min[i]!) throw new InferrtError('INVALID_ARGUMENT', `${at}.opt[${i}] must be >= min[${i}] (${min[i]}), got ${opt[i]}`);
      if (max[i]! < opt[i]!) throw new InferrtError('INVALID_ARGUMENT', `${at}.max[${i}] must be >= opt[${i}] (${opt[i]}), got ${max[i]}`);
    }
    out[name] = { min: [...min], opt: [...opt], max: [...max] };
  }
  return out;
}

/** @internal Whether `v` is a plain object (not an array, not null). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * @internal Rejects anything but an object with only `allowed` keys:
 * `createConfig: unknown option 'precission' (did you mean 'precision'?)`.
 */
export function checkOptions(options: unknown, allowed: readonly string[], what: string): void {
  if (!isPlainObject(options)) {
    throw new InferrtError('INVALID_ARGUMENT', `${what}: options must be an object, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      const hint = didYouMean(key, allowed);
      throw new InferrtError('INVALID_ARGUMENT', `${what}: unknown option '${key}'${hint || ` (known: ${allowed.join(', ')})`}`);
    }
  }
}

/** @internal `undefined` or a boolean; anything else is INVALID_ARGUMENT naming `what`. */
export function optionalBoolean(v: unknown, what: string): boolean | undefined {
  if (v !== undefined && typeof v !== 'boolean') throw new InferrtError('INVALID_ARGUMENT', `${what} must be a boolean, got ${formatValue(v)}`);
  return v;
}

/** @internal A value as it reads in a message: strings quoted, others as written. */
export function formatValue(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'object' && v !== null) return describeValue(v);
  return String(v);
}
