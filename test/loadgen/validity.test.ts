import { describe, expect, it } from 'vitest';
import { runServer, runSingleStream } from '../../lib/loadgen/index.js';
import { buildSummary, type RunSettings, type SummaryInput } from '../../lib/loadgen/summary.js';
import type { RunFacts } from '../../lib/loadgen/tracker.js';
import { capacitySut } from './fakes.js';

const samples = [0, 1];

describe('validity rules on real runs', () => {
  it('a system too slow for the target: Server INVALID because it stopped early and p99 is over the bound', async () => {
    // One slot × 20 ms = 50 QPS of capacity against 200 QPS offered.
    const s = await runServer({
      issue: capacitySut(1, 20),
      samples,
      minDurationMs: 400,
      minQueryCount: 20,
      server: { targetQps: 200, latencyBoundMs: 50, maxOutstanding: 8 },
    });
    expect(s.valid).toBe(false);
    expect(s.server!.stoppedEarly).toBe(true);
    const reasons = s.invalidReasons.join('\n');
    expect(reasons).toMatch(
      /too many queries outstanding: 8 in flight when query \d+ was due, server\.maxOutstanding is 8; the run stopped issuing early/,
    );
    expect(reasons).toMatch(/p99 latency [\d.]+ ms is over server\.latencyBoundMs 50 ms \(\d+ of \d+ queries over the bound\)/);
    expect(reasons).toMatch(/too few queries: \d+ completed, minQueryCount is 20/);
    expect(reasons).toMatch(/duration not reached/);
  });

  it('a system that falls behind: achieved QPS below scheduled by more than maxQpsShortfall', async () => {
    const s = await runServer({
      issue: capacitySut(1, 20), // 50 QPS
      samples,
      minDurationMs: 200,
      minQueryCount: 5,
      server: { targetQps: 100, latencyBoundMs: 5000 },
    });
    expect(s.valid).toBe(false);
    expect(s.server!.achievedQps).toBeLessThan(60);
    expect(s.server!.qpsShortfall).toBeGreaterThan(0.3);
    expect(s.invalidReasons).toHaveLength(1);
    expect(s.invalidReasons[0]).toMatch(
      /^achieved [\d.]+ QPS is [\d.]+% below the scheduled [\d.]+ QPS \(server\.maxQpsShortfall is 10%\)$/,
    );
  });

  it('too few queries: INVALID; max limits cut the run short', async () => {
    const s = await runSingleStream({
      issue: async () => {},
      samples,
      minDurationMs: 0,
      minQueryCount: 10,
      maxQueryCount: 4,
    });
    expect(s.queries.completed).toBe(4);
    expect(s.invalidReasons).toEqual(['too few queries: 4 completed, minQueryCount is 10']);
    const t = await runSingleStream({
      issue: async () => {},
      samples,
      minDurationMs: 1000,
      minQueryCount: 1,
      maxDurationMs: 30,
    });
    expect(t.invalidReasons).toHaveLength(1);
    expect(t.invalidReasons[0]).toMatch(/^duration not reached: ran [\d.]+ ms, minDurationMs is 1000$/);
  });

  it('an optional SingleStream bound applies to p90', async () => {
    const s = await runSingleStream({
      issue: () => new Promise((r) => setTimeout(r, 4)),
      samples,
      minDurationMs: 0,
      minQueryCount: 10,
      singleStream: { latencyBoundMs: 1 },
    });
    expect(s.invalidReasons).toHaveLength(1);
    expect(s.invalidReasons[0]).toMatch(/^p90 latency [\d.]+ ms is over singleStream\.latencyBoundMs 1 ms \(10 of 10 queries over the bound\)$/);
  });
});

