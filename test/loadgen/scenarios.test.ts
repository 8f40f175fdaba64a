import { describe, expect, it } from 'vitest';
import {
  formatProgress,
  runMultiStream,
  runOffline,
  runScenario,
  runServer,
  runSingleStream,
  type Progress,
  type QueryInfo,
} from '../../lib/loadgen/index.js';
import { blockFor, capacitySut, fixedDelaySut, rejection } from './fakes.js';

const samples = ['a', 'b', 'c', 'd'];

describe('SingleStream', () => {
  it('reports p90 ≈ the SUT delay and runs until both minimums are met', async () => {
    const s = await runSingleStream({ issue: fixedDelaySut(10), samples, minDurationMs: 250, minQueryCount: 10 });
    expect(s.valid).toBe(true);
    expect(s.invalidReasons).toEqual([]);
    expect(s.result.name).toBe('p90LatencyMs');
    expect(s.result.value).toBe(s.latencyMs.p90Ms);
    expect(s.latencyMs.minMs).toBeGreaterThanOrEqual(9); // timers may fire a hair early, never 1 ms early
    expect(s.latencyMs.p90Ms).toBeGreaterThanOrEqual(9.5);
    expect(s.latencyMs.p90Ms).toBeLessThan(30);
    expect(s.durationMs).toBeGreaterThanOrEqual(250);
    expect(s.queries.completed).toBeGreaterThanOrEqual(10);
    expect(s.queries.issued).toBe(s.queries.completed); // one at a time
    expect(s.samples.completed).toBe(s.queries.completed);
    expect(s.queriesPerSecond).toBeCloseTo(1000 / s.latencyMs.meanMs, -1);
  });

  it('never has two queries in flight, and passes each query its samples and indices', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const seen: QueryInfo[] = [];
    const s = await runSingleStream({
      issue: async (batch, query) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        expect(batch).toEqual(query.indices.map((i) => samples[i]));
        seen.push(query);
        await new Promise((r) => setTimeout(r, 1));
        inFlight--;
      },
      samples,
      sampleOrder: 'sequential',
      minDurationMs: 0,
      minQueryCount: 6,
    });
    expect(maxInFlight).toBe(1);
    expect(s.queries.completed).toBe(6);
    expect(seen.map((q) => q.id)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(seen.map((q) => q.indices[0])).toEqual([0, 1, 2, 3, 0, 1]);
  });

  it('draws the same random samples for the same seed', async () => {
    const draw = async (seed: number): Promise<number[]> => {
      const got: number[] = [];
      await runSingleStream({
        issue: async (_s, q) => void got.push(q.indices[0] as number),
        samples: { count: 1000, get: (i) => i },
        seed,
        minDurationMs: 0,
        minQueryCount: 20,
      });
      return got;
    };
    const a = await draw(1);
    expect(await draw(1)).toEqual(a);
    expect(await draw(2)).not.toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(15);
  });

  it('survives a synchronous SUT without growing the stack or starving timers', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const s = await runSingleStream({ issue: () => 0 as never, samples, minDurationMs: 100, minQueryCount: 1 });
    clearInterval(timer);
    expect(s.valid).toBe(true);
    expect(s.queries.completed).toBeGreaterThan(1000);
    expect(ticks).toBeGreaterThan(3); // the loop yielded while it ran
  });
});

describe('MultiStream', () => {
  it('issues fixed groups of samples per query and reports p99', async () => {
    const sizes = new Set<number>();
    const s = await runMultiStream({
      issue: async (batch) => {
        sizes.add(batch.length);
        await new Promise((r) => setTimeout(r, 3));
      },
      samples,
      minDurationMs: 100,
      minQueryCount: 8,
      multiStream: { samplesPerQuery: 4 },
    });
    expect([...sizes]).toEqual([4]);
    expect(s.valid).toBe(true);
    expect(s.result).toEqual({ name: 'p99LatencyMs', value: s.latencyMs.p99Ms, unit: 'ms' });
    expect(s.samples.completed).toBe(4 * s.queries.completed);
    expect(s.latencyMs.p50Ms).toBeGreaterThanOrEqual(2.5);
    expect(s.settings.samplesPerQuery).toBe(4);
  });

  it('defaults to 8 samples per query', async () => {
    const s = await runMultiStream({ issue: async () => {}, samples, minDurationMs: 0, minQueryCount: 3 });
    expect(s.samples.completed).toBe(24);
  });
});

