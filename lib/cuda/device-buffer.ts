/**
 * DeviceBuffer: memory on a GPU, filled and read back by asynchronous copies on a {@link Stream}. Each copy
 * returns a Promise that resolves once the GPU has finished it; the event loop keeps running meanwhile.
 */
import type { NativeDeviceBuffer, NativeHostBuffer } from '../binding.js';
import { checkOptions } from '../config.js';
import { InferrtError } from '../errors.js';
import { describeValue } from '../tensor.js';
import { checkCount, checkDevice } from './binding.js';
import { NativeHandle } from './native-handle.js';
import { HostBuffer } from './host-buffer.js';
import { checkStream, type Stream } from './stream.js';

/** Options of {@link DeviceBuffer.alloc}. Unknown keys are rejected. */
export interface DeviceBufferOptions {
  /** The CUDA device ordinal to allocate on. Default `0`. */
  device?: number;
}

/** Host memory a copy reads from or writes to: any typed array or DataView, or a pinned {@link HostBuffer}. */
export type HostMemory = ArrayBufferView | HostBuffer;

/**
 * Device memory. `dispose()` releases it (or use `using`); copies still in flight keep it until they finish, so
 * disposing never pulls memory from under the GPU.
 */
export class DeviceBuffer extends NativeHandle<NativeDeviceBuffer> {
  /** Size in bytes. */
  readonly byteLength: number;
  /** The CUDA device ordinal the memory is on. */
  readonly device: number;

  private constructor(native: NativeDeviceBuffer, byteLength: number, device: number) {
    super(native, 'DeviceBuffer');
    this.byteLength = byteLength;
    this.device = device;
  }

  /**
   * Allocates `bytes` of device memory (contents undefined). INVALID_ARGUMENT for a bad size or device;
   * CUDA_ERROR where the addon has no CUDA part or no GPU is visible; OUT_OF_MEMORY naming the size and device
   * when the GPU cannot hold it.
   */
  static alloc(bytes: number, options: DeviceBufferOptions = {}): DeviceBuffer {
    const what = 'DeviceBuffer.alloc';
    const size = checkCount(bytes, `${what}: bytes`);
    checkOptions(options, ['device'], what);
    const { binding, device } = checkDevice(options.device ?? 0, what);
    return new DeviceBuffer(new binding.DeviceBuffer(size, device), size, device);
  }

  /**
   * Copies all of `source` into this buffer at byte `offset` (default 0), in order with the other work on
   * `stream`, which must be on this buffer's device. A typed array is copied into pinned staging memory before
   * this returns, so it may be reused at once; a HostBuffer is read by the GPU directly, so leave it alone until
   * the Promise resolves. Rejects with INVALID_ARGUMENT when the bytes do not fit, DisposedError after dispose.
   */
  upload(source: HostMemory, stream: Stream, offset = 0): Promise<void> {
    try {
      const { native, host, stream: s, at } = this.prepare('upload', 'source', source, stream, offset);
      return native.upload(host, s, at);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Fills all of `destination` from this buffer at byte `offset` (default 0), in order with the other work on
   * `stream`, which must be on this buffer's device, and resolves to `destination` once its bytes are there.
   * Leave `destination` alone until then. Rejects with INVALID_ARGUMENT when the bytes do not fit, DisposedError
   * after dispose.
   */
  download<T extends HostMemory>(destination: T, stream: Stream, offset = 0): Promise<T> {
    try {
      const { native, host, stream: s, at } = this.prepare('download', 'destination', destination, stream, offset);
      return native.download(host, s, at).then(() => destination);
    } catch (e) {
      return Promise.reject(e);
    }
  }


  /** Checks a copy's arguments and returns their native forms. */
  private prepare(what: string, role: string, memory: unknown, stream: unknown, offset: unknown) {
    const native = this.native(what);
    let host: ArrayBufferView | NativeHostBuffer;
    let bytes: number;
    if (memory instanceof HostBuffer) {
      host = memory.native(what);
      bytes = memory.byteLength;
    } else if (ArrayBuffer.isView(memory)) {
      host = memory;
      bytes = memory.byteLength;
    } else {
      throw new InferrtError('INVALID_ARGUMENT', `${what}: ${role} must be a typed array, DataView or HostBuffer, got ${describeValue(memory)}`);
    }
    const s = checkStream(stream, what);
    const at = checkCount(offset, `${what}: offset`);
    if (at + bytes > this.byteLength) {
      throw new InferrtError('INVALID_ARGUMENT', `${what}: ${bytes} bytes at offset ${at} do not fit in the DeviceBuffer of ${this.byteLength} bytes`);
    }
    if (s.device !== this.device) {
      throw new InferrtError('INVALID_ARGUMENT', `${what}: the stream is on device ${s.device} but the DeviceBuffer on device ${this.device}`);
    }
    return { native, host, stream: s.native(what), at };
  }
}
