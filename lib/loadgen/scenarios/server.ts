/**
 * Server scenario: queries arrive as a Poisson process at `server.targetQps`; the run is VALID when the latency
 * percentile (p99) stays under `server.latencyBoundMs` and the system keeps up with the schedule.
 *
 * Scheduling never busy-waits: a timer is set for the next arrival and, when it fires, every query whose arrival
 * time has passed is issued (so timer drift never loses arrivals; up to {@link SERVER_ISSUE_BATCH} per turn, then
 * the loop yields). Latency is measured from the *scheduled* arrival, as in MLPerf, so a late generator is charged
 * to the system, and the generator's lateness is reported (`summary.generator.latenessMs`).
 */
import { checkNumber, optionGroup, optionalNumber, resolveCommon, toRunSettings } from '../options.js';
import { PoissonArrivals, createRng } from '../poisson.js';
import { buildSummary, type RunSummary } from '../summary.js';
import { QueryTracker } from '../tracker.js';
import type { CommonOptions } from '../types.js';

/** Server's own options (`options.server`). */
export interface ServerSettings {
  /** Mean arrival rate of the Poisson schedule, queries per second. Required. */
  targetQps: number;
  /** The latency bound at `latencyPercentile`, in milliseconds. Required. */
  latencyBoundMs: number;
  /** The percentile the bound applies to, as a fraction. Default `0.99`. */
  latencyPercentile?: number;
  /** Samples per query. Default `1`, as MLPerf. */
  samplesPerQuery?: number;
  /**
   * The largest allowed shortfall of achieved QPS (completed queries / run duration) below the scheduled QPS, as a
   * fraction. Default `0.1` (10%). A system that cannot keep up falls behind and fails this rule.
   */
  maxQpsShortfall?: number;
  /**
   * If a query comes due while this many are outstanding, stop issuing and mark the run INVALID (MLPerf's "too
   * many outstanding queries"): it keeps an overloaded run from queueing without end. Default `Infinity` (never).
   */
  maxOutstanding?: number;
  /**
   * The last this-many milliseconds before an arrival are waited out with `setImmediate` turns instead of a timer:
   * tighter issue times (timers have 1 ms granularity) for some CPU. Each turn yields to I/O and timers, so the event
   * loop is never blocked. Default `0` (timers only).
   */
  spinMs?: number;
}

/** Options of {@link runServer}. */
export interface ServerOptions<S> extends CommonOptions<S> {
  /** Server settings. Required (`targetQps` and `latencyBoundMs` have no default). */
  server: ServerSettings;
}

/** Most queries issued in one event-loop turn before the generator yields (when it has fallen behind). */
export const SERVER_ISSUE_BATCH = 2048;
/** Mixed into `seed` for the arrival schedule, so it is independent of the sample choice. */
const ARRIVAL_SEED_SALT = 0x5ca1ab1e;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The keys of {@link ServerSettings}. */
export const SERVER_KEYS = [
  'targetQps',
  'latencyBoundMs',
  'latencyPercentile',
  'samplesPerQuery',
  'maxQpsShortfall',
  'maxOutstanding',
  'spinMs',
] as const;

/** Runs the Server scenario. Rejects only on invalid options or a throwing `onProgress` / sample accessor. */
export async function runServer<S>(options: ServerOptions<S>): Promise<RunSummary> {
  const cfg = resolveCommon<S>(options, 'Server', ['server']);
  const group = optionGroup(options, 'server', SERVER_KEYS, true);
  const targetQps = checkNumber(group.targetQps, 'server.targetQps', 'positive');
  const latencyBoundMs = checkNumber(group.latencyBoundMs, 'server.latencyBoundMs', 'positive');
  const latencyPercentile = optionalNumber(group.latencyPercentile, 'server.latencyPercentile', 'fraction', 0.99);
  const samplesPerQuery = optionalNumber(group.samplesPerQuery, 'server.samplesPerQuery', 'positiveInteger', 1);
  const maxQpsShortfall = optionalNumber(group.maxQpsShortfall, 'server.maxQpsShortfall', 'nonNegative', 0.1);
  const maxOutstanding = optionalNumber(group.maxOutstanding, 'server.maxOutstanding', 'positiveIntegerOrInfinity', Infinity);
  const spinMs = optionalNumber(group.spinMs, 'server.spinMs', 'nonNegative', 0);

  const tracker = new QueryTracker<S>(cfg, true);
  const arrivals = new PoissonArrivals(targetQps, createRng(cfg.seed ^ ARRIVAL_SEED_SALT));
  const minDurationNs = cfg.minDurationMs * 1e6;
  const maxDurationNs = cfg.maxDurationMs * 1e6;
  let nextNs = arrivals.next();
  let lastArrivalNs = 0;
  let stoppedEarly: { outstanding: number; queryId: number } | null = null;
  let timeout: ReturnType<typeof setTimeout> | undefined;
  let immediate: ReturnType<typeof setImmediate> | undefined;
  tracker.onAbort = () => {
    clearTimeout(timeout);
    clearImmediate(immediate);
  };

  const pump = (): void => {
    timeout = undefined;
    immediate = undefined;
    let now = 0;
    for (let batch = 0; tracker.issuing; batch++) {
      now = tracker.nowNs();
      if (now >= maxDurationNs) return tracker.stopIssuing();
      if (nextNs > now) break;
      if (batch === SERVER_ISSUE_BATCH) {
        immediate = setImmediate(pump);
        return;
      }
      if (tracker.outstanding >= maxOutstanding) {
        stoppedEarly = { outstanding: tracker.outstanding, queryId: tracker.issued };
        return tracker.stopIssuing();
      }
      tracker.issueQuery(samplesPerQuery, nextNs);
      lastArrivalNs = nextNs;
      const enough = lastArrivalNs >= minDurationNs && tracker.issued >= cfg.minQueryCount;
      if (enough || tracker.issued >= cfg.maxQueryCount) return tracker.stopIssuing();
      nextNs = arrivals.next();
    }
    if (!tracker.issuing) return;
    const waitMs = (Math.min(nextNs, maxDurationNs) - now) / 1e6;
    if (waitMs > spinMs && waitMs >= 1) {
      timeout = setTimeout(pump, Math.min(MAX_TIMER_MS, Math.max(1, Math.floor(waitMs - spinMs))));
    } else if (spinMs > 0) {
      immediate = setImmediate(pump);
    } else {
      timeout = setTimeout(pump, 1);
    }
  };
  if (tracker.issuing) pump();
  await tracker.finished;
  const facts = tracker.close();
  return buildSummary({
    scenario: 'Server',
    facts,
    settings: toRunSettings(cfg, samplesPerQuery, {
      targetQps,
      latencyBoundMs,
      latencyPercentile,
      maxQpsShortfall,
      maxOutstanding: Number.isFinite(maxOutstanding) ? maxOutstanding : null,
      spinMs,
    }),
    latencyRule: { path: 'server.latencyBoundMs', boundMs: latencyBoundMs, percentile: latencyPercentile },
    server: { targetQps, lastArrivalNs, maxQpsShortfall, maxOutstanding, stoppedEarly },
  });
}
