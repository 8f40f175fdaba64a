/**
 * The CUDA backend's activation-arena planner (native/runtime/arena_planner): pure bookkeeping, so it is checked
 * here on the CPU. Buffers alive at the same time must never share bytes; buffers whose lifetimes do not overlap
 * should, so the arena stays close to the peak of live bytes.
 */
import { describe, expect, it } from 'vitest';
import { addon } from '../../lib/binding.js';

interface Request {
  bytes: number;
  first: number;
  last: number;
}

const ALIGN = 256;
const aligned = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/** Fails naming the first pair of buffers that are alive together and overlap in the arena. */
function checkNoConflicts(requests: Request[], offsets: number[], total: number): void {
  for (let i = 0; i < requests.length; i++) {
    const a = requests[i]!;
    expect(offsets[i]! % ALIGN, `offset of ${i}`).toBe(0);
    if (a.bytes > 0) expect(offsets[i]! + aligned(a.bytes), `buffer ${i} ends inside the arena`).toBeLessThanOrEqual(total);
    for (let j = i + 1; j < requests.length; j++) {
      const b = requests[j]!;
      if (a.bytes === 0 || b.bytes === 0 || a.last < b.first || b.last < a.first) continue;
      const disjoint = offsets[i]! + aligned(a.bytes) <= offsets[j]! || offsets[j]! + aligned(b.bytes) <= offsets[i]!;
      expect(disjoint, `buffers ${i} and ${j} are alive together and overlap`).toBe(true);
    }
  }
}

/** The most bytes alive at any one step: no plan can be smaller. */
function peakLive(requests: Request[]): number {
  const steps = Math.max(...requests.map((r) => r.last)) + 1;
  let peak = 0;
  for (let s = 0; s < steps; s++) peak = Math.max(peak, requests.filter((r) => r.first <= s && s <= r.last).reduce((t, r) => t + aligned(r.bytes), 0));
  return peak;
}

describe('arena planner', () => {
  it('reuses the bytes of a chain of layers: two buffers suffice for any length', () => {
    // x0 -> x1 -> ... -> x9: x_i is written at step i and read at step i+1.
    const requests = Array.from({ length: 10 }, (_, i) => ({ bytes: 1000, first: i, last: i + 1 }));
    const { offsets, totalBytes } = addon.planArena(requests);
    checkNoConflicts(requests, offsets, totalBytes);
    expect(totalBytes).toBe(2 * aligned(1000));
  });

  it('keeps buffers that are alive together apart, and aligns every offset to 256 bytes', () => {
    const requests = [
      { bytes: 100, first: 0, last: 5 },
      { bytes: 300, first: 1, last: 2 },
      { bytes: 700, first: 2, last: 4 },
      { bytes: 1, first: 3, last: 3 },
      { bytes: 0, first: 0, last: 9 },
    ];
    const { offsets, totalBytes } = addon.planArena(requests);
    checkNoConflicts(requests, offsets, totalBytes);
    expect(totalBytes).toBeGreaterThanOrEqual(peakLive(requests));
  });

  it('stays within a small factor of the peak of live bytes on random lifetimes', () => {
    let seed = 7;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let trial = 0; trial < 20; trial++) {
      const requests = Array.from({ length: 60 }, () => {
        const first = Math.floor(next() * 40);
        return { bytes: 1 + Math.floor(next() * 1e6), first, last: first + Math.floor(next() * 6) };
      });
      const { offsets, totalBytes } = addon.planArena(requests);
      checkNoConflicts(requests, offsets, totalBytes);
      const peak = peakLive(requests);
      expect(totalBytes).toBeGreaterThanOrEqual(peak);
      expect(totalBytes, `trial ${trial}`).toBeLessThanOrEqual(2 * peak);
      expect(totalBytes).toBeLessThan(requests.reduce((t, r) => t + aligned(r.bytes), 0));
    }
  });
});
