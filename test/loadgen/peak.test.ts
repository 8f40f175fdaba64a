import { describe, expect, it } from 'vitest';
import { findPeakQps, type PeakTrial } from '../../lib/loadgen/index.js';
import { capacitySut } from './fakes.js';

describe('findPeakQps', () => {
  it('finds roughly the capacity of a system with K slots and a fixed service time', async () => {
    // 4 slots × 5 ms: at most 800 QPS (a little less in practice: timers overshoot).
    const capacity = 800;
    const seen: PeakTrial[] = [];
    const result = await findPeakQps({
      issue: capacitySut(4, 5),
      samples: [0],
      minDurationMs: 250,
      minQueryCount: 50,
      server: { latencyBoundMs: 40, maxOutstanding: 40 },
      peak: { startQps: 150, maxTrials: 7, tolerance: 0.1 },
      onTrial: (t) => void seen.push(t),
    });
    expect(result.trials).toHaveLength(seen.length);
    expect(result.trials.length).toBeLessThanOrEqual(7);
    expect(result.trials.map((t) => t.targetQps).slice(0, 3)).toEqual([150, 300, 600].slice(0, Math.min(3, result.trials.length)));
    expect(result.peakQps).not.toBeNull();
    expect(result.peakQps!).toBeGreaterThan(capacity * 0.4);
    expect(result.peakQps!).toBeLessThanOrEqual(capacity * 1.1);
    expect(result.lowestFailingQps).not.toBeNull();
    expect(result.lowestFailingQps!).toBeGreaterThan(result.peakQps!);
    expect(result.lowestFailingQps!).toBeLessThan(capacity * 2.5);
    expect(result.best?.valid).toBe(true);
    expect(result.best?.server?.targetQps).toBe(result.peakQps);
    // The bracket is consistent: every trial above the peak failed, every trial at or below it passed.
    for (const t of result.trials) expect(t.valid).toBe(t.targetQps <= result.peakQps!);
  });

  it('brackets downward when the first rate already fails, and stops at the trial budget', async () => {
    const result = await findPeakQps({
      issue: capacitySut(1, 10), // 100 QPS
      samples: [0],
      minDurationMs: 100,
      minQueryCount: 5,
      server: { latencyBoundMs: 30, maxOutstanding: 10 },
      peak: { startQps: 1600, maxTrials: 3, growth: 4 },
    });
    expect(result.trials.map((t) => t.targetQps)).toEqual([1600, 400, 100].slice(0, result.trials.length));
    expect(result.trials[0]!.valid).toBe(false);
    expect(result.converged).toBe(false);
    expect(result.trials).toHaveLength(3);
  });
});