describe('Offline', () => {
  it('issues every sample in one query by default, sized from expectedQps', async () => {
    const sizes: number[] = [];
    const s = await runOffline({
      issue: async (batch) => void sizes.push(batch.length),
      samples,
      minDurationMs: 100,
      offline: { expectedQps: 500 },
    });
    expect(sizes).toEqual([55]); // ceil(500 × 0.1 s × 1.1)
    expect(s.settings.scenario).toEqual({ expectedQps: 500, sampleCount: 55, samplesPerQuery: 55 });
    // A no-op system finishes long before 100 ms: INVALID, with a hint.
    expect(s.valid).toBe(false);
    expect(s.invalidReasons[0]).toMatch(/^duration not reached: ran [\d.]+ ms, minDurationMs is 100; raise offline\.expectedQps/);
  });

  it('measures throughput ≈ the capacity bound of the system', async () => {
    // 4 slots × 10 ms per sample → at most 400 samples/s; 100 samples take ≥ 250 ms.
    const s = await runOffline({
      issue: capacitySut(4, 10),
      samples,
      minDurationMs: 200,
      offline: { sampleCount: 100, samplesPerQuery: 1 },
    });
    expect(s.queries.issued).toBe(100);
    expect(s.queries.completed).toBe(100);
    expect(s.valid).toBe(true);
    expect(s.result.name).toBe('samplesPerSecond');
    expect(s.samplesPerSecond).toBeGreaterThan(400 * 0.6);
    expect(s.samplesPerSecond).toBeLessThan(400 * 1.1);
  });

  it('splits samples into queries with a remainder', async () => {
    const sizes: number[] = [];
    await runOffline({
      issue: async (batch) => void sizes.push(batch.length),
      samples,
      minDurationMs: 0,
      offline: { sampleCount: 10, samplesPerQuery: 4 },
    });
    expect(sizes).toEqual([4, 4, 2]);
  });
});

describe('Server', () => {
  it('keeps up with a fast system: VALID, scheduled ≈ target, latency from the schedule', async () => {
    const s = await runServer({
      issue: fixedDelaySut(2),
      samples,
      minDurationMs: 300,
      minQueryCount: 50,
      server: { targetQps: 500, latencyBoundMs: 40 },
    });
    expect(s.valid).toBe(true);
    expect(s.server).not.toBeNull();
    const server = s.server!;
    expect(server.scheduledQps).toBeGreaterThan(500 * 0.75);
    expect(server.scheduledQps).toBeLessThan(500 * 1.25);
    expect(server.qpsShortfall).toBeLessThan(0.1);
    expect(s.result).toEqual({ name: 'scheduledQps', value: server.scheduledQps, unit: 'queries/s' });
    expect(s.latencyMs.p50Ms).toBeGreaterThanOrEqual(1.5);
    expect(s.generator.latenessMs).not.toBeNull();
    expect(s.generator.latenessMs!.count).toBe(s.queries.issued);
    expect(s.durationMs).toBeGreaterThanOrEqual(300);
  });

  it('issues every arrival that is due when a timer fires (rates above the timer rate)', async () => {
    const s = await runServer({
      issue: async () => {},
      samples,
      minDurationMs: 200,
      minQueryCount: 1,
      server: { targetQps: 20_000, latencyBoundMs: 50 },
    });
    // ~4000 arrivals in 200 ms: far more than one per 1 ms timer tick.
    expect(s.queries.issued).toBeGreaterThan(3000);
    expect(s.server!.scheduledQps).toBeGreaterThan(18_000);
    expect(s.server!.scheduledQps).toBeLessThan(22_000);
  });

  it('charges the generator\'s lateness to latency (measured from the scheduled arrival)', async () => {
    // A system that blocks the thread 4 ms per query, at 400 QPS, makes later queries issue late.
    const s = await runServer({
      issue: async () => blockFor(4),
      samples,
      minDurationMs: 150,
      minQueryCount: 10,
      server: { targetQps: 400, latencyBoundMs: 1000 },
    });
    const late = s.generator.latenessMs!;
    expect(late.maxMs).toBeGreaterThan(2);
    // latency = lateness + (completion − issue) ≥ lateness + 4 ms, query by query, hence on average.
    expect(s.latencyMs.meanMs).toBeGreaterThanOrEqual(late.meanMs + 3.9);
  });

  it('does not block the event loop, even far behind schedule', async () => {
    let last = performance.now();
    let maxGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 1);
    const s = await runServer({
      issue: async () => {},
      samples,
      minDurationMs: 150,
      maxDurationMs: 150,
      minQueryCount: 1,
      server: { targetQps: 5_000_000, latencyBoundMs: 10 },
    });
    clearInterval(timer);
    expect(s.queries.issued).toBeGreaterThan(10_000);
    expect(maxGap).toBeLessThan(100);
  });
});

