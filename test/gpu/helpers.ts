/**
 * Shared by the GPU suite's CUDA-vs-CPU tests: why the suite is skipped here, where an engine's layers run
 * (CUDA kernel or CPU fallback), numeric comparison of two backends' outputs, engines built from a network
 * definition, and an event-loop tick counter.
 * Nothing here needs onnxruntime-node (the GPU machine has none).
 */
import { describe, it } from 'vitest';
import {
  Builder, Runtime, cudaCompiled, cudaDevices, halfBitsToFloat, type BuilderConfigOptions, type Engine, type NetworkDefinition,
  type Tensor, type TensorData,
} from '../../lib/index.js';

export const MiB = 2 ** 20;

/** Why the CUDA backend cannot be tested here ('' when it can). */
export const cudaSkipReason = !cudaCompiled()
  ? 'the addon was built without the CUDA backend (no CUDA toolkit with cuBLASLt at build time)'
  : cudaDevices().length === 0
    ? 'no CUDA device is visible'
    : '';

/** Registers a visible skipped test saying why `title` did not run (the verbose reporter prints it). */
export function reportSkipped(title: string, reason: string): void {
  describe(title, () => {
    it.skip(`skipped: ${reason}`, () => {});
  });
}

/** A layer of a CUDA engine that runs on the CPU reference kernel. */
export interface FallbackLayer {
  name: string;
  kind: string;
  reason: string;
}

/** The layers of a CUDA engine that run on the CPU reference kernel (`runsOn` other than 'cuda'), with the reason. */
export function fallbackLayers(engine: Engine): FallbackLayer[] {
  return engine.layers
    .filter((layer) => layer.runsOn !== 'cuda')
    .map((layer) => ({ name: layer.name, kind: layer.kind, reason: layer.fallbackReason ?? `runsOn '${String(layer.runsOn)}', no reason given` }));
}

/**
 * One line grouped by kind: "MatMul ×2 ('fc1', 'fc2': no kernel for int64), Cast ×1 ('c': ...)" or "none"
 * (at most 3 names per kind).
 */
export function describeFallback(layers: readonly FallbackLayer[]): string {
  if (layers.length === 0) return 'none';
  const byKind = new Map<string, FallbackLayer[]>();
  for (const l of layers) byKind.set(l.kind, [...(byKind.get(l.kind) ?? []), l]);
  return [...byKind].map(([kind, list]) => {
    const names = list.slice(0, 3).map((l) => `'${l.name}'`).join(', ') + (list.length > 3 ? ', ...' : '');
    return `${kind} ×${list.length} (${names}: ${[...new Set(list.map((l) => l.reason))].join(' | ')})`;
  }).join(', ');
}

/** Counts, per layer kind, the tests (or models) in which a layer of that kind ran on the CPU fallback. */
export class FallbackTally {
  readonly #tests = new Map<string, Set<string>>();
  readonly #reasons = new Map<string, Set<string>>();

  add(test: string, layers: readonly FallbackLayer[]): void {
    for (const l of layers) {
      if (!this.#tests.has(l.kind)) {
        this.#tests.set(l.kind, new Set());
        this.#reasons.set(l.kind, new Set());
      }
      this.#tests.get(l.kind)!.add(test);
      this.#reasons.get(l.kind)!.add(l.reason);
    }
  }

  /** "Resize in 12 tests, Conv in 3 tests" (most first), or "none". */
  summary(unit = 'tests'): string {
    const rows = [...this.#tests].sort((a, b) => b[1].size - a[1].size || a[0].localeCompare(b[0]));
    return rows.length === 0 ? 'none' : rows.map(([kind, tests]) => `${kind} in ${tests.size} ${unit}`).join(', ');
  }

  /** One line per kind with its distinct fallback reasons (at most `max` each). */
  reasons(max = 3): string[] {
    return [...this.#reasons].sort((a, b) => a[0].localeCompare(b[0])).map(([kind, set]) => {
      const list = [...set];
      const more = list.length > max ? ` (+${list.length - max} more)` : '';
      return `  ${kind}: ${list.slice(0, max).join(' | ')}${more}`;
    });
  }
}

/** Numeric agreement of `actual` with `reference`, scaled by the reference's magnitude. */
export interface Agreement {
  /** ||actual - reference||_2 / ||reference||_2 over the finite elements (0 when both are all zero). */
  relL2: number;
  /** max |actual - reference| over the finite elements. */
  maxAbs: number;
  /** max |reference|. */
  refMax: number;
}

