/**
 * Options of `createBatcher`, validated in JS against the engine they will run: every check throws
 * INVALID_ARGUMENT naming the option and the value received, and unknown keys are rejected so typos fail at once.
 */
import { checkOptions, formatValue } from '../config.js';
import { checkProfileIndex } from '../context.js';
import { Engine } from '../engine.js';
import { InferrtError } from '../errors.js';
import { describeValue, formatShape } from '../tensor.js';

/** Options of {@link createBatcher}. Unknown keys are rejected. */
export interface BatcherOptions {
  /**
   * Most rows (the sum of the requests' axis-0 sizes) in one batch. Required; at most every input's axis-0 max in
   * the profile (and at least its min). On a packed-sequence engine: most sequences (requests) in one batch, at
   * most `engine.packedSequences.maxBatch`.
   */
  maxBatch: number;
  /**
   * How long the oldest queued request waits for others before its batch runs anyway, in ms. Default `1`.
   * `0` never waits: a batch starts as soon as a context is free (requests issued in the same tick still batch).
   */
  maxDelayMs?: number;
  /** Execution contexts in the pool; each runs one batch at a time, batches on different contexts overlap. Default `1`. */
  contexts?: number;
  /** Most requests waiting (not yet running); a request beyond it rejects at once with code 'OVERLOADED'. Default `4096`. */
  maxQueue?: number;
  /** A request still queued (not yet started) after this many ms rejects with code 'TIMEOUT'. Default: no timeout. */
  timeoutMs?: number;
  /** The optimization profile the contexts use. Default `0`. */
  profile?: number;
}

/** @internal {@link BatcherOptions} with every default filled in (`timeoutMs` is Infinity when unset). */
export interface ResolvedOptions {
  maxBatch: number;
  maxDelayMs: number;
  contexts: number;
  maxQueue: number;
  timeoutMs: number;
  profile: number;
}

/** Default of {@link BatcherOptions.maxDelayMs}. */
export const DEFAULT_MAX_DELAY_MS = 1;
/** Default of {@link BatcherOptions.maxQueue}. */
export const DEFAULT_MAX_QUEUE = 4096;

const what = 'createBatcher';
const optionKeys = ['maxBatch', 'maxDelayMs', 'contexts', 'maxQueue', 'timeoutMs', 'profile'] as const;

/** @internal Validates `options` and that `engine` can be batched under them; returns them with defaults. */
export function resolveOptions(engine: unknown, options: unknown): ResolvedOptions {
  if (!(engine instanceof Engine)) {
    throw new InferrtError('INVALID_ARGUMENT', `${what}: engine must be an Engine (from Runtime.load), got ${describeValue(engine)}`);
  }
  engine.native();  // DisposedError for a disposed engine
  checkOptions(options, optionKeys, what);
  const o = options as Partial<Record<(typeof optionKeys)[number], unknown>>;
  if (o.maxBatch === undefined) {
    throw new InferrtError('INVALID_ARGUMENT', `${what}: maxBatch is required: the most rows (sum of the requests' axis-0 sizes) one batch may hold`);
  }
  const profile = o.profile ?? 0;
  checkProfileIndex(profile, engine.numProfiles, `${what}: profile`);
  const resolved: ResolvedOptions = {
    maxBatch: positiveInteger(o.maxBatch, 'maxBatch'),
    maxDelayMs: o.maxDelayMs === undefined ? DEFAULT_MAX_DELAY_MS : nonNegative(o.maxDelayMs, 'maxDelayMs'),
    contexts: o.contexts === undefined ? 1 : positiveInteger(o.contexts, 'contexts'),
    maxQueue: o.maxQueue === undefined ? DEFAULT_MAX_QUEUE : positiveInteger(o.maxQueue, 'maxQueue'),
    timeoutMs: o.timeoutMs === undefined ? Infinity : positive(o.timeoutMs, 'timeoutMs'),
    profile,
  };
  checkEngineFits(engine, resolved);
  return resolved;
}

/** Every input and output must batch along a dynamic axis 0, and maxBatch must fit each input's profile range. */
function checkEngineFits(engine: Engine, o: ResolvedOptions): void {
  const packed = engine.packedSequences;
  if (packed) {
    // Requests are sequences packed along the token axis (the layout checks each output's axis 0 after the run).
    if (o.maxBatch > packed.maxBatch) {
      throw new InferrtError('INVALID_ARGUMENT', `${what}: maxBatch (${o.maxBatch}) exceeds the packed-sequence engine's maxBatch ${packed.maxBatch} (sequences per run; cu_seqlens takes at most ${packed.maxBatch + 1} offsets); use maxBatch <= ${packed.maxBatch} or build with a larger packedSequences.maxBatch`);
    }
    return;
  }
  for (const t of [...engine.inputs, ...engine.outputs]) {
    if (t.dims[0] !== -1) {
      throw new InferrtError(
        'INVALID_ARGUMENT',
        `${what}: ${t.mode} '${t.name}' has ${t.dims.length === 0 ? 'no axis 0 (a scalar)' : `a static axis 0 ${formatShape(t.dims)}`}; the batcher stacks requests along axis 0, so every input and output needs a dynamic axis 0 (-1)`,
      );
    }
  }
  for (const t of engine.inputs) {
    const range = t.profiles[o.profile]!;
    if (o.maxBatch > range.max[0]!) {
      throw new InferrtError('INVALID_ARGUMENT', `${what}: maxBatch (${o.maxBatch}) exceeds the axis-0 max of input '${t.name}' in optimization profile ${o.profile} (${range.max[0]}); use maxBatch <= ${range.max[0]} or build a profile with a larger max`);
    }
    if (o.maxBatch < range.min[0]!) {
      throw new InferrtError('INVALID_ARGUMENT', `${what}: maxBatch (${o.maxBatch}) is below the axis-0 min of input '${t.name}' in optimization profile ${o.profile} (${range.min[0]})`);
    }
  }
}

function positiveInteger(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw new InferrtError('INVALID_ARGUMENT', `${what}: ${name} must be a positive integer, got ${formatValue(v)}`);
  }
  return v;
}

function nonNegative(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new InferrtError('INVALID_ARGUMENT', `${what}: ${name} must be a non-negative number of milliseconds, got ${formatValue(v)}`);
  }
  return v;
}

function positive(v: unknown, name: string): number {
  if (typeof v !== 'number' || Number.isNaN(v) || v <= 0) {
    throw new InferrtError('INVALID_ARGUMENT', `${what}: ${name} must be a positive number of milliseconds, got ${formatValue(v)}`);
  }
  return v;
}
