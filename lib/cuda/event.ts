/**
 * Event: a marker in a stream's work (a timing-capable CUDA event). Record it on a stream, then make another
 * stream wait for it, await it, or time the work between two events with {@link Event.elapsedMs}.
 */
import type { NativeCudaEvent } from '../binding.js';
import { InferrtError } from '../errors.js';
import { describeValue } from '../tensor.js';
import { NativeHandle } from './native-handle.js';
import { checkDevice, cudaBinding } from './binding.js';
import { checkStream, type Stream } from './stream.js';

/** A CUDA event. Dispose it (or use `using`) when done; a pending `synchronize()` still resolves. */
export class Event extends NativeHandle<NativeCudaEvent> {
  /** The CUDA device ordinal the event belongs to; it can be recorded only on streams of that device. */
  readonly device: number;
  #recorded = false;

  /**
   * A new event on `device` (default 0). CUDA_ERROR where the addon has no CUDA part or no GPU is visible;
   * INVALID_ARGUMENT for a device that is not a visible ordinal.
   */
  constructor(device = 0) {
    const checked = checkDevice(device, 'Event');
    super(new checked.binding.CudaEvent(checked.device), 'Event');
    this.device = checked.device;
  }

  /** Same as `new Event(device)`. */
  static create(device = 0): Event {
    return new Event(device);
  }

  /**
   * Milliseconds of GPU time between two events of one device, both recorded and completed (await
   * `end.synchronize()` first). Resolution is about half a microsecond.
   */
  static elapsedMs(start: Event, end: Event): number {
    const what = 'elapsedMs';
    for (const [name, e] of [['start', start], ['end', end]] as const) {
      if (!(e instanceof Event)) throw new InferrtError('INVALID_ARGUMENT', `${what}: ${name} must be an Event, got ${describeValue(e)}`);
      e.native(what);
      if (!e.#recorded) throw new InferrtError('INVALID_ARGUMENT', `${what}: the ${name} event has not been recorded; call ${name}.record(stream) first`);
    }
    if (start.device !== end.device) {
      throw new InferrtError('INVALID_ARGUMENT', `${what}: the events are on devices ${start.device} and ${end.device}; they must share one`);
    }
    return cudaBinding(what).cudaElapsedMs(start.native(what), end.native(what));
  }

  /** Captures the work enqueued on `stream` so far (which must be on this event's device). Returns at once. */
  record(stream: Stream): void {
    const native = this.native('record');
    checkStream(stream, 'record');
    if (stream.device !== this.device) {
      throw new InferrtError('INVALID_ARGUMENT', `record: the event is on device ${this.device} but the stream on device ${stream.device}`);
    }
    native.record(stream.native('record'));
    this.#recorded = true;
  }

  /** Whether the work captured by the last `record()` has finished (true if never recorded). Does not wait. */
  query(): boolean {
    return this.native('query').done();
  }

  /**
   * Resolves once the work captured by the last `record()` has finished (at once if never recorded), without
   * blocking the event loop or holding up any stream. Rejects with DisposedError after dispose.
   */
  synchronize(): Promise<void> {
    try {
      return this.native('synchronize').synchronize();
    } catch (e) {
      return Promise.reject(e);
    }
  }

}
