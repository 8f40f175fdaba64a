/**
 * What this build of inferrt can do: its version, the backends usable now, and the IR layer kinds.
 */
import { addon, type NativeCudaDevice } from './binding.js';

/** An execution backend. 'cpu' is the exact fp32 reference; 'cuda' runs on an NVIDIA GPU. */
export type Backend = 'cpu' | 'cuda';

/**
 * Backends usable now: always `'cpu'`; `'cuda'` too when the addon was built with CUDA and a GPU is visible.
 * (An addon built without the CUDA toolkit says so here by listing only `'cpu'`; see {@link cudaCompiled}.)
 */
export function backends(): Backend[] {
  return addon.backends() as Backend[];
}

/** Whether the CUDA backend was compiled into the addon (whether or not a GPU is visible now). */
export function cudaCompiled(): boolean {
  return addon.cudaCompiled();
}

/**
 * @internal Why the CUDA backend cannot be used here, as a clause for messages ('' when it can): this build has
 * no CUDA support, or no GPU is visible.
 */
export function cudaUnavailableReason(): string {
  if (!cudaCompiled()) {
    return 'this build of the addon has no CUDA support (the CUDA toolkit with cuBLASLt was not found when it was built; reinstall on a machine with the toolkit)';
  }
  if (cudaDevices().length === 0) {
    return 'the addon has CUDA support but no CUDA device is visible (check the driver and CUDA_VISIBLE_DEVICES)';
  }
  return '';
}

/** A visible NVIDIA GPU: its name, SM architecture ('sm_90'), memory in bytes and multiprocessor count. */
export type CudaDevice = Readonly<NativeCudaDevice>;

/** The GPUs the CUDA backend can use now; empty when it was not compiled in or no GPU is visible. */
export function cudaDevices(): CudaDevice[] {
  return addon.cudaDevices();
}

/** The library version (it is also recorded in every plan). */
export function version(): string {
  return addon.version();
}

/** The IR layer kinds (native/ir/LAYERS.md), e.g. 'MatMul', 'Softmax', 'Plugin'. */
export function layerKinds(): string[] {
  return addon.layerKinds();
}

/** Whether `backend` implements layers of `kind`. */
export function backendSupports(backend: Backend, kind: string): boolean {
  return addon.backendSupports(backend, kind);
}
