/**
 * The result of a run: the {@link RunSummary} (MLPerf's summary: throughput, latency percentiles, VALID or
 * INVALID and why), the validity rules that decide it, the versioned JSON record, and a human-readable report.
 */
import { latencyStats, percentile, sortedCopy, type LatencyStats } from './stats.js';
import type { RunFacts } from './tracker.js';
import type { CommonOptions, SampleOrder, Scenario } from './types.js';

/** Version of the {@link LoadgenRecord} layout; bumped whenever a key is renamed, removed or changes meaning. */
export const LOADGEN_SCHEMA_VERSION = 1;

/** A JSON scalar. */
export type JsonScalar = number | string | boolean | null;

/** The headline number of a run: what MLPerf reports as the scenario's result. */
export interface RunResult {
  /** Offline: `samplesPerSecond`; Server: `scheduledQps`; SingleStream: `p90LatencyMs`; MultiStream: `p99LatencyMs`. */
  name: 'samplesPerSecond' | 'scheduledQps' | 'p90LatencyMs' | 'p99LatencyMs';
  /** The value, in `unit`. */
  value: number;
  /** The unit of `value`. */
  unit: 'samples/s' | 'queries/s' | 'ms';
}

/** The options a run actually used (defaults filled in), JSON-safe: `null` stands for "no limit". */
export interface RunSettings {
  /** See {@link CommonOptions.minDurationMs}. */
  minDurationMs: number;
  /** See {@link CommonOptions.minQueryCount}. */
  minQueryCount: number;
  /** See {@link CommonOptions.maxQueryCount}; `null`: no limit. */
  maxQueryCount: number | null;
  /** See {@link CommonOptions.maxDurationMs}; `null`: no limit. */
  maxDurationMs: number | null;
  /** See {@link CommonOptions.seed}. */
  seed: number;
  /** See {@link CommonOptions.sampleOrder}. */
  sampleOrder: SampleOrder;
  /** How many samples the library holds. */
  librarySize: number;
  /** Samples per query (Offline: of all but possibly the last query). */
  samplesPerQuery: number;
  /** The scenario's own settings (e.g. Server's `targetQps`), by their name inside the scenario's option group. */
  scenario: Record<string, JsonScalar>;
}

/** Facts about the load generator itself: how fast it issued and, for Server, how late. */
export interface GeneratorStats {
  /** Milliseconds from the start of the run until the last query was issued. */
  issueDurationMs: number;
  /** Queries issued per second of `issueDurationMs`: the generator's issue rate. */
  issueRateQps: number;
  /** Server only (else `null`): how late each query was issued after its scheduled arrival. */
  latenessMs: LatencyStats | null;
}

/** Server-specific results. */
export interface ServerStats {
  /** The requested mean arrival rate. */
  targetQps: number;
  /** Queries scheduled per second of schedule: issued queries / time of the last scheduled arrival. */
  scheduledQps: number;
  /** Completed queries per second of the run (until the last completion). */
  achievedQps: number;
  /** `1 − achievedQps / scheduledQps`, floored at 0. */
  qpsShortfall: number;
  /** The latency bound, ms. */
  latencyBoundMs: number;
  /** The percentile the bound applies to (0.99). */
  latencyPercentile: number;
  /** The measured latency at `latencyPercentile`, ms (nearest rank). */
  latencyAtPercentileMs: number;
  /** Completed queries whose latency exceeded the bound. */
  overBoundCount: number;
  /** Whether issuing stopped early because too many queries were outstanding. */
  stoppedEarly: boolean;
}

