/**
 * QueryTracker: the bookkeeping every scenario shares. It builds each query from the sample library, hands it to
 * the system under test, timestamps issue and completion with `process.hrtime.bigint()`, counts outcomes, reports
 * progress on a timer, and resolves `finished` once issuing has stopped and every query has settled (or the run was
 * aborted). Scenarios only decide *when* to issue.
 */
import type { ResolvedCommon } from './options.js';
import { createRng } from './poisson.js';
import { SampleSelector } from './samples.js';
import type { Progress } from './types.js';

/** What a finished run measured; input to the summary. All times are ns since the run started. */
export interface RunFacts {
  /** Wall-clock start. */
  startedAt: Date;
  /** Until the last settlement (or the abort). */
  durationNs: number;
  /** When issuing stopped. */
  issueEndNs: number;
  /** Query counts. */
  issued: number;
  completed: number;
  failed: number;
  /** Sample counts. */
  issuedSamples: number;
  completedSamples: number;
  /** One latency per completed query, in completion order. */
  latenciesNs: number[];
  /** One issue lateness per issued query (Server), else `null`. */
  latenessNs: number[] | null;
  /** The first failed query's error (`undefined` if none failed). */
  firstError: unknown;
  /** Whether the run was aborted. */
  aborted: boolean;
}

/** The longest delay setTimeout / setInterval honour. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Shared per-run state of one scenario run. See the module comment. */
export class QueryTracker<S> {
  /** Wall-clock start, for the record. */
  readonly startedAt = new Date();
  /** Resolves once issuing has stopped and nothing is outstanding, or on abort. Never rejects. */
  readonly finished: Promise<void>;
  /** Called after each query settles (completes or fails), while the run is open. */
  onSettled: (() => void) | undefined;
  /** Called once when the run is aborted (by the signal or by a fatal error), to cancel the scenario's timers. */
  onAbort: (() => void) | undefined;

  issued = 0;
  completed = 0;
  failed = 0;
  issuedSamples = 0;
  completedSamples = 0;
  aborted = false;
  /** Set when issuing has stopped (`stopIssuing`). */
  issuing = true;
  /** An error that must fail the run (a throwing `onProgress` or sample accessor); rethrown by the scenario. */
  fatal: { error: unknown } | undefined;

  private readonly t0 = process.hrtime.bigint();
  private readonly latenciesNs: number[] = [];
  private readonly latenessNs: number[] | null;
  private readonly selector: SampleSelector;
  private firstError: { error: unknown } | undefined;
  private lastSettledNs = 0;
  private issueEndNs = 0;
  private abortedNs = 0;
  private closed = false;
  private resolveFinished!: () => void;
  private progressTimer: ReturnType<typeof setInterval> | undefined;
  private readonly abortListener = (): void => this.abort();

  /**
   * @param cfg the resolved common options.
   * @param recordLateness keep per-query issue lateness (issue time − scheduled time); Server does.
   */
  constructor(
    private readonly cfg: ResolvedCommon<S>,
    recordLateness: boolean,
  ) {
    this.latenessNs = recordLateness ? [] : null;
    this.selector = new SampleSelector(cfg.library.count, cfg.sampleOrder, createRng(cfg.seed));
    this.finished = new Promise<void>((resolve) => (this.resolveFinished = resolve));
    if (cfg.signal !== undefined) {
      if (cfg.signal.aborted) this.abort();
      else cfg.signal.addEventListener('abort', this.abortListener, { once: true });
    }
    if (cfg.onProgress !== undefined && !this.aborted) {
      // Node runs an interval above 2^31 - 1 ms every 1 ms instead; clamp (about 24.8 days is "never" for a run).
      this.progressTimer = setInterval(() => this.reportProgress(), Math.min(MAX_TIMER_MS, cfg.progressIntervalMs));
    }
  }

  /** Queries issued and not yet settled. */
  get outstanding(): number {
    return this.issued - this.completed - this.failed;
  }

  /** Nanoseconds since the run started. */
  nowNs(): number {
    return Number(process.hrtime.bigint() - this.t0);
  }

