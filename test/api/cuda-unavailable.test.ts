/**
 * The CUDA runtime classes where CUDA cannot be used (a CPU-only build of the addon, or no GPU visible): every
 * entry point throws InferrtError CUDA_ERROR saying which, never a TypeError from a missing native member. Bad
 * arguments are INVALID_ARGUMENT everywhere, checked before CUDA is touched. (test/gpu/cuda-runtime.test.ts
 * covers the classes on a GPU.)
 */
import { describe, expect, it } from 'vitest';
import {
  DeviceBuffer, Event, HostBuffer, InferrtError, Runtime, Stream, cuda, cudaAvailable, cudaCompiled, memoryInfo,
} from '../../lib/index.js';
import { rejection, thrown } from '../inferrt-errors.js';
import { buildMlp } from './helpers.js';

const available = cudaAvailable();

describe.skipIf(available)('CUDA runtime without CUDA', () => {
  const why = cudaCompiled() ? 'no CUDA device is visible' : 'no CUDA support';

  it('throws CUDA_ERROR from every constructor and factory, saying why', () => {
    const entries: Array<[string, () => unknown]> = [
      ['Stream', () => new Stream()],
      ['Stream', () => Stream.create(0)],
      ['Stream', () => new cuda.Stream()],
      ['Event', () => new Event()],
      ['Event', () => Event.create()],
      ['DeviceBuffer.alloc', () => DeviceBuffer.alloc(1024)],
      ['DeviceBuffer.alloc', () => DeviceBuffer.alloc(1024, { device: 0 })],
      ['HostBuffer.alloc', () => HostBuffer.alloc(1024)],
      ['memoryInfo', () => memoryInfo()],
      ['memoryInfo', () => cuda.memoryInfo(0)],
    ];
    for (const [what, make] of entries) {
      const e = thrown(make);
      expect(e.code).toBe('CUDA_ERROR');
      expect(e.message).toContain(`${what}: CUDA is not available: `);
      expect(e.message).toContain(why);
    }
  });

  it('says so through cuda.available() and lists no devices', () => {
    expect(cuda.available()).toBe(false);
    expect(cuda.devices()).toEqual([]);
    expect(cuda.compiled()).toBe(cudaCompiled());
  });
});

if (available) {
  describe('CUDA runtime without CUDA', () => {
    it.skip('skipped: CUDA is available here (test/gpu/cuda-runtime.test.ts covers it)', () => {});
  });
}

describe('CUDA runtime argument checks (no GPU needed)', () => {
  it('rejects bad sizes, devices and options with INVALID_ARGUMENT before touching CUDA', () => {
    const cases: Array<[() => unknown, string]> = [
      [() => DeviceBuffer.alloc(-1), 'DeviceBuffer.alloc: bytes must be a non-negative integer, got -1'],
      [() => DeviceBuffer.alloc(1.5), 'DeviceBuffer.alloc: bytes must be a non-negative integer, got 1.5'],
      [() => DeviceBuffer.alloc('16' as unknown as number), "DeviceBuffer.alloc: bytes must be a non-negative integer, got '16'"],
      [() => DeviceBuffer.alloc(2 ** 60), `DeviceBuffer.alloc: bytes must be a non-negative integer, got ${2 ** 60}`],
      [() => DeviceBuffer.alloc(16, { devise: 0 } as never), "DeviceBuffer.alloc: unknown option 'devise' (did you mean 'device'?)"],
      [() => DeviceBuffer.alloc(16, null as never), 'DeviceBuffer.alloc: options must be an object, got null'],
      [() => DeviceBuffer.alloc(16, { device: -1 }), 'DeviceBuffer.alloc: device must be a non-negative integer, got -1'],
      [() => new Stream(0.5), 'Stream: device must be a non-negative integer, got 0.5'],
      [() => new Event('0' as unknown as number), "Event: device must be a non-negative integer, got '0'"],
      [() => HostBuffer.alloc(Number.NaN), 'HostBuffer.alloc: bytes must be a non-negative integer, got NaN'],
      [() => memoryInfo(-2), 'memoryInfo: device must be a non-negative integer, got -2'],
    ];
    for (const [fn, message] of cases) {
      const e = thrown(fn);
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toBe(message);
    }
  });

  it('exposes the same classes as named exports and through the cuda object', () => {
    expect(cuda.Stream).toBe(Stream);
    expect(cuda.Event).toBe(Event);
    expect(cuda.DeviceBuffer).toBe(DeviceBuffer);
    expect(cuda.HostBuffer).toBe(HostBuffer);
    expect(Object.isFrozen(cuda)).toBe(true);
  });
});

describe('CUDA-only context calls on a CPU engine', () => {
  it('reports no device memory, no layer times, and refuses enqueue with a typed error', async () => {
    using e = await Runtime.load(await buildMlp());
    using ctx = e.createContext();
    expect(ctx.deviceMemorySize).toBe(0);
    expect(e.deviceMemorySize).toBe(0);
    expect(e.layers.every((l) => l.runsOn === 'cpu')).toBe(true);
    expect(ctx.layerTimes()).toEqual({ runs: 0, msByKind: {}, msByLayer: {} });
    const notStream = await rejection(ctx.enqueue({} as Stream));
    expect(notStream.code).toBe('INVALID_ARGUMENT');
    expect(notStream.message).toMatch(/enqueue: stream must be a Stream/);
    expect(thrown(() => ctx.setTensorAddress('x', {} as DeviceBuffer)).code).toBe('INVALID_ARGUMENT');
    // Unbinding needs no buffer: a CPU-only build says it has no CUDA backend; a CUDA build accepts it.
    if (!cudaCompiled()) expect(thrown(() => ctx.setTensorAddress('x', null)).code).toBe('CUDA_ERROR');
    expect(thrown(() => e.createContext({ cudaGraphs: 'yes' as unknown as boolean })).code).toBe('INVALID_ARGUMENT');
  });
});