describe('runs in general', () => {
  it('runScenario dispatches on the scenario tag', async () => {
    const s = await runScenario({ scenario: 'MultiStream', issue: async () => {}, samples, minDurationMs: 0, minQueryCount: 2 });
    expect(s.scenario).toBe('MultiStream');
  });

  it('reports progress while running and once at the end', async () => {
    const reports: Progress[] = [];
    await runSingleStream({
      issue: fixedDelaySut(2),
      samples,
      minDurationMs: 120,
      minQueryCount: 1,
      progressIntervalMs: 20,
      onProgress: (p) => void reports.push(p),
    });
    expect(reports.length).toBeGreaterThanOrEqual(3);
    const last = reports[reports.length - 1]!;
    expect(reports.slice(0, -1).every((p) => !p.done)).toBe(true);
    expect(last).toMatchObject({ scenario: 'SingleStream', done: true, outstanding: 0, failed: 0 });
    expect(last.completed).toBe(last.issued);
    expect(last.elapsedMs).toBeGreaterThanOrEqual(120);
    expect(formatProgress(last)).toMatch(/^SingleStream \d+\.\d s {2}issued \d+ {2}completed \d+ {2}outstanding 0 {2}done$/);
  });

  it('rejects with the error a throwing onProgress raised', async () => {
    const e = await rejection(
      runServer({
        issue: async () => {},
        samples,
        minDurationMs: 5000,
        progressIntervalMs: 10,
        onProgress: () => {
          throw new Error('display broke');
        },
        server: { targetQps: 100, latencyBoundMs: 10 },
      }),
    );
    expect(e.message).toBe('display broke');
  });

  it('counts failed queries and marks the run INVALID with the first error', async () => {
    let n = 0;
    const s = await runSingleStream({
      issue: async () => {
        if (n++ % 3 === 0) throw new Error(`boom ${n}`);
      },
      samples,
      minDurationMs: 0,
      minQueryCount: 9,
    });
    expect(s.queries).toEqual({ issued: 9, completed: 6, failed: 3, outstanding: 0 });
    expect(s.firstError).toBe('boom 1');
    expect(s.invalidReasons).toContain('3 queries failed (first error: boom 1)');
    expect(s.invalidReasons).toContain('too few queries: 6 completed, minQueryCount is 9');
  });

  it('stops at once on abort and reports what was measured', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 60);
    const started = performance.now();
    const s = await runServer({
      issue: fixedDelaySut(500),
      samples,
      minDurationMs: 10_000,
      signal: controller.signal,
      server: { targetQps: 200, latencyBoundMs: 1000 },
    });
    expect(performance.now() - started).toBeLessThan(400);
    expect(s.aborted).toBe(true);
    expect(s.valid).toBe(false);
    expect(s.invalidReasons[0]).toBe('run was aborted');
    expect(s.queries.outstanding).toBeGreaterThan(0);
    expect(s.invalidReasons).toContain(`${s.queries.outstanding} queries still outstanding at the end of the run`);
  });
});
