/**
 * Stream: an ordered queue of GPU work on one device (a non-blocking CUDA stream). Copies and, later, engine
 * runs are enqueued on a stream; `synchronize()` resolves once everything enqueued so far has finished,
 * without blocking the event loop.
 */
import type { NativeCudaStream } from '../binding.js';
import { InferrtError } from '../errors.js';
import { describeValue } from '../tensor.js';
import { NativeHandle } from './native-handle.js';
import { checkDevice } from './binding.js';
import { Event } from './event.js';

/** A CUDA stream. Dispose it (or use `using`) when done; work already enqueued still finishes. */
export class Stream extends NativeHandle<NativeCudaStream> {
  /** The CUDA device ordinal the stream runs on. */
  readonly device: number;

  /**
   * A new stream on `device` (default 0). CUDA_ERROR where the addon has no CUDA part or no GPU is visible;
   * INVALID_ARGUMENT for a device that is not a visible ordinal.
   */
  constructor(device = 0) {
    const checked = checkDevice(device, 'Stream');
    super(new checked.binding.CudaStream(checked.device), 'Stream');
    this.device = checked.device;
  }

  /** Same as `new Stream(device)`. */
  static create(device = 0): Stream {
    return new Stream(device);
  }

  /**
   * Resolves once all work enqueued on the stream so far has finished. The JS thread keeps running meanwhile
   * (the GPU signals completion through a host callback; nothing polls). Rejects with DisposedError after dispose.
   */
  synchronize(): Promise<void> {
    try {
      return this.native('synchronize').synchronize();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Makes work enqueued on this stream from now on wait until `event` (as last recorded, on any device) has
   * completed. Returns at once.
   */
  waitEvent(event: Event): void {
    const native = this.native('waitEvent');
    if (!(event instanceof Event)) {
      throw new InferrtError('INVALID_ARGUMENT', `waitEvent: event must be an Event, got ${describeValue(event)}`);
    }
    native.waitEvent(event.native('waitEvent'));
  }

}

/** @internal A `stream` argument, checked: INVALID_ARGUMENT if not a Stream. */
export function checkStream(stream: unknown, what: string): Stream {
  if (!(stream instanceof Stream)) {
    throw new InferrtError('INVALID_ARGUMENT', `${what}: stream must be a Stream, got ${describeValue(stream)}`);
  }
  return stream;
}