describe('validity rules on synthetic facts (buildSummary)', () => {
  const settings: RunSettings = {
    minDurationMs: 1000,
    minQueryCount: 10,
    maxQueryCount: null,
    maxDurationMs: null,
    seed: 1,
    sampleOrder: 'random',
    librarySize: 2,
    samplesPerQuery: 1,
    scenario: {},
  };
  const facts = (patch: Partial<RunFacts>): RunFacts => ({
    startedAt: new Date(0),
    durationNs: 2e9,
    issueEndNs: 1.9e9,
    issued: 100,
    completed: 100,
    failed: 0,
    issuedSamples: 100,
    completedSamples: 100,
    latenciesNs: Array.from({ length: 100 }, (_, i) => (i + 1) * 1e6), // 1..100 ms
    latenessNs: null,
    firstError: undefined,
    aborted: false,
    ...patch,
  });
  const server = (patch: Partial<NonNullable<SummaryInput['server']>> = {}): SummaryInput['server'] => ({
    targetQps: 50,
    lastArrivalNs: 2e9, // 100 queries over 2 s: 50 QPS scheduled
    maxQpsShortfall: 0.1,
    maxOutstanding: Infinity,
    stoppedEarly: null,
    ...patch,
  });

  it('a clean run is VALID', () => {
    const s = buildSummary({ scenario: 'SingleStream', facts: facts({}), settings });
    expect(s.valid).toBe(true);
    expect(s.result).toEqual({ name: 'p90LatencyMs', value: 90, unit: 'ms' });
    expect(s.queriesPerSecond).toBe(50);
  });

  it('checks the percentile against the bound with the nearest rank', () => {
    const rule = { path: 'server.latencyBoundMs', boundMs: 99, percentile: 0.99 };
    const ok = buildSummary({ scenario: 'Server', facts: facts({}), settings, latencyRule: rule, server: server() });
    expect(ok.valid).toBe(true); // p99 of 1..100 = 99 ≤ 99
    expect(ok.server).toMatchObject({ scheduledQps: 50, achievedQps: 50, latencyAtPercentileMs: 99, overBoundCount: 1 });
    const over = buildSummary({
      scenario: 'Server',
      facts: facts({}),
      settings,
      latencyRule: { ...rule, boundMs: 98.5 },
      server: server(),
    });
    expect(over.invalidReasons).toEqual(['p99 latency 99 ms is over server.latencyBoundMs 98.5 ms (2 of 100 queries over the bound)']);
  });

  it('flags a QPS shortfall just past the tolerance, not at it', () => {
    const rule = { path: 'server.latencyBoundMs', boundMs: 1000, percentile: 0.99 };
    // Scheduled 100/1.8 s = 55.6 QPS; achieved 100/2 s = 50: shortfall 10%.
    const at = buildSummary({ scenario: 'Server', facts: facts({}), settings, latencyRule: rule, server: server({ lastArrivalNs: 1.8e9 }) });
    expect(at.server!.qpsShortfall).toBeCloseTo(0.1, 10);
    const past = buildSummary({ scenario: 'Server', facts: facts({}), settings, latencyRule: rule, server: server({ lastArrivalNs: 1.7e9 }) });
    expect(past.invalidReasons).toEqual(['achieved 50 QPS is 15% below the scheduled 58.8 QPS (server.maxQpsShortfall is 10%)']);
  });

  it('lists every broken rule, in order', () => {
    const s = buildSummary({
      scenario: 'Offline',
      facts: facts({ aborted: true, durationNs: 5e8, completed: 5, failed: 1, firstError: new Error('x'), latenciesNs: [1e6] }),
      settings,
      durationHint: 'raise offline.expectedQps',
    });
    expect(s.invalidReasons).toEqual([
      'run was aborted',
      '1 query failed (first error: x)',
      '94 queries still outstanding at the end of the run',
      'too few queries: 5 completed, minQueryCount is 10',
      'duration not reached: ran 500 ms, minDurationMs is 1000; raise offline.expectedQps',
    ]);
    expect(s.queries.outstanding).toBe(94);
  });
});
