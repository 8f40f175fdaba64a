/**
 * What `build`, `run` and `inspect` share: the build flags, ONNX → plan with progress, and opening a model file
 * (a plan, or an ONNX model built in memory) as an engine.
 */
import path from 'node:path';
import type { OptimizationProfile, Precision } from '../config.js';
import type { Engine } from '../engine.js';
import { InferrtError } from '../errors.js';
import type { OnnxParseResult } from '../onnx/parser.js';
import type { Plan } from '../plan.js';
import type { OptionSpecs } from './args.js';
import { UsageError } from './args.js';
import { formatDims } from './format.js';
import type { CliIO } from './io.js';
import { loadLibrary } from './library.js';
import { ProgressLine } from './progress.js';
import { hasShapes, parseShapeFlags, type ShapeFlags } from './shapes.js';
import { didYouMean } from '../suggest.js';

/** The flags that shape a build, shared by every command that may build from ONNX. */
export const buildOptions = {
  fp16: { type: 'boolean', description: 'allow fp16 kernels (emulated exactly on the CPU backend)' },
  int8: { type: 'boolean', description: "allow int8 layers: a Q/DQ model's own scales, or those of --calib" },
  calib: { type: 'string', valueName: 'FILE', description: 'with --int8: calibration cache to read (TensorRT or inferrt text format), as trtexec --calib' },
  'strict-fp32': { type: 'boolean', description: 'run fp32 layers in full fp32, never TF32 (TF32 is allowed by default, as in TensorRT)' },
  shapes: { type: 'string', multiple: true, valueName: 'SPEC', description: "input shape ranges: 'name:min=1x1,opt=8x128,max=64x512;other:1x3x224x224'" },
  minShapes: { type: 'string', multiple: true, valueName: 'SPEC', description: "trtexec spelling: smallest shapes, 'name:1x1,other:1x3'" },
  optShapes: { type: 'string', multiple: true, valueName: 'SPEC', description: 'trtexec spelling: the shapes to tune for' },
  maxShapes: { type: 'string', multiple: true, valueName: 'SPEC', description: 'trtexec spelling: largest shapes' },
  workspace: { type: 'integer', valueName: 'MiB', description: 'scratch memory limit per layer in MiB (default: no limit)' },
  backend: { type: 'string', valueName: 'NAME', description: "auto | cpu | cuda (default auto: cuda where usable, else cpu)" },
  'timing-cache': { type: 'string', valueName: 'FILE', description: 'timing cache file: GEMM timings reused across builds, updated by this one (created if missing)' },
  'sparse-weights': { type: 'boolean', description: 'time 2:4 sparse kernels for layers whose weights are already 2:4 and keep the faster (never prunes; see `inferrt prune`)' },
  'approximate-gelu': { type: 'boolean', description: 'compute GELUs fused into GEMMs with the tanh approximation (cuBLASLt fuses it into the GEMM; off by at most about 5e-4)' },
  'packed-sequences': { type: 'string', valueName: 'SEQxBATCH', description: "rebuild a BERT / RoBERTa / DistilBERT encoder over packed tokens (inputs input_ids, segment_ids, cu_seqlens), e.g. '384x64': sequences of at most 384 tokens, at most 64 per run" },
} as const satisfies OptionSpecs;

/** The parsed build flags. */
export interface BuildFlags extends ShapeFlags {
  fp16: boolean;
  int8: boolean;
  'strict-fp32': boolean;
  workspace: number | undefined;
  backend: string | undefined;
  'timing-cache': string | undefined;
  'sparse-weights': boolean;
  'approximate-gelu': boolean;
  calib: string | undefined;
  'packed-sequences': string | undefined;
}

const backendChoices = ['auto', 'cpu', 'cuda'] as const;

/** Whether `file` is treated as an ONNX model (by extension); anything else is read as a plan. */
export function isOnnxFile(file: string): boolean {
  return path.extname(file).toLowerCase() === '.onnx';
}