/** The summary of one run, JSON-safe (no `NaN`, no `Infinity`). */
export interface RunSummary {
  /** The scenario that ran. */
  scenario: Scenario;
  /** Whether the run met every constraint (see `invalidReasons`). */
  valid: boolean;
  /** Why the run is INVALID, one sentence per broken rule; empty when valid. */
  invalidReasons: string[];
  /** The headline number. */
  result: RunResult;
  /** ISO-8601 wall-clock time the run started. */
  startedAt: string;
  /** Milliseconds from the start until the last query settled (or the abort). */
  durationMs: number;
  /** Query counts: issued, completed (resolved), failed (rejected or threw), outstanding (unsettled at the end). */
  queries: { issued: number; completed: number; failed: number; outstanding: number };
  /** Sample counts, over issued and completed queries. */
  samples: { issued: number; completed: number };
  /** Completed samples per second of `durationMs`. */
  samplesPerSecond: number;
  /** Completed queries per second of `durationMs`. */
  queriesPerSecond: number;
  /** Latency of completed queries (Server: from the scheduled arrival; others: from issue). */
  latencyMs: LatencyStats;
  /** The load generator's own figures. */
  generator: GeneratorStats;
  /** Server results, `null` for other scenarios. */
  server: ServerStats | null;
  /** The message of the first failed query's error, or `null`. */
  firstError: string | null;
  /** Whether the run was aborted through its signal. */
  aborted: boolean;
  /** The settings the run used, defaults filled in. */
  settings: RunSettings;
}

/** The JSON record of a run: the summary plus a schema version. `JSON.stringify` it as is. */
export interface LoadgenRecord extends RunSummary {
  /** {@link LOADGEN_SCHEMA_VERSION}. */
  schemaVersion: typeof LOADGEN_SCHEMA_VERSION;
  /** What wrote the record. */
  tool: 'inferrt/loadgen';
}

/** A latency percentile a run must stay under (Server always; SingleStream/MultiStream when a bound is set). */
export interface LatencyRule {
  /** Option path, for the message (`server.latencyBoundMs`). */
  path: string;
  /** The bound, ms. */
  boundMs: number;
  /** The percentile it applies to, as a fraction. */
  percentile: number;
}

/** Scenario-specific inputs to {@link buildSummary}. */
export interface SummaryInput {
  /** The scenario that ran. */
  scenario: Scenario;
  /** What the run measured. */
  facts: RunFacts;
  /** The settings it used. */
  settings: RunSettings;
  /** Added to the "duration not reached" reason, e.g. how to make an Offline run longer. */
  durationHint?: string;
  /** The latency bound to check, if any. */
  latencyRule?: LatencyRule;
  /** Server's schedule facts and limits (Server only). */
  server?: {
    targetQps: number;
    /** Scheduled time of the last issued query, ns since the start. */
    lastArrivalNs: number;
    maxQpsShortfall: number;
    maxOutstanding: number;
    /** Set when issuing stopped because `outstanding` queries were in flight when query `queryId` was due. */
    stoppedEarly: { outstanding: number; queryId: number } | null;
  };
}

