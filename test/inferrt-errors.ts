/** Shared by tests: the InferrtError a call throws or a promise rejects with (failing the test if there is none). */
import { expect } from 'vitest';
import { InferrtError } from '../lib/errors.js';
import { Runtime } from '../lib/index.js';

export function thrown(fn: () => unknown): InferrtError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InferrtError);
    return e as InferrtError;
  }
  throw new Error('expected a throw');
}

export async function rejection(p: Promise<unknown>): Promise<InferrtError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(InferrtError);
    return e as InferrtError;
  }
  throw new Error('expected a rejection');
}

/** The message of the BAD_PLAN error that loading `plan` rejects with (failing the test on any other outcome). */
export async function planLoadError(plan: Uint8Array): Promise<string> {
  const e = await rejection(Runtime.load(plan));
  expect(e.code).toBe('BAD_PLAN');
  return e.message;
}