/** The names of the build flags that were given (to reject them where a plan is loaded). */
export function givenBuildFlags(flags: BuildFlags): string[] {
  const given: string[] = [];
  if (flags.fp16) given.push('--fp16');
  if (flags.int8) given.push('--int8');
  if (flags['strict-fp32']) given.push('--strict-fp32');
  if (flags.shapes.length) given.push('--shapes');
  for (const k of ['minShapes', 'optShapes', 'maxShapes'] as const) if (flags[k].length) given.push(`--${k}`);
  if (flags.workspace !== undefined) given.push('--workspace');
  if (flags.backend !== undefined) given.push('--backend');
  if (flags['timing-cache'] !== undefined) given.push('--timing-cache');
  if (flags['sparse-weights']) given.push('--sparse-weights');
  if (flags['approximate-gelu']) given.push('--approximate-gelu');
  if (flags.calib !== undefined) given.push('--calib');
  if (flags['packed-sequences'] !== undefined) given.push('--packed-sequences');
  return given;
}

/** The precision list the flags ask for: TF32 unless --strict-fp32, plus fp16/int8 when given. */
export function precisionOf(flags: BuildFlags): Precision[] {
  const out: Precision[] = flags['strict-fp32'] ? [] : ['tf32'];
  if (flags.fp16) out.push('fp16');
  if (flags.int8) out.push('int8');
  return out;
}

/** An input of the network being built, as the profile hook sees it. */
export interface NetworkInput {
  name: string;
  dtype: string;
  dims: number[];
}

/** Options of {@link buildFromOnnx}. */
export interface BuildFromOnnxOptions {
  /** Called after the parse with the network's inputs; may check them and return the profile to use when no shape flag was given. */
  beforeBuild?: (inputs: NetworkInput[]) => OptimizationProfile | undefined;
  /** Show progress on stderr. Default true. */
  progress?: boolean;
}

/** The result of {@link buildFromOnnx}. */
export interface BuiltModel {
  plan: Plan;
  parse: OnnxParseResult;
  backend: string;
  precision: Precision[];
  parseMs: number;
  buildMs: number;
}

/** A calibrator that only reads `file` (a calibration cache must exist there: the CLI has no calibration data). */
async function cacheOnlyCalibrator(lib: Awaited<ReturnType<typeof loadLibrary>>, file: string): Promise<InstanceType<typeof lib.EntropyCalibrator>> {
  await lib.readCalibrationCacheFile(file);  // a missing or malformed cache fails here, naming the file and line
  return new lib.EntropyCalibrator({ batches: [], cacheFile: file });
}

/** Parses `file` and builds a plan per `flags`, drawing progress on stderr. */
export async function buildFromOnnx(file: string, flags: BuildFlags, io: CliIO, options: BuildFromOnnxOptions = {}): Promise<BuiltModel> {
  const backend = flags.backend ?? 'auto';
  if (!(backendChoices as readonly string[]).includes(backend)) {
    throw new UsageError(`option '--backend' must be one of ${backendChoices.join(', ')}, got '${backend}'${didYouMean(backend, backendChoices)}`);
  }
  const flagProfile = hasShapes(flags) ? parseShapeFlags(flags) : undefined;
  const lib = await loadLibrary();
  const builder = new lib.Builder({ backend: backend as 'auto' | 'cpu' | 'cuda' });
  const precision = precisionOf(flags);
  const config0 = {
    precision,
    strictFp32: flags['strict-fp32'],
    workspaceBytes: (flags.workspace ?? 0) * 1024 * 1024,
    ...(flags['timing-cache'] !== undefined ? { timingCache: flags['timing-cache'] } : {}),
    ...(flags['sparse-weights'] ? { sparseWeights: true } : {}),
    ...(flags['approximate-gelu'] ? { approximateGelu: true } : {}),
    ...(flags.calib !== undefined ? { int8Calibrator: await cacheOnlyCalibrator(lib, flags.calib) } : {}),
    ...(flags['packed-sequences'] !== undefined ? { packedSequences: parsePackedFlag(flags['packed-sequences']) } : {}),
  };
  if (flags.calib !== undefined && !flags.int8) throw new UsageError("option '--calib' needs '--int8'");
  builder.createConfig(config0); // validates the flags before the (possibly long) parse
  const progress = new ProgressLine(io.stderr, options.progress ?? true);
  const network = builder.createNetwork();
  try {
    let start = performance.now();
    progress.update('parse', 0, path.basename(file));
    const parse = await lib.OnnxParser.parseFile(network, file, {
      onProgress: (p) => progress.update('parse', p.done / Math.max(1, p.total), `node ${p.done}/${p.total} ${p.node}`),
    });
    const parseMs = performance.now() - start;
    const inputs = network.inputs.map((t) => ({ name: t.name, dtype: t.dtype, dims: t.dims }));
    const hookProfile = options.beforeBuild?.(inputs);
    const profile = flagProfile ?? hookProfile;
    // Packed builds make their own profile (the padded one too, for a model that is not rewritten).
    if (flags['packed-sequences'] === undefined) checkProfileCoversInputs(inputs, profile);
    const config = builder.createConfig({ ...config0, profiles: profile ? [profile] : [] });
    start = performance.now();
    const plan = await builder.build(network, config, {
      onProgress: (p) => progress.update(p.stage, p.fraction, p.message),
    });
    const buildMs = performance.now() - start;
    return { plan, parse, backend: builder.backend, precision, parseMs, buildMs };
  } finally {
    progress.done();
    network.dispose();
  }
}

