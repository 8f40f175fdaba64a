/** Loadgen defects found in review. */
import { describe, expect, it } from 'vitest';
import { runOffline, type Progress } from '../../lib/loadgen/index.js';
import { fixedDelaySut } from './fakes.js';

describe('loadgen hardening', () => {
  it('a progressIntervalMs beyond 2^31 - 1 ms reports only at the end (Node would run the interval every 1 ms)', async () => {
    const reports: Progress[] = [];
    const summary = await runOffline({
      issue: fixedDelaySut(40),
      samples: [1],
      minDurationMs: 0,
      offline: { sampleCount: 1 },
      progressIntervalMs: 2 ** 32,
      onProgress: (p) => reports.push(p),
    });
    expect(summary.queries.completed).toBe(1);
    expect(reports.map((p) => p.done)).toEqual([true]);
  });
});
