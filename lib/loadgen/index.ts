/**
 * `inferrt/loadgen`: an MLPerf-style load generator. It measures any asynchronous system under test
 * (`issue(samples) => Promise`) in the four MLPerf scenarios — Offline (throughput), Server (Poisson arrivals, p99
 * latency bound), SingleStream (p90 latency) and MultiStream (p99 latency of multi-sample queries) — and reports
 * MLPerf-like summaries with VALID/INVALID verdicts, a versioned JSON record, and a peak-QPS search for Server.
 *
 * ```ts
 * import { runServer, formatReport } from 'inferrt/loadgen';
 * const summary = await runServer({
 *   issue: (samples) => ctx.infer(samples[0]),
 *   samples: inputs,
 *   minDurationMs: 60_000,
 *   server: { targetQps: 500, latencyBoundMs: 15 },
 * });
 * console.log(formatReport(summary));
 * ```
 */
export type {
  CommonOptions,
  Progress,
  QueryInfo,
  SampleLibrary,
  SampleOrder,
  SampleSource,
  Scenario,
  SystemUnderTest,
} from './types.js';
export { runOffline, DEFAULT_OFFLINE_EXPECTED_QPS } from './scenarios/offline.js';
export type { OfflineOptions, OfflineSettings } from './scenarios/offline.js';
export { runServer, SERVER_ISSUE_BATCH } from './scenarios/server.js';
export type { ServerOptions, ServerSettings } from './scenarios/server.js';
export { runSingleStream } from './scenarios/single-stream.js';
export type { SingleStreamOptions, SingleStreamSettings } from './scenarios/single-stream.js';
export { runMultiStream, DEFAULT_MULTISTREAM_SAMPLES_PER_QUERY } from './scenarios/multi-stream.js';
export type { MultiStreamOptions, MultiStreamSettings } from './scenarios/multi-stream.js';
export { runScenario, SCENARIOS } from './run.js';
export type { ScenarioOptions } from './run.js';
export { findPeakQps } from './peak.js';
export type { PeakResult, PeakSearchOptions, PeakSearchSettings, PeakTrial } from './peak.js';
export { LOADGEN_SCHEMA_VERSION, formatReport, toRecord } from './summary.js';
export type {
  GeneratorStats,
  JsonScalar,
  LoadgenRecord,
  RunResult,
  RunSettings,
  RunSummary,
  ServerStats,
} from './summary.js';
export { formatProgress } from './progress.js';
export { latencyStats, percentile } from './stats.js';
export type { LatencyStats } from './stats.js';
export { PoissonArrivals, Xoshiro128, createRng, exponentialGap } from './poisson.js';
export type { Rng } from './poisson.js';
export {
  DEFAULT_MIN_DURATION_MS,
  DEFAULT_MIN_QUERY_COUNT,
  DEFAULT_PROGRESS_INTERVAL_MS,
  DEFAULT_SEED,
} from './options.js';