  /**
   * Builds and issues one query of `samplesPerQuery` samples. Latency is measured from `scheduledNs` when given
   * (Server: the scheduled arrival), else from the issue time. Returns the issue time (ns since start).
   */
  issueQuery(samplesPerQuery: number, scheduledNs?: number): number {
    const id = this.issued;
    const indices = new Array<number>(samplesPerQuery);
    const samples = new Array<S>(samplesPerQuery);
    try {
      for (let i = 0; i < samplesPerQuery; i++) {
        const index = this.selector.next();
        indices[i] = index;
        samples[i] = this.cfg.library.get(index);
      }
    } catch (error) {
      this.failRun(error);
      return this.nowNs();
    }
    const issuedNs = this.nowNs();
    const startNs = scheduledNs ?? issuedNs;
    if (this.latenessNs !== null) this.latenessNs.push(issuedNs - startNs);
    this.issued = id + 1;
    this.issuedSamples += samplesPerQuery;
    let result: unknown;
    try {
      result = this.cfg.issue(samples, { id, indices });
    } catch (error) {
      this.settleFailed(error);
      return issuedNs;
    }
    if (isThenable(result)) {
      result.then(
        () => this.settleCompleted(startNs, samplesPerQuery),
        (error: unknown) => this.settleFailed(error),
      );
    } else {
      this.settleCompleted(startNs, samplesPerQuery);
    }
    return issuedNs;
  }

  /** Marks the end of issuing; `finished` resolves once the outstanding queries settle. Idempotent. */
  stopIssuing(): void {
    if (!this.issuing) return;
    this.issuing = false;
    this.issueEndNs = this.nowNs();
    this.checkFinished();
  }

  /** Aborts the run: stops issuing, stops waiting, resolves `finished`. Idempotent. */
  abort(): void {
    if (this.aborted || this.closed) return;
    this.aborted = true;
    this.abortedNs = this.nowNs();
    this.stopIssuing();
    this.onAbort?.();
    this.resolveFinished();
  }

  /** Records an error that must fail the whole run (rethrown by the scenario), and aborts. */
  failRun(error: unknown): void {
    if (this.fatal === undefined) this.fatal = { error };
    this.abort();
  }

  /**
   * Closes the run: stops the progress timer, sends the final progress report, ignores later settlements, and
   * returns the facts. Throws the fatal error, if any.
   */
  close(): RunFacts {
    if (this.progressTimer !== undefined) clearInterval(this.progressTimer);
    this.cfg.signal?.removeEventListener('abort', this.abortListener);
    const endNs = this.aborted ? this.abortedNs : Math.max(this.lastSettledNs, this.issueEndNs);
    this.closed = true;
    if (this.fatal !== undefined) throw this.fatal.error;
    this.cfg.onProgress?.(this.snapshot(true, endNs));
    return {
      startedAt: this.startedAt,
      durationNs: endNs,
      issueEndNs: this.issueEndNs,
      issued: this.issued,
      completed: this.completed,
      failed: this.failed,
      issuedSamples: this.issuedSamples,
      completedSamples: this.completedSamples,
      latenciesNs: this.latenciesNs,
      latenessNs: this.latenessNs,
      firstError: this.firstError?.error,
      aborted: this.aborted,
    };
  }

  private settleCompleted(startNs: number, samples: number): void {
    if (this.closed) return;
    const now = this.nowNs();
    this.latenciesNs.push(now - startNs);
    this.completed++;
    this.completedSamples += samples;
    this.lastSettledNs = now;
    this.onSettled?.();
    this.checkFinished();
  }

  private settleFailed(error: unknown): void {
    if (this.closed) return;
    this.failed++;
    if (this.firstError === undefined) this.firstError = { error };
    this.lastSettledNs = this.nowNs();
    this.onSettled?.();
    this.checkFinished();
  }

  private checkFinished(): void {
    if (!this.issuing && this.outstanding === 0) this.resolveFinished();
  }

  private snapshot(done: boolean, elapsedNs: number): Progress {
    return {
      scenario: this.cfg.scenario,
      issued: this.issued,
      completed: this.completed,
      failed: this.failed,
      outstanding: this.outstanding,
      elapsedMs: elapsedNs / 1e6,
      done,
    };
  }

  private reportProgress(): void {
    try {
      this.cfg.onProgress?.(this.snapshot(false, this.nowNs()));
    } catch (error) {
      this.failRun(error);
    }
  }
}
