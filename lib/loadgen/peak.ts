/**
 * `findPeakQps`: the highest Server target QPS whose run stays VALID. An exponential bracket (multiply the target by
 * `peak.growth` while runs pass, divide while they fail) finds a passing and a failing rate; a binary search then
 * narrows the gap until it is within `peak.tolerance` of the passing rate or the trial budget is spent. Every trial
 * uses the same seed, so trials differ only in rate. Between passing rate p and failing rate f the next trial is
 * (p + f) / 2, so the bracket only shrinks.
 */
import { checkFunction, optionGroup, optionalNumber } from './options.js';
import { SERVER_KEYS, runServer, type ServerOptions, type ServerSettings } from './scenarios/server.js';
import type { RunSummary } from './summary.js';

/** Search settings (`options.peak`). */
export interface PeakSearchSettings {
  /** The first target QPS tried. Default `100`. */
  startQps?: number;
  /** The most Server runs the search may make. Default `10`. */
  maxTrials?: number;
  /** Factor between bracketing trials (> 1). Default `2`. */
  growth?: number;
  /** Stop once (failing − passing) / passing ≤ this. Default `0.05`. */
  tolerance?: number;
}

/** Options of {@link findPeakQps}: Server options without `server.targetQps`, plus the search settings. */
export interface PeakSearchOptions<S> extends Omit<ServerOptions<S>, 'server'> {
  /** Server settings for every trial; `targetQps` is chosen by the search. Required (for `latencyBoundMs`). */
  server: Omit<ServerSettings, 'targetQps'>;
  /** Search settings. Default `{}`. */
  peak?: PeakSearchSettings;
  /** Called after each trial. Default none. */
  onTrial?: (trial: PeakTrial) => void;
}

/** One Server run of the search. */
export interface PeakTrial {
  /** 0-based trial number. */
  index: number;
  /** The target QPS of this trial. */
  targetQps: number;
  /** Whether the run was VALID. */
  valid: boolean;
  /** The run's summary. */
  summary: RunSummary;
}

/** The outcome of {@link findPeakQps}. */
export interface PeakResult {
  /** The highest target QPS that ran VALID, or `null` if none did. */
  peakQps: number | null;
  /** The summary of the run at `peakQps`, or `null`. */
  best: RunSummary | null;
  /** The lowest target QPS that ran INVALID, or `null` if none did (the peak may be higher). */
  lowestFailingQps: number | null;
  /** Whether the bracket closed to within `peak.tolerance` (else the trial budget ran out first). */
  converged: boolean;
  /** Every trial, in order. */
  trials: PeakTrial[];
}

/** Searches for the peak Server QPS; see the module comment. Rejects on invalid options. */
export async function findPeakQps<S>(options: PeakSearchOptions<S>): Promise<PeakResult> {
  const { peak, onTrial, ...serverOptions } = options;
  const group = optionGroup({ peak }, 'peak', ['startQps', 'maxTrials', 'growth', 'tolerance'], false);
  const startQps = optionalNumber(group.startQps, 'peak.startQps', 'positive', 100);
  const maxTrials = optionalNumber(group.maxTrials, 'peak.maxTrials', 'positiveInteger', 10);
  const growth = optionalNumber(group.growth, 'peak.growth', 'positive', 2);
  if (growth <= 1) throw new RangeError(`peak.growth must be a number greater than 1, got ${growth}`);
  const tolerance = optionalNumber(group.tolerance, 'peak.tolerance', 'positive', 0.05);
  if (onTrial !== undefined) checkFunction(onTrial, 'onTrial');
  const server = serverOptions.server as unknown;
  if (server !== null && typeof server === 'object' && 'targetQps' in server) {
    throw new TypeError('server.targetQps is chosen by findPeakQps; set peak.startQps instead');
  }
  optionGroup(serverOptions, 'server', SERVER_KEYS, true);

  const trials: PeakTrial[] = [];
  let pass: PeakTrial | undefined;
  let fail: PeakTrial | undefined;
  let qps = startQps;
  let converged = false;
  while (trials.length < maxTrials) {
    const summary = await runServer<S>({ ...serverOptions, server: { ...serverOptions.server, targetQps: qps } });
    const trial: PeakTrial = { index: trials.length, targetQps: qps, valid: summary.valid, summary };
    trials.push(trial);
    onTrial?.(trial);
    if (trial.valid && (pass === undefined || qps > pass.targetQps)) pass = trial;
    if (!trial.valid && (fail === undefined || qps < fail.targetQps)) fail = trial;
    if (pass === undefined) qps = (fail as PeakTrial).targetQps / growth;
    else if (fail === undefined) qps = pass.targetQps * growth;
    else if ((fail.targetQps - pass.targetQps) / pass.targetQps <= tolerance) {
      converged = true;
      break;
    } else qps = (pass.targetQps + fail.targetQps) / 2;
  }
  return {
    peakQps: pass?.targetQps ?? null,
    best: pass?.summary ?? null,
    lowestFailingQps: fail?.targetQps ?? null,
    converged,
    trials,
  };
}
