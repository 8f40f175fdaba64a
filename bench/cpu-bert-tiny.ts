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
import { Builder, Runtime, type NetworkDefinition, type NetworkTensor } from '../lib/index.js';
import { environment, round } from './environment.js';

const LAYERS = 2;
const HIDDEN = 128;
const HEADS = 2;
const HEAD_SIZE = HIDDEN / HEADS;
const INTERMEDIATE = 512;
const VOCAB = 1000;
const MAX_POSITIONS = 512;
const BATCH = 2;
const SEQ = 48;
const WARMUP = 3;
const RUNS = 30;

/** Deterministic weights in [-0.05, 0.05) (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((((t ^ (t >>> 14)) >>> 0) / 4294967296) - 0.5) * 0.1;
  };
}

/** The BERT encoder, layer by layer, on a network: HuggingFace BertModel's last_hidden_state. */
function defineBert(net: NetworkDefinition): void {
  const next = random(2024);
  const weight = (dims: number[], name: string, fill?: number): NetworkTensor =>
    net.addConstant(dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => fill ?? next()), { name });
  const linear = (x: NetworkTensor, inF: number, outF: number, name: string): NetworkTensor => {
    const y = net.addMatrixMultiply(x, weight([inF, outF], `${name}.weight`), { name: `${name}.matmul` }).output();
    return net.addElementWise(y, weight([outF], `${name}.bias`), 'add', { name: `${name}.bias_add` }).output();
  };
  const layerNorm = (x: NetworkTensor, name: string): NetworkTensor =>
    net.addLayerNormalization(x, weight([HIDDEN], `${name}.gamma`, 1), weight([HIDDEN], `${name}.beta`, 0), { epsilon: 1e-12, name }).output();

  const ids = net.addInput('input_ids', 'int64', [-1, -1]);
  const mask = net.addInput('attention_mask', 'int64', [-1, -1]);

  // Embeddings: word + position (0..S-1, sliced from a table) + token type 0, then layernorm.
  const words = net.addGather(weight([VOCAB, HIDDEN], 'word_embeddings'), ids, 0, { name: 'word_lookup' }).output();
  const seqLen = net.addShape(ids, { start: 1, end: 2, name: 'seq_len' }).output();
  const positions = net.addSlice(weight([MAX_POSITIONS, HIDDEN], 'position_embeddings'), [0], seqLen, [0], null, { name: 'positions' }).output();
  const tokenType = net.addSlice(weight([2, HIDDEN], 'token_type_embeddings'), [0], [1], [0], null, { name: 'token_type_0' }).output();
  let x = net.addElementWise(words, positions, 'add', { name: 'add_positions' }).output();
  x = net.addElementWise(x, tokenType, 'add', { name: 'add_token_type' }).output();
  x = layerNorm(x, 'embeddings.layernorm');

  // Additive mask [B, 1, 1, S]: 0 where attended, -10000 where padded.
  const maskF = net.addCast(net.addUnsqueeze(mask, [1, 2], { name: 'mask_4d' }).output(), 'float32', { name: 'mask_float' }).output();
  const one = weight([1], 'one', 1);
  const inverted = net.addElementWise(one, maskF, 'sub', { name: 'mask_invert' }).output();
  const additiveMask = net.addElementWise(inverted, weight([1], 'mask_scale', -10000), 'mul', { name: 'mask_scale' }).output();
  const scale = weight([1], 'attention_scale', 1 / Math.sqrt(HEAD_SIZE));

  for (let l = 0; l < LAYERS; l++) {
    const p = `layer${l}`;
    // [B, S, H] -> [B, heads, S, head] for q, k, v.
    const heads = (t: NetworkTensor, name: string): NetworkTensor => {
      const r = net.addReshape(t, [0, 0, HEADS, HEAD_SIZE], { name: `${name}.split_heads` }).output();
      return net.addTranspose(r, [0, 2, 1, 3], { name: `${name}.heads_first` }).output();
    };
    const q = heads(linear(x, HIDDEN, HIDDEN, `${p}.query`), `${p}.query`);
    const k = heads(linear(x, HIDDEN, HIDDEN, `${p}.key`), `${p}.key`);
    const v = heads(linear(x, HIDDEN, HIDDEN, `${p}.value`), `${p}.value`);
    let scores = net.addMatrixMultiply(q, k, { transposeB: true, name: `${p}.qk` }).output();
    scores = net.addElementWise(scores, scale, 'mul', { name: `${p}.scale` }).output();
    scores = net.addElementWise(scores, additiveMask, 'add', { name: `${p}.mask` }).output();
    const probs = net.addSoftmax(scores, { axis: -1, name: `${p}.softmax` }).output();
    let context = net.addMatrixMultiply(probs, v, { name: `${p}.av` }).output();
    context = net.addTranspose(context, [0, 2, 1, 3], { name: `${p}.heads_last` }).output();
    context = net.addReshape(context, [0, 0, HIDDEN], { name: `${p}.merge_heads` }).output();
    const attended = linear(context, HIDDEN, HIDDEN, `${p}.attention_output`);
    x = layerNorm(net.addElementWise(attended, x, 'add', { name: `${p}.attention_residual` }).output(), `${p}.attention_layernorm`);
    const inner = net.addActivation(linear(x, HIDDEN, INTERMEDIATE, `${p}.intermediate`), 'gelu', { name: `${p}.gelu` }).output();
    const ffn = linear(inner, INTERMEDIATE, HIDDEN, `${p}.output`);
    x = layerNorm(net.addElementWise(ffn, x, 'add', { name: `${p}.ffn_residual` }).output(), `${p}.output_layernorm`);
  }
  net.markOutput(x, 'last_hidden_state');
}

const ms = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;
const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function main(): Promise<void> {
  const builder = new Builder({ backend: 'cpu' });
  using net = builder.createNetwork();
  defineBert(net);
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
  const flops = LAYERS * BATCH * (SEQ * (2 * 4 * HIDDEN * HIDDEN + 2 * 2 * HIDDEN * INTERMEDIATE) + 2 * 2 * SEQ * SEQ * HIDDEN);
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
