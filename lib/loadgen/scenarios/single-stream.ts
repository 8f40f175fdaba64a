/**
 * SingleStream scenario: one single-sample query at a time, each issued when the previous completes; the result is
 * the 90th-percentile latency (MLPerf's SingleStream metric).
 */
import { optionGroup, optionalNumber, resolveCommon, toRunSettings } from '../options.js';
import { buildSummary, type RunSummary } from '../summary.js';
import { QueryTracker } from '../tracker.js';
import type { CommonOptions } from '../types.js';
import { startSequential } from './sequential.js';

/** SingleStream's own options (`options.singleStream`). */
export interface SingleStreamSettings {
  /**
   * An optional bound on the 90th-percentile latency, in milliseconds; a run over it is INVALID. MLPerf sets none
   * (the p90 is the result). Default none.
   */
  latencyBoundMs?: number;
}

/** Options of {@link runSingleStream}. */
export interface SingleStreamOptions<S> extends CommonOptions<S> {
  /** SingleStream settings. Default `{}`. */
  singleStream?: SingleStreamSettings;
}

/** Runs the SingleStream scenario. Rejects only on invalid options or a throwing `onProgress` / sample accessor. */
export async function runSingleStream<S>(options: SingleStreamOptions<S>): Promise<RunSummary> {
  const cfg = resolveCommon<S>(options, 'SingleStream', ['singleStream']);
  const group = optionGroup(options, 'singleStream', ['latencyBoundMs'], false);
  const bound = optionalNumber(group.latencyBoundMs, 'singleStream.latencyBoundMs', 'positive', NaN);
  const tracker = new QueryTracker<S>(cfg, false);
  startSequential(tracker, cfg, 1);
  await tracker.finished;
  const facts = tracker.close();
  return buildSummary({
    scenario: 'SingleStream',
    facts,
    settings: toRunSettings(cfg, 1, { latencyBoundMs: Number.isNaN(bound) ? null : bound }),
    latencyRule: Number.isNaN(bound)
      ? undefined
      : { path: 'singleStream.latencyBoundMs', boundMs: bound, percentile: 0.9 },
  });
}
