/**
 * `inferrt bench`: each scenario runs end to end on a tiny model (CPU backend) with short durations and small
 * query counts, through the batcher and without it; the JSON record carries the loadgen summary and the bench
 * settings; Server's peak search reports its trials; usage errors name the flag.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, tinyModel, useTempDir, type CliResult } from './helpers.js';

const at = useTempDir();
const SHAPES = 'x:min=1x4,opt=4x4,max=16x4;mask:min=1x3,opt=4x3,max=16x3';

beforeAll(async () => {
  await writeFile(at('tiny.onnx'), tinyModel());
  const built = await cli(['build', at('tiny.onnx'), '-o', at('tiny.plan'), '--shapes', SHAPES, '-q']);
  expect(built.code, built.stderr).toBe(0);
});

function expectUsage(r: CliResult, pattern: RegExp): void {
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/error INVALID_ARGUMENT/);
  expect(r.stderr).toMatch(pattern);
}

describe('inferrt bench', () => {
  it('runs SingleStream one request per call and reports an MLPerf-style summary', async () => {
    const r = await cli(['bench', at('tiny.plan'), '--scenario', 'singlestream', '--duration', '0.2', '--min-queries', '50']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/backend cpu.*one request per infer call on 1 context/);
    expect(r.stdout).toMatch(/inferrt loadgen summary: SingleStream/);
    expect(r.stdout).toMatch(/Result is\s+: VALID/);
    expect(r.stdout).toMatch(/no batcher: \d+ requests, one per infer call, on 1 context/);
  });

  it('runs Offline through the batcher, forming batches, and writes a JSON record', async () => {
    const r = await cli(['bench', at('tiny.plan'), '--scenario', 'offline', '--batch', '8', '--contexts', '2', '--duration', '0.2', '--json', at('offline.json')]);
    expect(r.code, r.stderr).toBe(0);
    const stats = /batcher: (\d+) requests in (\d+) batches \(mean ([\d.]+) rows, max (\d+); warm-up included\)/.exec(r.stdout);
    expect(stats, r.stdout).not.toBeNull();
    expect(Number(stats![2])).toBeLessThan(Number(stats![1]));
    expect(Number(stats![4])).toBeLessThanOrEqual(8);
    expect(r.stdout).toMatch(/Result is\s+: VALID/);
    const record = JSON.parse(await readFile(at('offline.json'), 'utf8'));
    expect(record).toMatchObject({ tool: 'inferrt/loadgen', scenario: 'Offline', bench: { backend: 'cpu', batch: 8, contexts: 2, maxDelayMs: 1 } });
    expect(record.result.name).toBe('samplesPerSecond');
    expect(record.result.value).toBeGreaterThan(0);
  });

  it('runs Server at a target QPS and MultiStream with its samples per query', async () => {
    const server = await cli(['bench', at('tiny.plan'), '--scenario', 'server', '--target-qps', '200', '--latency-bound-ms', '50', '--duration', '0.3', '--min-queries', '20', '--batch', '4']);
    expect(server.code, server.stderr).toBe(0);
    expect(server.stdout).toMatch(/inferrt loadgen summary: Server/);
    const multi = await cli(['bench', at('tiny.onnx'), '--shapes', SHAPES, '--scenario', 'multistream', '--samples-per-query', '4', '--duration', '0.2', '--min-queries', '20', '-q']);
    expect(multi.code, multi.stderr).toBe(0);
    expect(multi.stdout).toMatch(/inferrt loadgen summary: MultiStream/);
  });

  it('finds the peak Server QPS and lists every trial', async () => {
    const r = await cli(['bench', at('tiny.plan'), '--scenario', 'server', '--find-peak', '--target-qps', '50', '--latency-bound-ms', '20', '--duration', '0.2', '--min-queries', '10', '--json', at('peak.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/trial 1: 50\.0 QPS -> VALID/);
    expect(r.stdout).toMatch(/peak Server QPS: [\d.]+ at p99 <= 20 ms \(\d+ trials/);
    const record = JSON.parse(await readFile(at('peak.json'), 'utf8'));
    expect(record.peak.trials.length).toBeGreaterThan(1);
    expect(record.peak.peakQps).toBeGreaterThanOrEqual(50);
  });

  it('names the flag in usage errors', async () => {
    expectUsage(await cli(['bench', at('tiny.plan')]), /--scenario is required/);
    expectUsage(await cli(['bench', at('tiny.plan'), '--scenario', 'servre']), /did you mean 'server'/);
    expectUsage(await cli(['bench', at('tiny.plan'), '--scenario', 'server', '--target-qps', '10']), /needs --latency-bound-ms/);
    expectUsage(await cli(['bench', at('tiny.plan'), '--scenario', 'server', '--latency-bound-ms', '10']), /needs --target-qps N, or --find-peak/);
    expectUsage(await cli(['bench', at('tiny.plan'), '--scenario', 'offline', '--find-peak']), /--find-peak applies to --scenario server only/);
    expectUsage(await cli(['bench', at('tiny.plan'), '--scenario', 'offline', '--duration', '-1']), /--duration must be a positive number, got '-1'/);
    expectUsage(await cli(['bench', at('tiny.plan'), '--scenario', 'offline', '--max-delay-ms', '2']), /--max-delay-ms applies to the batcher/);
  });
});
