/**
 * MultiStream scenario: one query of `multiStream.samplesPerQuery` samples at a time (MLPerf: 8), each issued when
 * the previous completes; the result is the 99th-percentile query latency (MLPerf's MultiStream metric since v2.0).
 */
import { optionGroup, optionalNumber, resolveCommon, toRunSettings } from '../options.js';
import { buildSummary, type RunSummary } from '../summary.js';
import { QueryTracker } from '../tracker.js';
import type { CommonOptions } from '../types.js';
import { startSequential } from './sequential.js';

/** MultiStream's own options (`options.multiStream`). */
export interface MultiStreamSettings {
  /** Samples per query. Default `8`, as MLPerf. */
  samplesPerQuery?: number;
  /** An optional bound on the 99th-percentile query latency, in milliseconds; a run over it is INVALID. Default none. */
  latencyBoundMs?: number;
}

/** Options of {@link runMultiStream}. */
export interface MultiStreamOptions<S> extends CommonOptions<S> {
  /** MultiStream settings. Default `{}`. */
  multiStream?: MultiStreamSettings;
}

/** Default of {@link MultiStreamSettings.samplesPerQuery}. */
export const DEFAULT_MULTISTREAM_SAMPLES_PER_QUERY = 8;

/** Runs the MultiStream scenario. Rejects only on invalid options or a throwing `onProgress` / sample accessor. */
export async function runMultiStream<S>(options: MultiStreamOptions<S>): Promise<RunSummary> {
  const cfg = resolveCommon<S>(options, 'MultiStream', ['multiStream']);
  const group = optionGroup(options, 'multiStream', ['samplesPerQuery', 'latencyBoundMs'], false);
  const samplesPerQuery = optionalNumber(
    group.samplesPerQuery,
    'multiStream.samplesPerQuery',
    'positiveInteger',
    DEFAULT_MULTISTREAM_SAMPLES_PER_QUERY,
  );
  const bound = optionalNumber(group.latencyBoundMs, 'multiStream.latencyBoundMs', 'positive', NaN);
  const tracker = new QueryTracker<S>(cfg, false);
  startSequential(tracker, cfg, samplesPerQuery);
  await tracker.finished;
  const facts = tracker.close();
  return buildSummary({
    scenario: 'MultiStream',
    facts,
    settings: toRunSettings(cfg, samplesPerQuery, {
      samplesPerQuery,
      latencyBoundMs: Number.isNaN(bound) ? null : bound,
    }),
    latencyRule: Number.isNaN(bound)
      ? undefined
      : { path: 'multiStream.latencyBoundMs', boundMs: bound, percentile: 0.99 },
  });
}