const rate = (count: number, ns: number): number => (ns > 0 ? count / (ns / 1e9) : 0);
/** Rounds to `digits` decimals and drops trailing zeros: 50 → '50', 58.82 → '58.8' (digits 1). */
const fmt = (x: number, digits = 2): string => String(Number(x.toFixed(digits)));
const queries = (n: number): string => (n === 1 ? '1 query' : `${n} queries`);
const pct = (fraction: number): string => `${fmt(fraction * 100, 1)}%`;

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Applies the validity rules to a finished run and assembles its {@link RunSummary}. */
export function buildSummary(input: SummaryInput): RunSummary {
  const { facts, settings } = input;
  const reasons: string[] = [];
  const sorted = sortedCopy(facts.latenciesNs);
  const latency = latencyStats(sorted);
  const durationMs = facts.durationNs / 1e6;
  const outstanding = facts.issued - facts.completed - facts.failed;

  if (facts.aborted) reasons.push('run was aborted');
  if (facts.failed > 0) {
    reasons.push(`${queries(facts.failed)} failed (first error: ${errorMessage(facts.firstError)})`);
  }
  if (outstanding > 0) {
    reasons.push(`${queries(outstanding)} still outstanding at the end of the run`);
  }
  if (facts.completed < settings.minQueryCount) {
    reasons.push(`too few queries: ${facts.completed} completed, minQueryCount is ${settings.minQueryCount}`);
  }
  if (durationMs < settings.minDurationMs) {
    const hint = input.durationHint === undefined ? '' : `; ${input.durationHint}`;
    reasons.push(`duration not reached: ran ${fmt(durationMs)} ms, minDurationMs is ${settings.minDurationMs}${hint}`);
  }

  let atPercentileMs = 0;
  let overBound = 0;
  const rule = input.latencyRule;
  if (rule !== undefined && sorted.length > 0) {
    atPercentileMs = percentile(sorted, rule.percentile) / 1e6;
    const boundNs = rule.boundMs * 1e6;
    for (let i = sorted.length - 1; i >= 0 && (sorted[i] as number) > boundNs; i--) overBound++;
    if (atPercentileMs > rule.boundMs) {
      reasons.push(
        `p${fmt(rule.percentile * 100, 1)} latency ${fmt(atPercentileMs)} ms is over ${rule.path} ${rule.boundMs} ms ` +
          `(${overBound} of ${sorted.length} queries over the bound)`,
      );
    }
  }

  let server: ServerStats | null = null;
  if (input.server !== undefined && rule !== undefined) {
    const s = input.server;
    const scheduledQps = rate(facts.issued, s.lastArrivalNs);
    const achievedQps = rate(facts.completed, facts.durationNs);
    const shortfall = scheduledQps > 0 ? Math.max(0, 1 - achievedQps / scheduledQps) : 0;
    if (s.stoppedEarly !== null) {
      reasons.push(
        `too many queries outstanding: ${s.stoppedEarly.outstanding} in flight when query ${s.stoppedEarly.queryId} ` +
          `was due, server.maxOutstanding is ${s.maxOutstanding}; the run stopped issuing early`,
      );
    }
    if (shortfall > s.maxQpsShortfall) {
      reasons.push(
        `achieved ${fmt(achievedQps, 1)} QPS is ${pct(shortfall)} below the scheduled ${fmt(scheduledQps, 1)} QPS ` +
          `(server.maxQpsShortfall is ${pct(s.maxQpsShortfall)})`,
      );
    }
    server = {
      targetQps: s.targetQps,
      scheduledQps,
      achievedQps,
      qpsShortfall: shortfall,
      latencyBoundMs: rule.boundMs,
      latencyPercentile: rule.percentile,
      latencyAtPercentileMs: atPercentileMs,
      overBoundCount: overBound,
      stoppedEarly: s.stoppedEarly !== null,
    };
  }

  const samplesPerSecond = rate(facts.completedSamples, facts.durationNs);
  const result: RunResult =
    input.scenario === 'Offline'
      ? { name: 'samplesPerSecond', value: samplesPerSecond, unit: 'samples/s' }
      : input.scenario === 'Server'
        ? { name: 'scheduledQps', value: server?.scheduledQps ?? 0, unit: 'queries/s' }
        : input.scenario === 'SingleStream'
          ? { name: 'p90LatencyMs', value: latency.p90Ms, unit: 'ms' }
          : { name: 'p99LatencyMs', value: latency.p99Ms, unit: 'ms' };

  return {
    scenario: input.scenario,
    valid: reasons.length === 0,
    invalidReasons: reasons,
    result,
    startedAt: facts.startedAt.toISOString(),
    durationMs,
    queries: { issued: facts.issued, completed: facts.completed, failed: facts.failed, outstanding },
    samples: { issued: facts.issuedSamples, completed: facts.completedSamples },
    samplesPerSecond,
    queriesPerSecond: rate(facts.completed, facts.durationNs),
    latencyMs: latency,
    generator: {
      issueDurationMs: facts.issueEndNs / 1e6,
      issueRateQps: rate(facts.issued, facts.issueEndNs),
      latenessMs: facts.latenessNs === null ? null : latencyStats(facts.latenessNs),
    },
    server,
    firstError: facts.failed > 0 ? errorMessage(facts.firstError) : null,
    aborted: facts.aborted,
    settings,
  };
}

/** The versioned JSON record of a summary (a new object; the summary is not modified). */
export function toRecord(summary: RunSummary): LoadgenRecord {
  return { schemaVersion: LOADGEN_SCHEMA_VERSION, tool: 'inferrt/loadgen', ...summary };
}

