/** Counters a batcher keeps since its creation, for dashboards and tests. */

/** What `batcher.stats()` returns: counts since the batcher was created. */
export interface BatcherStats {
  /** Requests that ran in a batch (whether their batch succeeded or failed). */
  requests: number;
  /** Batches run. */
  batches: number;
  /** Rows run, over all batches. */
  rows: number;
  /** rows / batches (0 before the first batch). */
  meanBatchRows: number;
  /** The most rows one batch held. */
  maxBatchRows: number;
  /** Tokens run, over all batches: batchers over packed-sequence engines (0 for other engines). */
  tokens: number;
  /** The most tokens one batch held (packed-sequence engines; 0 for other engines). */
  maxBatchTokens: number;
  /** Requests rejected with 'OVERLOADED' because the queue was full. */
  overloaded: number;
  /** Requests rejected with 'TIMEOUT' because they waited longer than timeoutMs. */
  timedOut: number;
  /**
   * Requests rejected because their inference failed (or an output could not be split per request). A batch that
   * fails on a request's data (INVALID_ARGUMENT: an id or index out of range) runs again one request at a time, so
   * only the requests at fault count here.
   */
  failed: number;
  /** Batches that failed on their data and ran again one request at a time. */
  isolatedBatches: number;
}

/** @internal The mutable counters behind {@link BatcherStats}. */
export class StatsCounter {
  requests = 0;
  batches = 0;
  rows = 0;
  maxBatchRows = 0;
  tokens = 0;
  maxBatchTokens = 0;
  overloaded = 0;
  timedOut = 0;
  failed = 0;
  isolatedBatches = 0;

  /** Counts a batch of `requests` requests holding `rows` rows (and `tokens` tokens) as it starts. */
  batch(requests: number, rows: number, tokens = 0): void {
    this.requests += requests;
    this.batches++;
    this.rows += rows;
    this.maxBatchRows = Math.max(this.maxBatchRows, rows);
    this.tokens += tokens;
    this.maxBatchTokens = Math.max(this.maxBatchTokens, tokens);
  }

  snapshot(): BatcherStats {
    const { requests, batches, rows, maxBatchRows, tokens, maxBatchTokens, overloaded, timedOut, failed, isolatedBatches } = this;
    return {
      requests, batches, rows, meanBatchRows: batches === 0 ? 0 : rows / batches, maxBatchRows, tokens, maxBatchTokens, overloaded,
      timedOut, failed, isolatedBatches,
    };
  }
}
