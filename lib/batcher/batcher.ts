/**
 * The dynamic batcher: single requests in, batched inference out (Triton's dynamic batching, in-process). Requests
 * wait in a {@link RequestQueue}; a scheduler hands ready batches to a pool of execution contexts, one batch per
 * context at a time. One timer wakes it for the next maxDelayMs or timeoutMs deadline; nothing spins.
 */
import type { ExecutionContext } from '../context.js';
import type { Engine } from '../engine.js';
import { InferrtError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { batchLayout, type BatcherInputs, type BatchLayout } from './layout.js';
import { resolveOptions, type BatcherOptions, type ResolvedOptions } from './options.js';
import { RequestQueue, type Queued } from './queue.js';
import type { PreparedRequest } from './request.js';
import { StatsCounter, type BatcherStats } from './stats.js';

/** Batches single requests to one engine. Create with {@link createBatcher}; `close()` it (or `await using`) when done. */
export interface Batcher extends AsyncDisposable {
  /**
   * Queues one request and resolves with this request's rows of every output, by name. `inputs` take the forms
   * `ctx.infer` takes ({ data, shape, dtype? } or a Tensor; a bare typed array when every dim but axis 0 is
   * static); axis 0 is the request's own row count, usually 1. The data is copied before this returns, so the
   * caller may reuse its buffers at once. A request that does not fit the engine rejects alone, before it is
   * queued (INVALID_ARGUMENT, DTYPE_MISMATCH or SHAPE_MISMATCH, as `ctx.infer`); a full queue rejects with
   * 'OVERLOADED', a request that waits past timeoutMs with 'TIMEOUT', and one whose inference fails with that
   * error (a batch failing on a request's data, INVALID_ARGUMENT, runs again one request at a time, so only the
   * requests at fault reject). Rejects with 'DISPOSED' once `close()` has been called.
   *
   * On a packed-sequence engine (`engine.packedSequences`) a request is ONE sequence: `{ input_ids: { data,
   * shape: [L] }, segment_ids?: { data, shape: [L] } }` (data: any integer ids, as `packSequences` takes them;
   * or a bare array of L ids); segment_ids default to 0 and the batcher makes cu_seqlens. It resolves with the
   * sequence's rows of each per-token output ([L, H] of last_hidden_state) and its row of each per-sequence output
   * ([1, H] of pooler_output). A bad sequence (unknown input, rank ≠ 1, L = 0, L above maxSequenceLength or
   * maxTokens, ids that are not integers in [0, 2^31), segment_ids of another length) rejects alone with
   * INVALID_ARGUMENT naming the input.
   */
  infer(inputs: BatcherInputs): Promise<Record<string, Tensor>>;
  /**
   * Stops accepting requests, runs everything queued without waiting for maxDelayMs (a queued request whose
   * timeoutMs passes before a context is free still rejects with 'TIMEOUT'), resolves once every request has
   * settled, then disposes the batcher's contexts (not the engine). Safe to call twice: both get one promise.
   */
  close(): Promise<void>;
  /** Requests waiting (not yet running). */
  readonly queued: number;
  /** Batches in flight. */
  readonly running: number;
  /** Counters since creation. */
  stats(): BatcherStats;
}

/**
 * Creates a dynamic batcher over `engine`: requests with the same non-batch dims are stacked along axis 0 into
 * batches of at most `maxBatch` rows, run on a pool of `contexts` execution contexts, and each request gets its own
 * rows back. Every engine input and output must have a dynamic axis 0. INVALID_ARGUMENT naming the option when an
 * option is wrong or the engine cannot be batched.
 *
 * A packed-sequence engine (`engine.packedSequences`) is batched by packing instead: each request is one sequence,
 * and a batch holds at most `maxBatch` sequences (at most the engine's maxBatch) and the engine's maxTokens tokens
 * (a sequence that would overflow either waits for the next batch), packed with cu_seqlens.
 * @example
 * await using batcher = createBatcher(engine, { maxBatch: 32, maxDelayMs: 2, contexts: 2 });
 * const { logits } = await batcher.infer({ input_ids: { data: ids, shape: [1, 128] } });
 * // a packed-sequence BERT engine:
 * const { last_hidden_state } = await packedBatcher.infer({ input_ids: { data: ids, shape: [ids.length] } });  // [L, H]
 */
export function createBatcher(engine: Engine, options: BatcherOptions): Batcher {
  return new DynamicBatcher(engine, options);
}

/** The longest delay setTimeout honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A queued request with its promise's settlers. */
interface Pending extends PreparedRequest, Queued {
  resolve(outputs: Record<string, Tensor>): void;
  reject(error: unknown): void;
}

class DynamicBatcher implements Batcher {
  readonly #options: ResolvedOptions;
  readonly #layout: BatchLayout;
  readonly #queue = new RequestQueue<Pending>();
  readonly #contexts: ExecutionContext[] = [];
  readonly #idle: ExecutionContext[] = [];
  readonly #stats = new StatsCounter();
  #running = 0;
  #seq = 0;
  #pumpScheduled = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #closed: Promise<void> | undefined;
  #onSettled: (() => void) | undefined;

  constructor(engine: Engine, options: BatcherOptions) {
    this.#options = resolveOptions(engine, options);
    const { profile } = this.#options;
    this.#layout = batchLayout(engine, this.#options);
    try {
      for (let i = 0; i < this.#options.contexts; i++) this.#contexts.push(engine.createContext({ profile }));
    } catch (e) {
      for (const ctx of this.#contexts) ctx.dispose();
      throw e;
    }
    this.#idle.push(...this.#contexts);
  }

  get queued(): number {
    return this.#queue.size;
  }

  get running(): number {
    return this.#running;
  }

  stats(): BatcherStats {
    return this.#stats.snapshot();
  }

  infer(inputs: BatcherInputs): Promise<Record<string, Tensor>> {
    if (this.#closed) {
      return Promise.reject(new InferrtError('DISPOSED', 'batcher.infer: the batcher is closed (close() was called) and accepts no new requests'));
    }
    let prepared: PreparedRequest;
    try {
      prepared = this.#layout.prepare(inputs);
    } catch (e) {
      return Promise.reject(e);
    }
    const { maxQueue } = this.#options;
    if (this.#queue.size >= maxQueue) {
      this.#stats.overloaded++;
      return Promise.reject(new InferrtError('OVERLOADED', `batcher.infer: the queue is full (${maxQueue} requests waiting, maxQueue ${maxQueue}); retry later, or raise maxQueue or contexts`));
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ ...prepared, at: performance.now(), seq: this.#seq++, resolve, reject });
      this.schedulePump();
    });
  }

  close(): Promise<void> {
    if (this.#closed) return this.#closed;
    const settled = new Promise<void>((resolve) => {
      this.#onSettled = resolve;
    });
    this.#closed = settled.then(() => {
      for (const ctx of this.#contexts) ctx.dispose();
    });
    this.pump();
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Pumps once after the current synchronous code, so requests issued together in one tick can share a batch. */
  private schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.pump();
    });
  }

  /** Expires requests past timeoutMs, starts every ready batch an idle context can take, re-arms the timer. */
  private pump(): void {
    const now = performance.now();
    const { timeoutMs, maxBatch, maxDelayMs, contexts } = this.#options;
    if (timeoutMs !== Infinity) {
      for (const r of this.#queue.expire(now - timeoutMs)) {
        this.#stats.timedOut++;
        r.reject(new InferrtError('TIMEOUT', `batcher.infer: the request waited ${timeoutMs} ms in the queue without starting (timeoutMs ${timeoutMs}; ${this.#running} of ${contexts} contexts busy)`));
      }
    }
    const flush = this.#closed !== undefined;
    while (this.#idle.length > 0) {
      const batch = this.#queue.take({ now, maxBatch, maxTokens: this.#layout.maxTokens, maxDelayMs, flush });
      if (!batch) break;
      this.start(this.#idle.pop()!, batch);
    }
    this.armTimer(now);
    if (flush && this.#queue.size === 0 && this.#running === 0) this.#onSettled?.();
  }

  private start(ctx: ExecutionContext, batch: Pending[]): void {
    this.#running++;
    this.#stats.batch(batch.length, batch.reduce((n, r) => n + r.rows, 0), batch.reduce((n, r) => n + (r.tokens ?? 0), 0));
    const done = (): void => {
      this.#running--;
      this.#idle.push(ctx);
      this.pump();
    };
    this.#layout.run(ctx, batch).then(
      (results) => {
        batch.forEach((r, i) => r.resolve(results[i]!));
        done();
      },
      (error: unknown) => {
        if (batch.length > 1 && isDataError(error)) {
          void this.runAlone(ctx, batch).then(done);
          return;
        }
        this.#stats.failed += batch.length;
        for (const r of batch) r.reject(error);
        done();
      },
    );
  }

  /**
   * A batch that failed on its data (an id or index out of range in some request) runs again one request at a
   * time, so only the requests at fault reject, each with its own error.
   */
  private async runAlone(ctx: ExecutionContext, batch: readonly Pending[]): Promise<void> {
    this.#stats.isolatedBatches++;
    for (const r of batch) {
      try {
        const [out] = await this.#layout.run(ctx, [r]);
        r.resolve(out!);
      } catch (e) {
        this.#stats.failed++;
        r.reject(e);
      }
    }
  }

  /** One timer for the nearest deadline: the oldest request's maxDelayMs (when a context is idle) or its timeoutMs. */
  private armTimer(now: number): void {
    let wake = Infinity;
    if (this.#queue.size > 0) {
      const oldest = this.#queue.oldestAt();
      if (this.#idle.length > 0) wake = oldest + this.#options.maxDelayMs;
      wake = Math.min(wake, oldest + this.#options.timeoutMs);
    }
    if (wake === this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = wake;
    if (wake === Infinity) return;
    // Node fires a delay above 2^31 - 1 ms after 1 ms instead; a far deadline wakes early, finds nothing due, re-arms.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.pump();
    }, Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(wake - now))));
  }
}

/** Errors a request's data causes (INVALID_ARGUMENT at run time); others (OUT_OF_MEMORY, DISPOSED, ...) fail the batch. */
function isDataError(error: unknown): boolean {
  return error instanceof InferrtError && error.code === 'INVALID_ARGUMENT';
}