/** `--packed-sequences 384x64`: the longest sequence and the most sequences per run. */
function parsePackedFlag(value: string): { maxSequenceLength: number; maxBatch: number } {
  const m = /^(\d+)x(\d+)$/.exec(value);
  if (!m) throw new UsageError(`option '--packed-sequences' must be SEQxBATCH, e.g. 384x64 (sequences of at most 384 tokens, 64 per run), got '${value}'`);
  return { maxSequenceLength: Number(m[1]), maxBatch: Number(m[2]) };
}

/** Friendlier than the builder's own check: names the flag to use. */
function checkProfileCoversInputs(inputs: NetworkInput[], profile: OptimizationProfile | undefined): void {
  const names = inputs.map((i) => i.name);
  for (const name of Object.keys(profile ?? {})) {
    if (!names.includes(name)) {
      throw new UsageError(`shapes are given for '${name}', which is not an input of the model${didYouMean(name, names)}; inputs: ${describeInputs(inputs)}`);
    }
  }
  const uncovered = inputs.filter((i) => i.dims.some((d) => d < 0) && !profile?.[i.name]);
  if (uncovered.length > 0) {
    const list = uncovered.map((i) => `'${i.name}' ${formatDims(i.dims)}`).join(', ');
    const example = uncovered.map((i) => `${i.name}:min=${i.dims.map((d) => (d < 0 ? 1 : d)).join('x')},opt=...,max=...`).join(';');
    throw new UsageError(`the model has dynamic inputs without a shape range: ${list}; give one with --shapes '${example}' (or --minShapes/--optShapes/--maxShapes)`);
  }
}

/** `a (float32 [-1, 4]), b (int64 [2])`. */
export function describeInputs(inputs: ReadonlyArray<{ name: string; dtype: string; dims: number[] }>): string {
  return inputs.map((i) => `${i.name} (${i.dtype} ${formatDims(i.dims)})`).join(', ');
}

/** An engine opened from a model file, with what it took to get it. */
export interface OpenedModel {
  engine: Engine;
  /** Set when the engine was built in memory from ONNX. */
  built?: BuiltModel;
  /** Plan bytes (read from the file or built). */
  planBytes: number;
  loadMs: number;
}

/**
 * Opens `file` as an engine: a plan is loaded (BAD_PLAN when it is not a valid one); an ONNX model is built in
 * memory under `flags`. Build flags given with a plan are a usage error — a plan's precision and profiles are fixed.
 */
export async function openModel(file: string, flags: BuildFlags, io: CliIO, options: BuildFromOnnxOptions = {}): Promise<OpenedModel> {
  const lib = await loadLibrary();
  if (isOnnxFile(file)) {
    const built = await buildFromOnnx(file, flags, io, options);
    const start = performance.now();
    const engine = await lib.Runtime.load(built.plan);
    return { engine, built, planBytes: built.plan.byteLength, loadMs: performance.now() - start };
  }
  const given = givenBuildFlags(flags);
  if (given.length > 0) {
    throw new UsageError(`${given.join(', ')} ${given.length > 1 ? 'apply' : 'applies'} only when building from an .onnx model; '${file}' is read as a plan, whose precision and shape ranges are fixed when it is built ('inferrt inspect ${file}' shows them)`);
  }
  const start = performance.now();
  const plan = await lib.Plan.load(file).catch((e: unknown) => {
    throw e instanceof InferrtError ? new InferrtError(e.code, e.message.replace(/^Plan\.load: /, '')) : e;
  });
  const engine = await lib.Runtime.load(plan);
  return { engine, planBytes: plan.byteLength, loadMs: performance.now() - start };
}
