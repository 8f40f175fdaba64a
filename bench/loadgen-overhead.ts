/**
 * The load generator's own overhead: how many queries per second it can issue to a system that does nothing
 * (`async () => {}`), in the Server scenario at a target far above what it can reach and in Offline. A baseline
 * measured in the same run issues the same no-op queries with a bare loop (hrtime stamp, call, `.then` stamp) and
 * no loadgen bookkeeping; the ratio is loadgen / bare. Also checks that a Server run at the 50,000 QPS goal keeps
 * to its schedule (lateness percentiles).
 *
 *   npx tsx bench/loadgen-overhead.ts
 *
 * Prints a table and writes bench/results/loadgen-overhead-cpu.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runOffline, runServer, type RunSummary } from '../lib/loadgen/index.js';

const GOAL_QPS = 50_000;
const REPEATS = 3;
const SERVER_TARGET_QPS = 10_000_000;
const SERVER_DURATION_MS = 2000;
const OFFLINE_QUERIES = 1_000_000;
const PACED_QPS = GOAL_QPS;
const PACED_DURATION_MS = 2000;

const noop = async (): Promise<void> => {};
const samples = [new Float32Array(4)];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** A bare issue loop: same work per query as the loadgen minus its bookkeeping, chunked the same way. */
function bareLoop(queries: number): Promise<number> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const latencies: number[] = [];
    let issued = 0;
    let done = 0;
    const chunk = (): void => {
      const end = Math.min(queries, issued + 4096);
      for (; issued < end; issued++) {
        const start = Number(process.hrtime.bigint() - t0);
        void noop().then(() => {
          latencies.push(Number(process.hrtime.bigint() - t0) - start);
          if (++done === queries) resolve(queries / (Number(process.hrtime.bigint() - t0) / 1e9));
        });
      }
      if (issued < queries) setImmediate(chunk);
    };
    chunk();
  });
}

const serverFlat = (): Promise<RunSummary> =>
  runServer({
    issue: noop,
    samples,
    minDurationMs: SERVER_DURATION_MS,
    maxDurationMs: SERVER_DURATION_MS,
    minQueryCount: 1,
    server: { targetQps: SERVER_TARGET_QPS, latencyBoundMs: 1000 },
  });

const offline = (): Promise<RunSummary> =>
  runOffline({
    issue: noop,
    samples,
    minDurationMs: 0,
    offline: { sampleCount: OFFLINE_QUERIES, samplesPerQuery: 1 },
  });

const paced = (): Promise<RunSummary> =>
  runServer({
    issue: noop,
    samples,
    minDurationMs: PACED_DURATION_MS,
    minQueryCount: 1,
    server: { targetQps: PACED_QPS, latencyBoundMs: 10 },
  });

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'uncommitted';
  }
}

await bareLoop(100_000); // warm-up
await offline();
const bare: number[] = [];
const server: number[] = [];
const off: number[] = [];
const pacedRuns: RunSummary[] = [];
for (let i = 0; i < REPEATS; i++) {
  bare.push(await bareLoop(OFFLINE_QUERIES));
  server.push((await serverFlat()).generator.issueRateQps);
  off.push((await offline()).generator.issueRateQps);
  pacedRuns.push(await paced());
}
const pacedRun = pacedRuns.sort((a, b) => a.generator.latenessMs!.p99Ms - b.generator.latenessMs!.p99Ms)[1]!;
const lateness = pacedRun.generator.latenessMs!;

const rows: Array<[string, string]> = [
  [`bare issue loop (baseline), ${OFFLINE_QUERIES.toLocaleString('en-US')} queries`, median(bare).toFixed(0)],
  [`Server, target ${SERVER_TARGET_QPS.toLocaleString('en-US')} QPS, ${SERVER_DURATION_MS} ms`, median(server).toFixed(0)],
  [`Offline, ${OFFLINE_QUERIES.toLocaleString('en-US')} single-sample queries`, median(off).toFixed(0)],
  [
    `Server, target ${PACED_QPS.toLocaleString('en-US')} QPS: scheduled / achieved`,
    `${pacedRun.server!.scheduledQps.toFixed(0)} / ${pacedRun.server!.achievedQps.toFixed(0)}`,
  ],
  [`  issue lateness p50 / p99 / max (ms)`, `${lateness.p50Ms.toFixed(3)} / ${lateness.p99Ms.toFixed(3)} / ${lateness.maxMs.toFixed(3)}`],
];
const value = Math.min(median(server), median(off));
const machine = cpus()[0]?.model ?? 'unknown';
console.log(`loadgen overhead — ${machine} × ${cpus().length}, node ${process.version}, median of ${REPEATS}`);
console.log(`${'run'.padEnd(56)} issued queries/s`);
for (const [label, v] of rows) console.log(`${label.padEnd(56)} ${v}`);
console.log(`${'metric: min(Server, Offline)'.padEnd(56)} ${value.toFixed(0)}  (goal ≥ ${GOAL_QPS.toLocaleString('en-US')})`);

const record = {
  machine,
  cores: cpus().length,
  node: process.version,
  date: new Date().toISOString(),
  commit: commit(),
  config: {
    sut: 'async () => {}',
    repeats: REPEATS,
    statistic: 'median',
    serverTargetQps: SERVER_TARGET_QPS,
    serverDurationMs: SERVER_DURATION_MS,
    offlineQueries: OFFLINE_QUERIES,
    pacedTargetQps: PACED_QPS,
    pacedDurationMs: PACED_DURATION_MS,
  },
  metric: 'issued queries/s with a no-op SUT (lower of Server at a saturating target and Offline)',
  value: Math.round(value),
  goal: GOAL_QPS,
  results: {
    serverIssuedQps: Math.round(median(server)),
    offlineIssuedQps: Math.round(median(off)),
    pacedServer: {
      targetQps: PACED_QPS,
      scheduledQps: Math.round(pacedRun.server!.scheduledQps),
      achievedQps: Math.round(pacedRun.server!.achievedQps),
      latenessMs: { p50: lateness.p50Ms, p99: lateness.p99Ms, max: lateness.maxMs },
      valid: pacedRun.valid,
    },
  },
  baseline: { name: 'bare issue loop, no loadgen bookkeeping', value: Math.round(median(bare)) },
  ratio: value / median(bare),
};
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'loadgen-overhead-cpu.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(record, null, 2) + '\n');
console.log(`wrote ${out}`);
