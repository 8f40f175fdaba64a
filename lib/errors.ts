/**
 * Typed errors. Every failure inferrt reports, native or TypeScript, is an {@link InferrtError} with a
 * stable {@link ErrorCode} and a message naming what is wrong (the node, tensor or option; expected vs actual).
 */

/**
 * Stable error codes; native/ir/error.h mirrors these names. ADDON_NOT_FOUND, OVERLOADED and TIMEOUT are raised
 * only in TypeScript (the addon loader and the dynamic batcher), so the native enum has no entry for them.
 */
export type ErrorCode =
  | 'ADDON_NOT_FOUND'
  | 'INVALID_ARGUMENT'
  | 'INVALID_MODEL'
  | 'UNSUPPORTED_OP'
  | 'SHAPE_MISMATCH'
  | 'DTYPE_MISMATCH'
  | 'BAD_PLAN'
  | 'OUT_OF_MEMORY'
  | 'CUDA_ERROR'
  | 'DISPOSED'
  | 'OVERLOADED'
  | 'TIMEOUT'
  | 'INTERNAL';

/** The error type of every inferrt failure. */
export class InferrtError extends Error {
  /** The stable code; branch on this, not on the message. */
  readonly code: ErrorCode;
  /** Extra structured facts, e.g. the list of unsupported nodes for UNSUPPORTED_OP. */
  readonly details?: unknown;

  constructor(code: ErrorCode | string, message: string, details?: unknown) {
    super(message);
    this.name = 'InferrtError';
    this.code = code as ErrorCode;
    if (details !== undefined) this.details = details;
  }
}

/** Thrown when a disposed object is used. */
export class DisposedError extends InferrtError {
  constructor(what: string) {
    super('DISPOSED', `${what} has been disposed`);
    this.name = 'DisposedError';
  }
}