const RESULT_LABEL: Record<RunResult['name'], string> = {
  samplesPerSecond: 'Samples per second',
  scheduledQps: 'Scheduled queries per second',
  p90LatencyMs: '90th percentile latency (ms)',
  p99LatencyMs: '99th percentile latency (ms)',
};

function latencyLines(title: string, l: LatencyStats): string[] {
  if (l.count === 0) return [`${title}: none measured`];
  return [
    `${title} (ms, nearest-rank percentiles over ${l.count}):`,
    `  min ${fmt(l.minMs, 3)}  mean ${fmt(l.meanMs, 3)}  p50 ${fmt(l.p50Ms, 3)}  p90 ${fmt(l.p90Ms, 3)}  ` +
      `p95 ${fmt(l.p95Ms, 3)}  p99 ${fmt(l.p99Ms, 3)}  max ${fmt(l.maxMs, 3)}`,
  ];
}

/**
 * A human-readable, MLPerf-style report of a summary: the result and VALID/INVALID with reasons first, then
 * throughput, latency, the generator's own overhead, Server details, and the settings used. Lines end in `\n`.
 */
export function formatReport(summary: RunSummary): string {
  const rule = '='.repeat(56);
  const line = (label: string, value: string | number): string => `${label.padEnd(30)}: ${value}`;
  const lines = [rule, `inferrt loadgen summary: ${summary.scenario}`, rule];
  lines.push(line(RESULT_LABEL[summary.result.name], fmt(summary.result.value)));
  lines.push(line('Result is', summary.valid ? 'VALID' : 'INVALID'));
  for (const reason of summary.invalidReasons) lines.push(`  * ${reason}`);
  lines.push('-'.repeat(56));
  const q = summary.queries;
  lines.push(line('Queries issued / completed', `${q.issued} / ${q.completed}`));
  if (q.failed > 0 || q.outstanding > 0) lines.push(line('Queries failed / outstanding', `${q.failed} / ${q.outstanding}`));
  lines.push(line('Samples completed', summary.samples.completed));
  lines.push(line('Duration (ms)', fmt(summary.durationMs)));
  lines.push(line('Samples per second', fmt(summary.samplesPerSecond)));
  lines.push(line('Queries per second', fmt(summary.queriesPerSecond)));
  lines.push(...latencyLines('Latency', summary.latencyMs));
  const s = summary.server;
  if (s !== null) {
    lines.push(line('Target QPS', fmt(s.targetQps)));
    lines.push(line('Scheduled / achieved QPS', `${fmt(s.scheduledQps)} / ${fmt(s.achievedQps)} (shortfall ${pct(s.qpsShortfall)})`));
    lines.push(
      line(`p${fmt(s.latencyPercentile * 100, 1)} latency / bound (ms)`, `${fmt(s.latencyAtPercentileMs, 3)} / ${s.latencyBoundMs}`),
    );
    lines.push(line('Queries over the bound', s.overBoundCount));
  }
  const g = summary.generator;
  lines.push(line('Generator issue rate (q/s)', fmt(g.issueRateQps, 0)));
  if (g.latenessMs !== null) lines.push(...latencyLines('Generator issue lateness', g.latenessMs));
  if (summary.firstError !== null) lines.push(line('First error', summary.firstError));
  lines.push('-'.repeat(56));
  const st = summary.settings;
  const limit = (x: number | null): string => (x === null ? 'none' : String(x));
  lines.push(line('minDurationMs / maxDurationMs', `${st.minDurationMs} / ${limit(st.maxDurationMs)}`));
  lines.push(line('minQueryCount / maxQueryCount', `${st.minQueryCount} / ${limit(st.maxQueryCount)}`));
  lines.push(line('samplesPerQuery / librarySize', `${st.samplesPerQuery} / ${st.librarySize}`));
  lines.push(line('seed / sampleOrder', `${st.seed} / ${st.sampleOrder}`));
  for (const [key, value] of Object.entries(st.scenario)) lines.push(line(key, value === null ? 'none' : String(value)));
  return lines.join('\n') + '\n';
}
