/**
 * @internal The addon's CUDA classes, and the argument checks they all share. Where the addon has no CUDA part,
 * or no GPU is visible, asking for them throws CUDA_ERROR saying which (never a TypeError from a missing
 * member). Pure argument checks come first, so a bad argument reads the same on every machine.
 */
import { addon, type NativeAddon } from '../binding.js';
import { cudaDevices, cudaUnavailableReason } from '../backends.js';
import { formatValue } from '../config.js';
import { InferrtError } from '../errors.js';

/** The CUDA members of the addon, all present. */
export type CudaBinding = Required<
  Pick<NativeAddon, 'CudaStream' | 'CudaEvent' | 'DeviceBuffer' | 'HostBuffer' | 'cudaElapsedMs' | 'cudaMemoryInfo'>
>;

/** The addon's CUDA part; CUDA_ERROR naming `what` and the reason when it cannot be used here. */
export function cudaBinding(what: string): CudaBinding {
  const reason = cudaUnavailableReason();
  const { CudaStream, CudaEvent, DeviceBuffer, HostBuffer, cudaElapsedMs, cudaMemoryInfo } = addon;
  if (reason === '' && CudaStream && CudaEvent && DeviceBuffer && HostBuffer && cudaElapsedMs && cudaMemoryInfo) {
    return { CudaStream, CudaEvent, DeviceBuffer, HostBuffer, cudaElapsedMs, cudaMemoryInfo };
  }
  const why = reason || 'this build of the addon lacks the CUDA runtime classes (rebuild it with `npm run build:native`)';
  throw new InferrtError('CUDA_ERROR', `${what}: CUDA is not available: ${why}`);
}

/** A non-negative safe integer (a byte count, an offset, a device ordinal); INVALID_ARGUMENT naming `what`. */
export function checkCount(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new InferrtError('INVALID_ARGUMENT', `${what} must be a non-negative integer, got ${formatValue(v)}`);
  }
  return v;
}

/** Checks that `device` names a visible GPU (call after cudaBinding); INVALID_ARGUMENT listing those there are. */
export function checkVisibleDevice(device: number, what: string): void {
  const devices = cudaDevices();
  if (device < devices.length) return;
  const list = devices.map((d) => `${d.index} (${d.name})`).join(', ');
  throw new InferrtError('INVALID_ARGUMENT', `${what}: there is no CUDA device ${device}; visible devices: ${list}`);
}

/** A device ordinal argument, checked all the way: INVALID_ARGUMENT or CUDA_ERROR. */
export function checkDevice(device: unknown, what: string): { binding: CudaBinding; device: number } {
  const index = checkCount(device, `${what}: device`);
  const binding = cudaBinding(what);
  checkVisibleDevice(index, what);
  return { binding, device: index };
}
