/** Fake systems under test with known timing, shared by the loadgen tests. */

/** Resolves after `ms` milliseconds (a timer), whatever the samples. */
export function fixedDelaySut(ms: number): () => Promise<void> {
  return () => new Promise<void>((resolve) => setTimeout(resolve, ms));
}

/**
 * Serves at most `slots` queries at a time, each for `serviceMs`; the rest wait in a FIFO queue. Capacity:
 * `slots / serviceMs` queries per millisecond.
 */
export function capacitySut(slots: number, serviceMs: number): () => Promise<void> {
  let busy = 0;
  const queue: Array<() => void> = [];
  const release = (): void => {
    busy--;
    queue.shift()?.();
  };
  return () =>
    new Promise<void>((resolve) => {
      const start = (): void => {
        busy++;
        setTimeout(() => {
          release();
          resolve();
        }, serviceMs);
      };
      if (busy < slots) start();
      else queue.push(start);
    });
}

/** Blocks the thread for `ms` milliseconds (deliberately: a system that hogs the event loop). */
export function blockFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* spin */
  }
}

/** Awaits a promise expected to reject and returns its error (fails if it resolves or rejects with a non-Error). */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error('expected a rejection, but the promise resolved');
}
