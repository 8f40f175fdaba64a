/**
 * The systems under test `inferrt bench` measures: every sample of a query is one request, run either through
 * the dynamic batcher (requests from concurrent queries share batches; for a packed-sequence engine, requests are
 * sequences it packs) or through a pool of execution contexts with one request per `infer` call (the naive loop
 * the batcher is compared against).
 */
import type { Batcher } from '../../batcher/index.js';
import type { ExecutionContext } from '../../context.js';
import type { Engine } from '../../engine.js';
import type { Request } from './samples.js';

/** Runs requests; `close()` waits for those in flight and releases what it holds. */
export interface RequestRunner {
  run(request: Request): Promise<unknown>;
  close(): Promise<void>;
  /** One line about how requests ran (batch sizes, contexts), for the report. */
  describe(): string;
}

/** One request per `infer` call, each on the next idle context of a pool. */
export function contextPool(engine: Engine, contexts: number, profile: number): RequestRunner {
  const idle: ExecutionContext[] = [];
  const all: ExecutionContext[] = [];
  try {
    for (let i = 0; i < contexts; i++) {
      const ctx = engine.createContext();
      all.push(ctx);
      if (profile !== 0) ctx.setOptimizationProfile(profile);
      idle.push(ctx);
    }
  } catch (e) {
    for (const ctx of all) ctx.dispose();
    throw e;
  }
  const waiting: Array<(ctx: ExecutionContext) => void> = [];
  let requests = 0;
  const acquire = (): Promise<ExecutionContext> => {
    const ctx = idle.pop();
    return ctx ? Promise.resolve(ctx) : new Promise((resolve) => waiting.push(resolve));
  };
  const release = (ctx: ExecutionContext): void => {
    const next = waiting.shift();
    if (next) next(ctx);
    else idle.push(ctx);
  };
  return {
    async run(request) {
      const ctx = await acquire();
      requests++;
      try {
        return await ctx.infer(request);
      } finally {
        release(ctx);
      }
    },
    async close() {
      // Every context comes back to `idle` once its request settles.
      while (idle.length < all.length) await new Promise<void>((resolve) => waiting.push((ctx) => (release(ctx), resolve())));
      for (const ctx of all) ctx.dispose();
    },
    describe: () => `no batcher: ${requests} requests, one per infer call, on ${contexts} context${contexts === 1 ? '' : 's'} (warm-up included)`,
  };
}

/** Requests through a dynamic batcher; `packed`: one sequence per request, packed into batches of sequences. */
export function batched(batcher: Batcher, packed = false): RequestRunner {
  return {
    run: (request) => batcher.infer(request),
    close: () => batcher.close(),
    describe() {
      const s = batcher.stats();
      if (packed) {
        const meanTokens = s.batches === 0 ? 0 : s.tokens / s.batches;
        return `batcher: ${s.requests} sequences in ${s.batches} packed batches (mean ${s.meanBatchRows.toFixed(2)} sequences, ${meanTokens.toFixed(1)} tokens; max ${s.maxBatchRows} sequences, ${s.maxBatchTokens} tokens; warm-up included)`;
      }
      return `batcher: ${s.requests} requests in ${s.batches} batches (mean ${s.meanBatchRows.toFixed(2)} rows, max ${s.maxBatchRows}; warm-up included)`;
    },
  };
}
