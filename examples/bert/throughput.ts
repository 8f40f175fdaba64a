/** Throughput and latency of a run over a list of batches (the example's and the benchmark's summary figures). */

/** Figures of one engine over the mix; the field names match bench/pytorch/bert_mix.py's JSON. */
export interface RunSummary {
  /** Sum of the batches' times. */
  totalMs: number;
  /** Requests (sequences) per second over the whole mix. */
  samplesPerS: number;
  /** Real (unpadded) tokens per second. */
  tokensPerS: number;
  /** Per-batch latency: mean, median and 99th percentile (nearest rank). */
  latencyMs: { mean: number; p50: number; p99: number };
}

/** The p-th percentile of `values` by nearest rank (the value at rank ceil(p / 100 * n)). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Summarizes per-batch times `batchMs` of a mix of `samples` requests holding `tokens` real tokens. */
export function summarize(batchMs: readonly number[], samples: number, tokens: number): RunSummary {
  const totalMs = batchMs.reduce((a, b) => a + b, 0);
  return {
    totalMs,
    samplesPerS: (samples / totalMs) * 1e3,
    tokensPerS: (tokens / totalMs) * 1e3,
    latencyMs: { mean: totalMs / batchMs.length, p50: percentile(batchMs, 50), p99: percentile(batchMs, 99) },
  };
}
