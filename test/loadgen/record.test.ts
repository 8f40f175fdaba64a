import { describe, expect, it } from 'vitest';
import {
  LOADGEN_SCHEMA_VERSION,
  formatReport,
  runOffline,
  runServer,
  toRecord,
  type RunSummary,
} from '../../lib/loadgen/index.js';

type Kind = 'number' | 'string' | 'boolean' | 'null' | 'array' | 'object';
type Shape = { [key: string]: Kind | Kind[] | Shape };

const LATENCY: Shape = {
  count: 'number',
  minMs: 'number',
  meanMs: 'number',
  p50Ms: 'number',
  p90Ms: 'number',
  p95Ms: 'number',
  p99Ms: 'number',
  maxMs: 'number',
};

/** The required keys of a schema-1 record and their JSON types. */
const RECORD: Shape = {
  schemaVersion: 'number',
  tool: 'string',
  scenario: 'string',
  valid: 'boolean',
  invalidReasons: 'array',
  result: { name: 'string', value: 'number', unit: 'string' },
  startedAt: 'string',
  durationMs: 'number',
  queries: { issued: 'number', completed: 'number', failed: 'number', outstanding: 'number' },
  samples: { issued: 'number', completed: 'number' },
  samplesPerSecond: 'number',
  queriesPerSecond: 'number',
  latencyMs: LATENCY,
  generator: { issueDurationMs: 'number', issueRateQps: 'number', latenessMs: ['null', 'object'] },
  server: ['null', 'object'],
  firstError: ['null', 'string'],
  aborted: 'boolean',
  settings: {
    minDurationMs: 'number',
    minQueryCount: 'number',
    maxQueryCount: ['number', 'null'],
    maxDurationMs: ['number', 'null'],
    seed: 'number',
    sampleOrder: 'string',
    librarySize: 'number',
    samplesPerQuery: 'number',
    scenario: 'object',
  },
};

const SERVER: Shape = {
  targetQps: 'number',
  scheduledQps: 'number',
  achievedQps: 'number',
  qpsShortfall: 'number',
  latencyBoundMs: 'number',
  latencyPercentile: 'number',
  latencyAtPercentileMs: 'number',
  overBoundCount: 'number',
  stoppedEarly: 'boolean',
};

function kindOf(v: unknown): Kind {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v as Kind;
}

/** Every mismatch between `value` and `shape`, as "path: expected, got". */
function check(value: unknown, shape: Shape, path = ''): string[] {
  const errors: string[] = [];
  const obj = value as Record<string, unknown>;
  for (const [key, want] of Object.entries(shape)) {
    const p = `${path}${key}`;
    const got = kindOf(obj[key]);
    if (!(key in obj)) errors.push(`${p}: missing`);
    else if (typeof want === 'string' || Array.isArray(want)) {
      const kinds = typeof want === 'string' ? [want] : want;
      if (!kinds.includes(got)) errors.push(`${p}: expected ${kinds.join('|')}, got ${got}`);
    } else if (got !== 'object') errors.push(`${p}: expected object, got ${got}`);
    else errors.push(...check(obj[key], want, `${p}.`));
  }
  return errors;
}

async function shortServer(): Promise<RunSummary> {
  return runServer({
    issue: async () => {},
    samples: [1, 2],
    minDurationMs: 50,
    minQueryCount: 5,
    server: { targetQps: 200, latencyBoundMs: 20 },
  });
}

describe('JSON record', () => {
  it('has every required key with its type (Server)', async () => {
    const record = toRecord(await shortServer());
    expect(record.schemaVersion).toBe(LOADGEN_SCHEMA_VERSION);
    expect(LOADGEN_SCHEMA_VERSION).toBe(1);
    expect(record.tool).toBe('inferrt/loadgen');
    expect(check(record, RECORD)).toEqual([]);
    expect(check(record.server, SERVER)).toEqual([]);
    expect(check(record.generator.latenessMs, LATENCY)).toEqual([]);
    expect(record.settings.scenario).toMatchObject({ targetQps: 200, latencyBoundMs: 20, maxOutstanding: null });
    expect(new Date(record.startedAt).toISOString()).toBe(record.startedAt);
  });

  it('survives JSON round trips unchanged (no NaN, Infinity or undefined)', async () => {
    for (const summary of [
      await shortServer(),
      await runOffline({ issue: async () => {}, samples: [1], minDurationMs: 0, maxQueryCount: 1, offline: { sampleCount: 3 } }),
    ]) {
      const record = toRecord(summary);
      expect(JSON.parse(JSON.stringify(record))).toEqual(record);
      expect(check(record, RECORD)).toEqual([]);
    }
  });

  it('an Offline record has null server and lateness', async () => {
    const record = toRecord(await runOffline({ issue: async () => {}, samples: [1], minDurationMs: 0, offline: { sampleCount: 4 } }));
    expect(record.server).toBeNull();
    expect(record.generator.latenessMs).toBeNull();
    expect(record.settings.maxQueryCount).toBeNull();
  });
});

describe('formatReport', () => {
  it('leads with the result and the verdict, and lists the reasons', async () => {
    const summary = await runServer({
      issue: () => new Promise((r) => setTimeout(r, 5)),
      samples: [1],
      minDurationMs: 30,
      minQueryCount: 3,
      server: { targetQps: 300, latencyBoundMs: 0.5 },
    });
    const text = formatReport(summary);
    const lines = text.split('\n');
    expect(lines[1]).toBe('inferrt loadgen summary: Server');
    expect(lines[3]).toMatch(/^Scheduled queries per second +: [\d.]+$/);
    expect(lines[4]).toMatch(/^Result is +: INVALID$/);
    expect(lines[5]).toMatch(/^ {2}\* p99 latency [\d.]+ ms is over server\.latencyBoundMs 0\.5 ms/);
    expect(text).toMatch(/Generator issue lateness \(ms, nearest-rank percentiles over \d+\):/);
    expect(text).toMatch(/targetQps +: 300\n/);
    expect(text.endsWith('\n')).toBe(true);
  });
});
