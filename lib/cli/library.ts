/**
 * Loads the inferrt library (and with it the native addon) on first use, so that `--help` and usage errors work
 * even where the addon is missing or broken — and so that a missing addon is one clear line, not a stack trace.
 */
import { InferrtError } from '../errors.js';
import { oneLine } from './format.js';

/** The public API, as `import('inferrt')` gives it. */
export type Library = typeof import('../index.js');

let loaded: Promise<Library> | undefined;

/** The library; INTERNAL error saying how to build the addon when it cannot be loaded. */
export function loadLibrary(): Promise<Library> {
  loaded ??= import('../index.js').catch((e: unknown) => {
    loaded = undefined;
    if (e instanceof InferrtError) throw e;
    // Node's require errors append the require stack; the first part says what is wrong.
    const message = oneLine((e instanceof Error ? e.message : String(e)).split('\nRequire stack:')[0]!);
    throw new InferrtError('INTERNAL', /native addon/.test(message) ? message : `could not load the native addon: ${message}`);
  });
  return loaded;
}