/** Tolerances of {@link checkAgreement}: relL2 <= relL2 and maxAbs <= maxRel * refMax + absFloor. */
export interface Tolerance {
  relL2: number;
  maxRel: number;
  absFloor: number;
}

function floats(t: Tensor): ArrayLike<number> {
  if (t.dtype === 'float16') return Array.from(t.data as Uint16Array, halfBitsToFloat);
  return t.data as Float32Array;
}

/**
 * Null when `actual` agrees with `reference`: same dtype and shape; floats within `tol` (NaN where the reference
 * is NaN, an infinity where it has the same one); other dtypes exactly. Otherwise what differs. `stats` receives the
 * measured agreement of float tensors (for printing).
 */
export function checkAgreement(reference: Tensor, actual: Tensor, tol: Tolerance, stats?: (a: Agreement) => void): string | null {
  if (reference.dtype !== actual.dtype) return `dtype ${actual.dtype}, expected ${reference.dtype}`;
  if (reference.shape.join(',') !== actual.shape.join(',')) return `shape [${actual.shape}], expected [${reference.shape}]`;
  if (reference.dtype !== 'float32' && reference.dtype !== 'float16') {
    const r = reference.data as TensorData;
    const a = actual.data as TensorData;
    for (let i = 0; i < r.length; i++) if (r[i] !== a[i]) return `element ${i}: ${String(a[i])}, expected ${String(r[i])}`;
    return null;
  }
  const r = floats(reference);
  const a = floats(actual);
  let diff2 = 0;
  let ref2 = 0;
  let maxAbs = 0;
  let refMax = 0;
  let worst = -1;
  for (let i = 0; i < r.length; i++) {
    const x = a[i]!;
    const y = r[i]!;
    if (!Number.isFinite(y)) {
      if (Number.isNaN(y) ? !Number.isNaN(x) : x !== y) return `element ${i}: ${x}, expected ${y}`;
      continue;
    }
    if (!Number.isFinite(x)) return `element ${i}: ${x}, expected ${y}`;
    const d = Math.abs(x - y);
    diff2 += d * d;
    ref2 += y * y;
    refMax = Math.max(refMax, Math.abs(y));
    if (d > maxAbs) {
      maxAbs = d;
      worst = i;
    }
  }
  const relL2 = ref2 > 0 ? Math.sqrt(diff2 / ref2) : diff2 > 0 ? Infinity : 0;
  stats?.({ relL2, maxAbs, refMax });
  const maxAllowed = tol.maxRel * refMax + tol.absFloor;
  if (relL2 > tol.relL2) return `relative L2 error ${relL2.toExponential(2)} > ${tol.relL2} (max abs error ${maxAbs.toExponential(2)} at element ${worst})`;
  if (maxAbs > maxAllowed) return `max abs error ${maxAbs.toExponential(2)} at element ${worst} (${a[worst]} vs ${r[worst]}) > ${maxAllowed.toExponential(2)} (${tol.maxRel} * max|ref| ${refMax.toExponential(2)} + ${tol.absFloor})`;
  return null;
}

/** Runs `work` while counting setImmediate ticks (an event loop blocked by the work ticks about once). */
export async function countTicks<T>(work: () => Promise<T>): Promise<{ result: T; ticks: number; elapsedMs: number }> {
  let ticks = 0;
  let running = true;
  const tick = (): void => {
    ticks++;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const start = performance.now();
  try {
    const result = await work();
    return { result, ticks, elapsedMs: performance.now() - start };
  } finally {
    running = false;
  }
}

/** Polls `read` every 10 ms for up to `ms` until `done` holds; returns the last value read. */
export async function pollUntil<T>(read: () => T, done: (v: T) => boolean, ms = 5000): Promise<T> {
  let v = read();
  for (const end = Date.now() + ms; !done(v) && Date.now() < end; v = read()) await new Promise((resolve) => setTimeout(resolve, 10));
  return v;
}

/** The engine of the network `define` builds, on `backend` under `config`. */
export async function loadNetwork(define: (n: NetworkDefinition) => void, backend: 'cpu' | 'cuda', config: BuilderConfigOptions): Promise<Engine> {
  const builder = new Builder({ backend });
  using network = builder.createNetwork();
  define(network);
  return Runtime.load(await builder.build(network, builder.createConfig(config)));
}
