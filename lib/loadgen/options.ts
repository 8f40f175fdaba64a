/**
 * Option validation for the loadgen: every check throws a `TypeError` (wrong type) or `RangeError` (right type,
 * wrong value) whose message names the option path and the value received, e.g.
 * `server.targetQps must be a positive number, got -3`. Unknown keys are rejected so typos fail at once.
 */
import { describeValue } from './describe.js';
import { toSampleSource } from './samples.js';
import type { JsonScalar, RunSettings } from './summary.js';
import type { CommonOptions, Progress, SampleOrder, SampleSource, Scenario, SystemUnderTest } from './types.js';

function fail(path: string, what: string, value: unknown): never {
  const message = `${path} must be ${what}, got ${describeValue(value)}`;
  throw typeof value === 'number' ? new RangeError(message) : new TypeError(message);
}

/** Kinds of numbers an option may require. */
export type NumberRule =
  | 'positive' // finite, > 0
  | 'positiveOrInfinity' // > 0, Infinity allowed
  | 'positiveInteger' // integer >= 1
  | 'positiveIntegerOrInfinity' // integer >= 1, or Infinity
  | 'nonNegative' // finite, >= 0
  | 'integer' // any safe integer
  | 'fraction'; // 0 < x < 1

const RULE_TEXT: Record<NumberRule, string> = {
  positive: 'a positive number',
  positiveOrInfinity: 'a positive number or Infinity',
  positiveInteger: 'a positive integer',
  positiveIntegerOrInfinity: 'a positive integer or Infinity',
  nonNegative: 'a non-negative number',
  integer: 'an integer',
  fraction: 'a number between 0 and 1 (exclusive)',
};

/** Checks `value` against `rule` and returns it; throws naming `path` otherwise. */
export function checkNumber(value: unknown, path: string, rule: NumberRule): number {
  const text = RULE_TEXT[rule];
  if (typeof value !== 'number' || Number.isNaN(value)) fail(path, text, value);
  const n = value;
  let ok: boolean;
  switch (rule) {
    case 'positive':
      ok = Number.isFinite(n) && n > 0;
      break;
    case 'positiveOrInfinity':
      ok = n > 0;
      break;
    case 'positiveInteger':
      ok = Number.isSafeInteger(n) && n >= 1;
      break;
    case 'positiveIntegerOrInfinity':
      ok = n === Infinity || (Number.isSafeInteger(n) && n >= 1);
      break;
    case 'nonNegative':
      ok = Number.isFinite(n) && n >= 0;
      break;
    case 'integer':
      ok = Number.isSafeInteger(n);
      break;
    case 'fraction':
      ok = n > 0 && n < 1;
      break;
  }
  if (!ok) fail(path, text, n);
  return n;
}

/** Like {@link checkNumber}, but `undefined` yields `fallback`. */
export function optionalNumber(value: unknown, path: string, rule: NumberRule, fallback: number): number {
  return value === undefined ? fallback : checkNumber(value, path, rule);
}

/** Checks that `value` is a plain object (not null, not an array); returns it as a record. */
export function checkObject(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'an object', value);
  return value as Record<string, unknown>;
}

/** Checks that `value` is a function. */
export function checkFunction(value: unknown, path: string): void {
  if (typeof value !== 'function') fail(path, 'a function', value);
}

/** Checks that `value` is one of `choices`. */
export function checkChoice<T extends string>(value: unknown, path: string, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    fail(path, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
  }
  return value as T;
}

/**
 * Rejects keys of `obj` that are not in `known`, suggesting a known key that differs only in case.
 * `prefix` is the path of `obj` with a trailing dot (`'server.'`), or `''` at the top level.
 */
export function checkKeys(obj: Record<string, unknown>, known: readonly string[], prefix: string): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const near = known.find((k) => k.toLowerCase() === key.toLowerCase());
    const hint = near === undefined ? '' : ` (did you mean ${prefix}${near}?)`;
    throw new TypeError(`${prefix}${key} is not a known option${hint}`);
  }
}

/** The option keys of {@link CommonOptions}. */
export const COMMON_KEYS = [
  'issue',
  'samples',
  'minDurationMs',
  'minQueryCount',
  'maxQueryCount',
  'maxDurationMs',
  'seed',
  'sampleOrder',
  'onProgress',
  'progressIntervalMs',
  'signal',
] as const;

