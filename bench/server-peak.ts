/**
 * Server-scenario peak QPS at a latency bound, dynamic batcher vs a naive one-request-per-call loop, in the same
 * run on the same engine. Default model: the ResNet fixture (torchvision ResNet, reduced, 64×64 input) at
 * MLPerf's ResNet-50 bound of 15 ms p99. Runs on whatever backend `Builder` picks ('auto').
 *
 *   npx tsx bench/server-peak.ts [MODEL.onnx | bert-large] [--bound-ms 15] [--batch 8] [--contexts 2] [--trial-s 3] [--fp16] [--start-qps 50] [--max-trials 8]
 *
 * `bert-large` builds BERT-large (24 layers, hidden 1024, random weights; bench/bert-network.ts) with the network
 * API, requests of one sequence of 384 tokens (MLPerf's BERT bound is 130 ms). Prints each trial and writes
 * bench/results/server-peak-<backend>.json for the default model, server-peak-<model>-<backend>[-fp16].json else.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Builder, OnnxParser, Runtime, createBatcher, type Engine } from '../lib/index.js';
import { environment, round } from './environment.js';
import { BERT_LARGE, defineBert } from './bert-network.js';
import { findPeakQps, type PeakResult } from '../lib/loadgen/index.js';
import { batched, contextPool, type RequestRunner } from '../lib/cli/bench/system.js';
import { syntheticRequests, type Request } from '../lib/cli/bench/samples.js';
import * as lib from '../lib/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'bound-ms': { type: 'string', default: '15' },
    batch: { type: 'string', default: '8' },
    contexts: { type: 'string', default: '2' },
    'trial-s': { type: 'string', default: '3' },
    fp16: { type: 'boolean', default: false },
    'start-qps': { type: 'string', default: '50' },
    'max-trials': { type: 'string', default: '8' },
  },
});
const model = positionals[0] ?? join(here, '..', 'test', 'fixtures', 'models', 'resnet_torchscript_op13.onnx');
const boundMs = Number(values['bound-ms']);
const batch = Number(values.batch);
const contexts = Number(values.contexts);
const trialMs = Number(values['trial-s']) * 1000;
const precision = values.fp16 ? (['fp16'] as const) : undefined;
const BERT_SEQ = 384;

async function buildEngine(): Promise<Engine> {
  const builder = new Builder();
  using network = builder.createNetwork();
  if (model === 'bert-large') defineBert(network, BERT_LARGE);
  else await OnnxParser.parseFile(network, model);
  const profile = Object.fromEntries(
    network.inputs.map((t) => {
      // Dynamic dims other than the batch: the BERT sequence length, else 1 (a model with fixed dims keeps them).
      const at = (b: number) => t.dims.map((d, i) => (d >= 0 ? d : i === 0 ? b : model === 'bert-large' ? BERT_SEQ : 1));
      return [t.name, { min: at(1), opt: at(batch), max: at(Math.max(batch, 16)) }];
    }),
  );
  const plan = await builder.build(network, builder.createConfig({ profiles: [profile], ...(precision ? { precision: [...precision] } : {}) }));
  return Runtime.load(plan);
}

/**
 * Warm-up, as MLPerf allows before timing: every batch size the runner can form, a few times, so that each
 * context has planned, run and graph-captured each shape (and cuDNN has timed its algorithms for it) before a
 * trial measures latency. Without it the first request of each new batch size pays for all that.
 */
async function warmUp(runner: RequestRunner, samples: Request[], maxRows: number): Promise<void> {
  for (let rows = 1; rows <= maxRows; rows++)
    for (let round = 0; round < 2 * contexts; round++) await Promise.all(samples.slice(0, rows).map((r) => runner.run(r)));
}

async function peakOf(label: string, runner: RequestRunner, samples: Request[]): Promise<PeakResult> {
  const result = await findPeakQps<Request>({
    issue: (query) => Promise.all(query.map((r) => runner.run(r))),
    samples,
    minDurationMs: trialMs,
    minQueryCount: 64,
    server: { latencyBoundMs: boundMs },
    peak: { startQps: Number(values['start-qps']), maxTrials: Number(values['max-trials']) },
    onTrial: (t) => console.log(`  ${label} trial ${t.index + 1}: ${t.targetQps.toFixed(1)} QPS -> ${t.valid ? 'VALID' : 'INVALID'}, p99 ${t.summary.latencyMs.p99Ms.toFixed(2)} ms`),
  });
  console.log(`${label}: peak ${result.peakQps?.toFixed(1) ?? 'none'} QPS (${runner.describe()})`);
  return result;
}

async function main(): Promise<void> {
  using engine = await buildEngine();
  const samples = syntheticRequests(lib, engine.inputs, 0, 1);
  console.log(`${model}: backend ${engine.info.backend}; Server peak at p99 <= ${boundMs} ms, ${trialMs / 1000} s trials`);
  const naiveRunner = contextPool(engine, 1, 0);
  await warmUp(naiveRunner, samples, 1);
  const naive = await peakOf('naive (1 request per call, 1 context)', naiveRunner, samples);
  await naiveRunner.close();
  const batcherRunner = batched(createBatcher(engine, { maxBatch: batch, maxDelayMs: 2, contexts }));
  await warmUp(batcherRunner, samples, batch);
  const withBatcher = await peakOf(`batcher (max ${batch} rows, ${contexts} contexts)`, batcherRunner, samples);
  await batcherRunner.close();
  const ratio = naive.peakQps && withBatcher.peakQps ? withBatcher.peakQps / naive.peakQps : null;
  console.log(`batcher / naive peak QPS: ${ratio?.toFixed(2) ?? 'n/a'}`);
  const trials = (p: PeakResult) => p.trials.map((t) => ({ targetQps: round(t.targetQps), valid: t.valid, p99Ms: round(t.summary.latencyMs.p99Ms) }));
  const result = {
    ...environment(),
    model: model.split('/').at(-1),
    backend: engine.info.backend,
    config: { latencyBoundMs: boundMs, percentile: 0.99, trialMs, batch, contexts, maxDelayMs: 2, precision: precision ?? ['tf32'] },
    metric: 'Server peak QPS (highest Poisson target that stays VALID)',
    value: withBatcher.peakQps,
    baseline: { name: 'naive one-request-per-call loop, 1 context', value: naive.peakQps },
    ratio: ratio === null ? null : round(ratio),
    trials: { batcher: trials(withBatcher), naive: trials(naive) },
  };
  const tag = positionals[0] ? `${basename(model, '.onnx')}-` : '';
  const out = join(here, 'results', `server-peak-${tag}${engine.info.backend}${precision ? '-fp16' : ''}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${out}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
