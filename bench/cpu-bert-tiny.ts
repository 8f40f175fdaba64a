/**
 * The CPU reference backend on a small transformer: a 2-layer BERT encoder (hidden 128, 2 heads of 64,
 * intermediate 512, GELU, post-layernorm as in HuggingFace's BertModel) at batch 2 × sequence 48, built with
 * the network API and random weights. The reference backend favours exactness over speed; the issue expects
 * "well under a second" per inference.
 *
 *   npx tsx bench/cpu-bert-tiny.ts
 *
 * Prints build and infer times and writes bench/results/cpu-bert-tiny.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Builder, Runtime } from '../lib/index.js';
import { BERT_TINY, bertFlopsPerSequence, defineBert } from './bert-network.js';
import { environment, round } from './environment.js';

const { layers: LAYERS, hidden: HIDDEN, heads: HEADS, intermediate: INTERMEDIATE, vocab: VOCAB } = BERT_TINY;
const BATCH = 2;
const SEQ = 48;
const WARMUP = 3;
const RUNS = 30;

const ms = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;
const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function main(): Promise<void> {
  const builder = new Builder({ backend: 'cpu' });
  using net = builder.createNetwork();
  defineBert(net, BERT_TINY);
  const shape = [BATCH, SEQ];
  const config = builder.createConfig({
    profiles: [{ input_ids: { min: [1, 1], opt: shape, max: [8, 128] }, attention_mask: { min: [1, 1], opt: shape, max: [8, 128] } }],
  });
  let start = process.hrtime.bigint();
  const plan = await builder.build(net, config, { onProgress: (p) => process.stderr.write(`\rbuilding: ${p.stage.padEnd(10)} ${Math.round(p.fraction * 100)}%`) });
  const buildMs = ms(start);
  process.stderr.write('\n');
  using engine = await Runtime.load(plan.bytes);
  using ctx = engine.createContext();

  const ids = BigInt64Array.from({ length: BATCH * SEQ }, (_, i) => BigInt((i * 7919) % VOCAB));
  // The second sequence is padded after 40 tokens, so the mask path does real work.
  const mask = BigInt64Array.from({ length: BATCH * SEQ }, (_, i) => (i >= SEQ && i % SEQ >= 40 ? 0n : 1n));
  const inputs = { input_ids: { data: ids, shape }, attention_mask: { data: mask, shape } };
  for (let i = 0; i < WARMUP; i++) await ctx.infer(inputs);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    start = process.hrtime.bigint();
    const out = await ctx.infer(inputs);
    times.push(ms(start));
    if (out.last_hidden_state!.shape.join() !== [BATCH, SEQ, HIDDEN].join()) throw new Error('unexpected output shape');
    process.stderr.write(`\rinfer ${i + 1}/${RUNS}`);
  }
  process.stderr.write('\n');
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const flops = BATCH * bertFlopsPerSequence(BERT_TINY, SEQ);
  const result = {
    ...environment(),
    model: { layers: LAYERS, hidden: HIDDEN, heads: HEADS, intermediate: INTERMEDIATE, vocab: VOCAB, weights: 'random (seeded)' },
    input: { batch: BATCH, sequence: SEQ },
    backend: 'cpu',
    buildMs: round(buildMs),
    planBytes: plan.bytes.byteLength,
    inferMs: { runs: RUNS, mean: round(mean), p50: round(percentile(times, 50)), p90: round(percentile(times, 90)), min: round(times[0]!), max: round(times.at(-1)!) },
    gflopPerInference: round(flops / 1e9),
    gflops: round(flops / 1e9 / (mean / 1e3)),
    goal: 'well under 1000 ms per inference',
  };
  console.log(`2-layer BERT (hidden ${HIDDEN}) batch ${BATCH} x seq ${SEQ} on the CPU reference backend:`);
  console.log(`  build ${result.buildMs} ms; infer mean ${result.inferMs.mean} ms, p50 ${result.inferMs.p50} ms, p90 ${result.inferMs.p90} ms, min ${result.inferMs.min} ms (${result.gflops} GFLOP/s)`);
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'cpu-bert-tiny.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`  wrote ${out}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