/** MLPerf's minimum query counts (Server lowered for development; see {@link CommonOptions.minQueryCount}). */
export const DEFAULT_MIN_QUERY_COUNT: Record<Scenario, number> = {
  Offline: 1,
  Server: 1024,
  SingleStream: 1024,
  MultiStream: 662,
};

/** Default of {@link CommonOptions.minDurationMs}. */
export const DEFAULT_MIN_DURATION_MS = 10_000;
/** Default of {@link CommonOptions.seed}. */
export const DEFAULT_SEED = 0x5eed;
/** Default of {@link CommonOptions.progressIntervalMs}. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 250;

/** {@link CommonOptions} checked and with defaults filled in. */
export interface ResolvedCommon<S> {
  scenario: Scenario;
  issue: SystemUnderTest<S>;
  library: SampleSource<S>;
  minDurationMs: number;
  minQueryCount: number;
  maxQueryCount: number;
  maxDurationMs: number;
  seed: number;
  sampleOrder: SampleOrder;
  onProgress: ((progress: Progress) => void) | undefined;
  progressIntervalMs: number;
  signal: AbortSignal | undefined;
}

/**
 * Validates the options shared by all scenarios. `extraKeys` are the scenario's own top-level keys (e.g. `'server'`),
 * checked by the caller.
 */
export function resolveCommon<S>(
  options: unknown,
  scenario: Scenario,
  extraKeys: readonly string[],
): ResolvedCommon<S> {
  const o = checkObject(options, 'options');
  checkKeys(o, [...COMMON_KEYS, ...extraKeys], '');
  checkFunction(o.issue, 'issue');
  const library = toSampleSource(o.samples as CommonOptions<S>['samples'], 'samples');
  if (o.onProgress !== undefined) checkFunction(o.onProgress, 'onProgress');
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal, got ${describeValue(o.signal)}`);
  }
  return {
    scenario,
    issue: o.issue as SystemUnderTest<S>,
    library,
    minDurationMs: optionalNumber(o.minDurationMs, 'minDurationMs', 'nonNegative', DEFAULT_MIN_DURATION_MS),
    minQueryCount: optionalNumber(o.minQueryCount, 'minQueryCount', 'positiveInteger', DEFAULT_MIN_QUERY_COUNT[scenario]),
    maxQueryCount: optionalNumber(o.maxQueryCount, 'maxQueryCount', 'positiveIntegerOrInfinity', Infinity),
    maxDurationMs: optionalNumber(o.maxDurationMs, 'maxDurationMs', 'positiveOrInfinity', Infinity),
    seed: optionalNumber(o.seed, 'seed', 'integer', DEFAULT_SEED),
    sampleOrder: o.sampleOrder === undefined ? 'random' : checkChoice(o.sampleOrder, 'sampleOrder', ['random', 'sequential']),
    onProgress: o.onProgress as ((progress: Progress) => void) | undefined,
    progressIntervalMs: optionalNumber(o.progressIntervalMs, 'progressIntervalMs', 'positive', DEFAULT_PROGRESS_INTERVAL_MS),
    signal: o.signal as AbortSignal | undefined,
  };
}

/** The JSON-safe {@link RunSettings} of a resolved run (`Infinity` limits become `null`). */
export function toRunSettings<S>(
  cfg: ResolvedCommon<S>,
  samplesPerQuery: number,
  scenario: Record<string, JsonScalar>,
): RunSettings {
  const limit = (x: number): number | null => (Number.isFinite(x) ? x : null);
  return {
    minDurationMs: cfg.minDurationMs,
    minQueryCount: cfg.minQueryCount,
    maxQueryCount: limit(cfg.maxQueryCount),
    maxDurationMs: limit(cfg.maxDurationMs),
    seed: cfg.seed,
    sampleOrder: cfg.sampleOrder,
    librarySize: cfg.library.count,
    samplesPerQuery,
    scenario,
  };
}

/**
 * Reads and key-checks a scenario's option group (`options.server`, …). An absent optional group reads as `{}`;
 * an absent required group throws `<key> must be an object, got undefined`.
 */
export function optionGroup(
  options: unknown,
  key: string,
  known: readonly string[],
  required: boolean,
): Record<string, unknown> {
  const value = (options as Record<string, unknown>)[key];
  if (value === undefined && !required) return {};
  const group = checkObject(value, key);
  checkKeys(group, known, `${key}.`);
  return group;
}
