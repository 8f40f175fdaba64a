/** Timing helpers of the GPU benchmarks: a time-bounded loop with warm-up, and the result file's name. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DeviceBuffer, Runtime, Stream, cudaDevices, dtypeSize, type Builder, type BuilderConfig, type Engine, type ExecutionContext,
  type NetworkDefinition, type Tensor, type TensorInput, toFloat16Bits,
} from '../lib/index.js';
import { lcgFloats } from '../examples/seeded-random.js';
import { round } from './environment.js';

/** Deterministic fp16 benchmark data: lcgFloats (values in [-1, 1)) as fp16 bits. */
export function halfValues(n: number, seed: number): Uint16Array {
  return toFloat16Bits(lcgFloats(n, seed));
}

export interface Timing {
  runs: number;
  meanMs: number;
  p50Ms: number;
  minMs: number;
}

/** Runs `fn` `warmup` times, then for at least `seconds` (and 10 runs); latency of each awaited call. */
export async function timeLoop(label: string, fn: () => Promise<unknown>, seconds = 3, warmup = 5): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end || times.length < 10) {
    const start = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (times.length % 10 === 0) process.stderr.write(`\r${label}: ${times.length} runs`);
  }
  process.stderr.write('\n');
  times.sort((a, b) => a - b);
  return { runs: times.length, meanMs: times.reduce((a, b) => a + b, 0) / times.length, p50Ms: times[times.length >> 1]!, minMs: times[0]! };
}

/** bench/results/<workload>-<gpu>.json, e.g. gpu-bert-large-nvidia-h100-80gb-hbm3.json. */
export function writeResult(workload: string, result: unknown): string {
  const gpu = (cudaDevices()[0]?.name ?? 'cpu').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', `${workload}-${gpu}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  return out;
}

/** The PyTorch baseline JSON written by bench/pytorch/baselines.py earlier in the same run. */
export function readBaseline(path: string | undefined): Record<string, unknown> | null {
  if (!path) return null;
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/**
 * GPU-only time of one run, as PyTorch users measure theirs: inputs uploaded once to device buffers, every
 * output bound to a device buffer, then `enqueue(stream)` + `stream.synchronize()` timed (no host copies).
 */
export async function timeEnqueue(label: string, engine: Engine, ctx: ExecutionContext, inputs: Record<string, Tensor>, seconds = 3): Promise<Timing> {
  using stream = new Stream();
  const buffers: DeviceBuffer[] = [];
  try {
    for (const [name, t] of Object.entries(inputs)) {
      const buf = DeviceBuffer.alloc(t.data.byteLength);
      buffers.push(buf);
      await buf.upload(t.data, stream);
      ctx.setInputShape(name, t.shape);
      ctx.setTensorAddress(name, buf);
    }
    for (const out of engine.outputs) {
      const bytes = ctx.getTensorShape(out.name).reduce((a, b) => a * b, 1) * dtypeSize(out.dtype);
      const buf = DeviceBuffer.alloc(bytes);
      buffers.push(buf);
      ctx.setTensorAddress(out.name, buf);
    }
    return await timeLoop(label, async () => {
      await ctx.enqueue(stream);
      await stream.synchronize();
    }, seconds);
  } finally {
    for (const name of [...Object.keys(inputs), ...engine.outputs.map((o) => o.name)]) ctx.setTensorAddress(name, null);
    for (const b of buffers) b.dispose();
  }
}

/** Builds (with a progress line) and loads an engine; prints the build log's fusion, precision and placement lines. */
export async function buildAndLoad(builder: Builder, network: NetworkDefinition, config: BuilderConfig): Promise<{ engine: Engine; buildMs: number; loadMs: number }> {
  let start = performance.now();
  const plan = await builder.build(network, config, { onProgress: (p) => process.stderr.write(`\rbuilding: ${p.stage.padEnd(10)} ${Math.round(p.fraction * 100)}%`) });
  const buildMs = performance.now() - start;
  process.stderr.write('\n');
  for (const line of plan.buildLog) if (/backend cuda|fusion|skip layernorm|precision|attention|pointwise|batchnorm|channels-last|tactics|timing cache|sparse|2:4|packed|cu_seqlens|^int8|^cuDNN plans/.test(line)) console.log(`  build: ${line}`);
  start = performance.now();
  const engine = await Runtime.load(plan.bytes);
  return { engine, buildMs, loadMs: performance.now() - start };
}

/** A per-layer breakdown: milliseconds per run, share of the total, largest first. */
export type TimeBreakdown = Record<string, { msPerRun: number; share: number }>;

function breakdown(msByKey: Record<string, number>, runs: number): TimeBreakdown {
  const total = Object.values(msByKey).reduce((a, b) => a + b, 0);
  // Microseconds: a 0.2 ms layer (one fused attention) needs more than two decimals.
  return Object.fromEntries(Object.entries(msByKey).sort((a, b) => b[1] - a[1]).map(([k, ms]) => [k, { msPerRun: round(ms / runs, 3), share: round(ms / total) }]));
}

/**
 * Where the time goes: every layer timed with CUDA events over a few eager runs, per layer kind and per layer
 * role (the layer name without its block prefix, e.g. 'l3.intermediate.matmul' -> 'intermediate.matmul', so the
 * 24 blocks of a transformer add up), largest first; and the profiled context's first run, not profiled.
 */
export async function layerProfile(engine: Engine, inputs: Record<string, TensorInput>): Promise<{ byKind: TimeBreakdown; byRole: TimeBreakdown; firstRunMs: number }> {
  using profiled = engine.createContext({ profileLayers: true });
  // The first run makes lazy per-context state (cuDNN INT8 plans): it is left out of the profile, and timed.
  const started = performance.now();
  await profiled.infer(inputs);
  const firstRunMs = Math.round(performance.now() - started);
  const first = profiled.layerTimes();
  for (let i = 0; i < 5; i++) await profiled.infer(inputs);
  const all = profiled.layerTimes();
  const since = (now: Record<string, number>, then: Record<string, number>) =>
    Object.fromEntries(Object.entries(now).map(([key, ms]) => [key, ms - (then[key] ?? 0)]));
  const runs = all.runs - first.runs;
  const msByKind = since(all.msByKind, first.msByKind), msByLayer = since(all.msByLayer, first.msByLayer);
  const msByRole: Record<string, number> = {};
  for (const [name, ms] of Object.entries(msByLayer)) {
    const role = name.replace(/^[a-z]*\d+[._/]/i, '');
    msByRole[role] = (msByRole[role] ?? 0) + ms;
  }
  return { byKind: breakdown(msByKind, runs), byRole: breakdown(msByRole, runs), firstRunMs };
}

/** What every GPU benchmark result records about the engine it measured. */
export function engineSummary(engine: Engine, ctx: ExecutionContext, built: { buildMs: number; loadMs: number }): Record<string, unknown> {
  return {
    buildMs: round(built.buildMs),
    loadMs: round(built.loadMs),
    engineDeviceBytes: engine.deviceMemorySize,
    contextDeviceBytes: ctx.deviceMemorySize,
    layersOnCpu: engine.layers.filter((l) => l.runsOn !== 'cuda').map((l) => `${l.kind}: ${l.fallbackReason ?? ''}`),
  };
}
