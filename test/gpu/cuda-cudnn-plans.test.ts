/**
 * GPU suite, cuDNN plan choices in INT8 plans: an fp16 + int8 build whose QuantizedMatMuls run cuDNN graphs (K and
 * N multiples of 16) runs the engine once at the opt shapes, so each cuDNN problem is searched at build time, and
 * the plan records what was chosen ('CDNN' section). A fresh process (its plan cache empty) that loads the plan
 * replays those choices instead of searching: it must say so (engine.info.cudnnPlans.used), search nothing (the
 * addon's plan counters) and give the build process's output bit for bit (the same kernels). Choices made on another
 * GPU model or cuDNN version are not used.
 * Skipped, with the reason, where the addon has no CUDA part or no GPU is visible.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addon } from '../../lib/binding.js';
import { Builder, MinMaxCalibrator, Runtime, cudaDevices, tensor, type Plan } from '../../lib/index.js';
import { formatReport, inspectEngine } from '../../lib/cli/commands/inspect.js';
import { randomFloats } from '../api/helpers.js';
import { cudaSkipReason, reportSkipped } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const rows = 256;
const data = randomFloats(rows * 64, 41);

// x [rows, 64] -> MatMul 64x128 + bias -> relu -> MatMul 128x64 -> y, calibrated into two QuantizedMatMuls.
async function buildPlan(): Promise<Plan> {
  const builder = new Builder({ backend: 'cuda' });
  using n = builder.createNetwork();
  const x = n.addInput('x', 'float32', [-1, 64]);
  const w1 = n.addConstant([64, 128], randomFloats(64 * 128, 42).map((v) => v / 8));
  const b1 = n.addConstant([128], randomFloats(128, 43));
  const h = n.addActivation(n.addElementWise(n.addMatrixMultiply(x, w1).output(), b1, 'add').output(), 'relu').output();
  n.markOutput(n.addMatrixMultiply(h, n.addConstant([128, 64], randomFloats(128 * 64, 44).map((v) => v / 11))).output(), 'y');
  const calibrator = new MinMaxCalibrator({ batches: [{ x: tensor(data, [rows, 64]) }] });
  const profiles = [{ x: { min: [1, 64], opt: [rows, 64], max: [rows, 64] } }];
  return await builder.build(n, builder.createConfig({ precision: ['fp16', 'int8'], int8Calibrator: calibrator, profiles }));
}

interface ChildResult {
  info: { count: number; used: boolean; note: string } | null;
  firstMs: number;
  counts: { searches: number; replays: number };
  y: string;
}

const dir = cudaSkipReason === '' ? mkdtempSync(path.join(tmpdir(), 'inferrt-cudnn-plans-')) : '';
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function runChild(plan: Uint8Array, name: string): ChildResult {
  const planPath = path.join(dir, `${name}.plan`), xPath = path.join(dir, 'x.bin');
  writeFileSync(planPath, plan);
  writeFileSync(xPath, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'cudnn-plans-child.ts'), planPath, xPath], {
    encoding: 'utf8',
    timeout: 240_000,
  });
  expect(child.status, child.stderr).toBe(0);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as ChildResult;
}

if (cudaSkipReason !== '') reportSkipped('cuDNN plan choices in INT8 plans', cudaSkipReason);

describe.skipIf(cudaSkipReason !== '')('cuDNN plan choices in INT8 plans', () => {
  let built: Plan;
  beforeAll(async () => {
    built = await buildPlan();
  });

  it('the build searches each cuDNN problem at the opt shapes and records the choices; its engine uses them', async () => {
    expect(built.buildLog.some((l) => /^cuDNN plans: \d+ INT8 graph problems chosen by an opt-shape run of [\d.]+ s/.test(l)), built.buildLog.join('\n')).toBe(true);
    const choices = addon.testing.planCudnnChoices(built.bytes);
    expect(choices.device).toBe(cudaDevices()[0]!.name);
    expect(choices.cudnnVersion).toBeGreaterThan(90000);
    expect(choices.entries.length).toBeGreaterThanOrEqual(2); // the two QuantizedMatMuls' problems
    for (const e of choices.entries) expect(e.configIndex).toBeLessThan(e.configCount);
    using engine = await Runtime.load(built);
    expect(engine.info.cudnnPlans).toEqual({ count: choices.entries.length, used: true, note: '' });
    expect(formatReport(inspectEngine('mlp.plan', engine))).toContain(`  cuDNN plans: ${choices.entries.length} chosen at build time, used`);
  });

  it('a fresh process replays them: same output bit for bit', async () => {
    using engine = await Runtime.load(built);
    using ctx = engine.createContext();
    const y = (await ctx.infer({ x: tensor(data, [rows, 64]) })).y!.data as Float32Array;
    const replayed = runChild(built.bytes, 'with-choices');
    expect(replayed.info?.used).toBe(true);
    const problems = addon.testing.planCudnnChoices(built.bytes).entries.length;
    expect(replayed.counts).toEqual({ searches: 0, replays: problems }); // replayed, not searched again
    expect(Buffer.from(replayed.y, 'base64').equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength))).toBe(true);
    const searching = runChild(addon.testing.withPlanCudnnChoices(built.bytes, { cudnnVersion: 0, device: '', entries: [] }), 'without');
    expect(searching.info).toBeNull();
    expect(searching.counts).toEqual({ searches: problems, replays: 0 });
    console.log(`first run in a fresh process: ${replayed.firstMs.toFixed(1)} ms replaying the plan's cuDNN choices, ${searching.firstMs.toFixed(1)} ms searching`);
  });

  it('choices from another GPU model or cuDNN version are not used, and say why', async () => {
    const choices = addon.testing.planCudnnChoices(built.bytes);
    using other = await Runtime.load(addon.testing.withPlanCudnnChoices(built.bytes, { ...choices, device: 'Some Other GPU' }));
    expect(other.info.cudnnPlans).toEqual({ count: choices.entries.length, used: false, note: `chosen on Some Other GPU, this engine runs on ${cudaDevices()[0]!.name}` });
    using older = await Runtime.load(addon.testing.withPlanCudnnChoices(built.bytes, { ...choices, cudnnVersion: 80907 }));
    expect(older.info.cudnnPlans!.note).toMatch(/^chosen with cuDNN 8\.9\.7, this process has 9\.\d+\.\d+$/);
  });
});
