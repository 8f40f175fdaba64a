/**
 * The lifetime every CUDA object shares: it owns one native handle, `dispose()` releases it once, and any use
 * afterwards throws DisposedError naming the class and the call.
 * @internal
 */
import { DisposedError } from '../errors.js';

export abstract class NativeHandle<N extends { dispose(): void }> implements Disposable {
  #native: N | null;
  readonly #kind: string;

  protected constructor(native: N, kind: string) {
    this.#native = native;
    this.#kind = kind;
  }

  /** Whether `dispose()` has been called. */
  get disposed(): boolean {
    return this.#native === null;
  }

  /** Releases the native object (see each class for what happens to work in flight). Safe to call twice. */
  dispose(): void {
    const native = this.#native;
    this.#native = null;
    native?.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal The live native object; DisposedError naming `what` after dispose. */
  native(what: string): N {
    if (!this.#native) throw new DisposedError(`${this.#kind} (${what})`);
    return this.#native;
  }
}
