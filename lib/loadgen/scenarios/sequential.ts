/**
 * The issue loop SingleStream and MultiStream share: one query at a time, the next issued as soon as the previous
 * settles, until both `minDurationMs` and `minQueryCount` are met (or a max limit or an abort stops it).
 *
 * A system that completes synchronously (or through already-resolved promises) would otherwise chain queries in
 * microtasks and starve timers and I/O; the loop yields with `setImmediate` after {@link SEQUENTIAL_YIELD_MS} of
 * back-to-back work, and a trampoline keeps synchronous completions from growing the stack.
 */
import type { ResolvedCommon } from '../options.js';
import type { QueryTracker } from '../tracker.js';

/** Longest stretch of back-to-back issuing before the loop yields to the event loop. */
export const SEQUENTIAL_YIELD_MS = 10;

/** Starts the sequential issue loop on `tracker`; completion is signalled by `tracker.finished`. */
export function startSequential<S>(tracker: QueryTracker<S>, cfg: ResolvedCommon<S>, samplesPerQuery: number): void {
  const minDurationNs = cfg.minDurationMs * 1e6;
  const maxDurationNs = cfg.maxDurationMs * 1e6;
  const yieldNs = SEQUENTIAL_YIELD_MS * 1e6;
  let lastYieldNs = 0;
  let inStep = false;
  let again = false;
  let immediate: ReturnType<typeof setImmediate> | undefined;
  tracker.onAbort = () => clearImmediate(immediate);

  const fromImmediate = (): void => {
    immediate = undefined;
    lastYieldNs = tracker.nowNs();
    step();
  };
  const step = (): void => {
    if (inStep) {
      again = true; // a synchronous completion inside issueQuery: the loop below picks it up
      return;
    }
    inStep = true;
    do {
      again = false;
      if (!tracker.issuing || tracker.outstanding > 0) break;
      const now = tracker.nowNs();
      const settled = tracker.completed + tracker.failed;
      const enough = settled >= cfg.minQueryCount && now >= minDurationNs;
      if (enough || tracker.issued >= cfg.maxQueryCount || now >= maxDurationNs) {
        tracker.stopIssuing();
        break;
      }
      if (now - lastYieldNs >= yieldNs) {
        immediate = setImmediate(fromImmediate);
        break;
      }
      tracker.issueQuery(samplesPerQuery);
    } while (again);
    inStep = false;
  };
  tracker.onSettled = step;
  if (tracker.issuing) step();
}
