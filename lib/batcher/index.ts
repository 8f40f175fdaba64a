/**
 * The dynamic batcher: many small requests in, few large batches through the engine, each request's own rows out.
 * @packageDocumentation
 */
export { createBatcher, type Batcher } from './batcher.js';
export type { BatcherInputs } from './layout.js';
export type { SequenceInput } from './packed-request.js';
export { DEFAULT_MAX_DELAY_MS, DEFAULT_MAX_QUEUE, type BatcherOptions } from './options.js';
export type { BatcherStats } from './stats.js';
