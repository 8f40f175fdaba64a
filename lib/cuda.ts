/**
 * The CUDA runtime from TypeScript: {@link Stream}s of GPU work, {@link Event}s to order and time it,
 * {@link DeviceBuffer}s on the GPU and pinned {@link HostBuffer}s, with asynchronous copies between them whose
 * Promises resolve when the GPU is done (the event loop never blocks). Where the addon has no CUDA part or no
 * GPU is visible, creating any of these throws InferrtError CUDA_ERROR saying which.
 *
 * ```ts
 * import { cuda } from 'inferrt';
 * using stream = new cuda.Stream();
 * using buf = cuda.DeviceBuffer.alloc(data.byteLength);
 * await buf.upload(data, stream);
 * const back = await buf.download(new Float32Array(data.length), stream);
 * ```
 */
import { cudaCompiled, cudaDevices, cudaUnavailableReason } from './backends.js';
import { checkDevice } from './cuda/binding.js';
import { DeviceBuffer } from './cuda/device-buffer.js';
import { Event } from './cuda/event.js';
import { HostBuffer } from './cuda/host-buffer.js';
import { Stream } from './cuda/stream.js';

export { DeviceBuffer, type DeviceBufferOptions, type HostMemory } from './cuda/device-buffer.js';
export { Event } from './cuda/event.js';
export { HostBuffer } from './cuda/host-buffer.js';
export { Stream } from './cuda/stream.js';

/** A device's memory as the driver reports it, in bytes. */
export interface MemoryInfo {
  /** Bytes not allocated by anyone (this process or others). */
  free: number;
  /** The device's total memory. */
  total: number;
}

/** Free and total memory of `device` (default 0), from cudaMemGetInfo. CUDA_ERROR where CUDA is unavailable. */
export function memoryInfo(device = 0): MemoryInfo {
  const checked = checkDevice(device, 'memoryInfo');
  return checked.binding.cudaMemoryInfo(checked.device);
}

/** Whether CUDA can be used here: the addon was built with it and a GPU is visible. */
export function cudaAvailable(): boolean {
  return cudaUnavailableReason() === '';
}

/** Everything CUDA in one place: `cuda.Stream`, `cuda.DeviceBuffer.alloc(...)`, `cuda.devices()`, .... */
export const cuda = Object.freeze({
  /** The visible GPUs (same as the top-level `cudaDevices()`). */
  devices: cudaDevices,
  /** Whether CUDA was compiled into the addon (same as the top-level `cudaCompiled()`). */
  compiled: cudaCompiled,
  /** Whether CUDA can be used here. */
  available: cudaAvailable,
  memoryInfo,
  Stream,
  Event,
  DeviceBuffer,
  HostBuffer,
});
