/**
 * The batcher's waiting room: requests grouped by shape key, FIFO within each group. It decides which batch is
 * ready to run; it owns no timers and no contexts, so the policy can be read (and tested) on its own.
 */

/** What the queue needs to know of a request. */
export interface Queued {
  /** Only requests with equal keys share a batch. */
  key: string;
  /** Rows the request adds to a batch. */
  rows: number;
  /** Tokens the request adds to a batch (packed sequences); 0 or absent where batches count rows only. */
  tokens?: number;
  /** When it was queued (performance.now() ms). */
  at: number;
  /** Arrival order, unique and increasing; breaks ties between equal `at`. */
  seq: number;
}

/** When a batch may run: now, how many rows (and tokens) it may hold, how long its oldest request waits, and whether to wait at all. */
export interface Readiness {
  now: number;
  maxBatch: number;
  /** Most tokens in one batch (packed sequences). Default: no limit. */
  maxTokens?: number;
  maxDelayMs: number;
  /** Closing: every group is ready, however small. */
  flush: boolean;
}

/** Requests waiting to run, grouped by key. */
export class RequestQueue<T extends Queued> {
  readonly #groups = new Map<string, T[]>();
  #size = 0;

  /** Requests waiting. */
  get size(): number {
    return this.#size;
  }

  push(request: T): void {
    const group = this.#groups.get(request.key);
    if (group) group.push(request);
    else this.#groups.set(request.key, [request]);
    this.#size++;
  }

  /** When the oldest waiting request was queued; Infinity when none is. */
  oldestAt(): number {
    let at = Infinity;
    for (const group of this.#groups.values()) at = Math.min(at, group[0]!.at);
    return at;
  }

  /** Removes and returns every request queued at or before `cutoff` (oldest first within each group). */
  expire(cutoff: number): T[] {
    const out: T[] = [];
    for (const [key, group] of this.#groups) {
      let n = 0;
      while (n < group.length && group[n]!.at <= cutoff) n++;
      if (n > 0) out.push(...this.remove(key, group, n));
    }
    return out;
  }

  /**
   * Removes and returns the next batch to run, or undefined when none is ready. A group's batch is its longest
   * prefix within maxBatch rows and maxTokens tokens (FIFO: a request that does not fit is not skipped); it is
   * ready when it is full (maxBatch rows, maxTokens tokens, or the next request would not fit), its oldest request
   * has waited maxDelayMs, or on flush.
   * Of the ready groups, the one whose oldest request came first runs.
   */
  take(r: Readiness): T[] | undefined {
    const maxTokens = r.maxTokens ?? Infinity;
    let best: { key: string; group: T[]; count: number } | undefined;
    for (const [key, group] of this.#groups) {
      if (best && group[0]!.seq > best.group[0]!.seq) continue;
      let rows = 0;
      let tokens = 0;
      let count = 0;
      for (; count < group.length; count++) {
        const next = group[count]!;
        if (rows + next.rows > r.maxBatch || tokens + (next.tokens ?? 0) > maxTokens) break;
        rows += next.rows;
        tokens += next.tokens ?? 0;
      }
      const full = rows === r.maxBatch || tokens === maxTokens || count < group.length;
      if (r.flush || full || r.now - group[0]!.at >= r.maxDelayMs) best = { key, group, count };
    }
    return best && this.remove(best.key, best.group, best.count);
  }

  private remove(key: string, group: T[], count: number): T[] {
    const taken = group.splice(0, count);
    if (group.length === 0) this.#groups.delete(key);
    this.#size -= taken.length;
    return taken;
  }
}
