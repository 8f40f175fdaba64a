/**
 * Offline scenario: every sample is issued at once (in one query by default, as MLPerf does; in many when
 * `offline.samplesPerQuery` is set) and the result is throughput: completed samples per second from the start of
 * the run to the last completion.
 */
import { optionGroup, optionalNumber, resolveCommon, toRunSettings } from '../options.js';
import { buildSummary, type RunSummary } from '../summary.js';
import { QueryTracker } from '../tracker.js';
import type { CommonOptions } from '../types.js';

/** Offline's own options (`options.offline`). */
export interface OfflineSettings {
  /**
   * The throughput you expect, in samples per second. Only sizes the run (as MLPerf's `offline_expected_qps`):
   * too low and the run ends before `minDurationMs` (INVALID). Default `1000`.
   */
  expectedQps?: number;
  /**
   * How many samples to issue in all. Default `ceil(expectedQps × minDurationMs / 1000 × 1.1)` (10% margin), raised
   * to `minQueryCount × samplesPerQuery` when `samplesPerQuery` is given, and to at least 1.
   */
  sampleCount?: number;
  /** Samples per query; the last query takes the remainder. Default: all samples in one query, as MLPerf. */
  samplesPerQuery?: number;
}

/** Options of {@link runOffline}. */
export interface OfflineOptions<S> extends CommonOptions<S> {
  /** Offline settings. Default `{}` (every field at its default). */
  offline?: OfflineSettings;
}

/** Default of {@link OfflineSettings.expectedQps}. */
export const DEFAULT_OFFLINE_EXPECTED_QPS = 1000;

/** Queries issued per event-loop turn, so a huge Offline issue phase still lets timers and I/O run. */
const ISSUE_CHUNK = 4096;

/** Runs the Offline scenario. Rejects only on invalid options or a throwing `onProgress` / sample accessor. */
export async function runOffline<S>(options: OfflineOptions<S>): Promise<RunSummary> {
  const cfg = resolveCommon<S>(options, 'Offline', ['offline']);
  const group = optionGroup(options, 'offline', ['expectedQps', 'sampleCount', 'samplesPerQuery'], false);
  const expectedQps = optionalNumber(group.expectedQps, 'offline.expectedQps', 'positive', DEFAULT_OFFLINE_EXPECTED_QPS);
  const perQuery =
    group.samplesPerQuery === undefined
      ? undefined
      : optionalNumber(group.samplesPerQuery, 'offline.samplesPerQuery', 'positiveInteger', 1);
  const sizedCount = Math.max(
    1,
    Math.ceil((expectedQps * cfg.minDurationMs * 11) / 10_000), // × 1.1 / 1000, exact for whole numbers
    perQuery === undefined ? 0 : cfg.minQueryCount * perQuery,
  );
  const sampleCount = optionalNumber(group.sampleCount, 'offline.sampleCount', 'positiveInteger', sizedCount);
  const samplesPerQuery = perQuery ?? sampleCount;
  const fullQueryCount = Math.ceil(sampleCount / samplesPerQuery);
  const lastQuerySize = sampleCount - samplesPerQuery * (fullQueryCount - 1);
  const queryCount = Math.min(fullQueryCount, cfg.maxQueryCount);

  const tracker = new QueryTracker<S>(cfg, false);
  const maxDurationNs = cfg.maxDurationMs * 1e6;
  let timer: ReturnType<typeof setImmediate> | undefined;
  tracker.onAbort = () => clearImmediate(timer);
  let next = 0;
  const issueChunk = (): void => {
    timer = undefined;
    const end = Math.min(queryCount, next + ISSUE_CHUNK);
    while (next < end && tracker.issuing) {
      tracker.issueQuery(next === fullQueryCount - 1 ? lastQuerySize : samplesPerQuery);
      next++;
    }
    if (next < queryCount && tracker.issuing && tracker.nowNs() < maxDurationNs) timer = setImmediate(issueChunk);
    else tracker.stopIssuing();
  };
  if (tracker.issuing) issueChunk();
  await tracker.finished;
  const facts = tracker.close();
  return buildSummary({
    scenario: 'Offline',
    facts,
    settings: toRunSettings(cfg, samplesPerQuery, { expectedQps, sampleCount, samplesPerQuery }),
    durationHint: 'raise offline.expectedQps (or offline.sampleCount) so the run issues more samples',
  });
}
