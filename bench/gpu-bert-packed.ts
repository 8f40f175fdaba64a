/**
 * Variable-length BERT on the GPU, one run: the standard mix (examples/bert/standard-mix.ts: request lengths
 * uniform in [64, 384], seeded; 20 batches of 64 requests) through our packed FP16 engine (the builder's
 * packedSequences rewrite: no padding), our padded FP16 engine (each batch padded to its longest request) and
 * PyTorch FP16 (HF BertModel, SDPA, padded the same way; bench/pytorch/bert_mix.py, run just before on the same GPU
 * and the same batches). All engines come from one ONNX export (scripts/export_bert.py: random weights, seed 0;
 * PyTorch builds the same weights from the same seed). The packed and padded engines are built with
 * approximateGelu (tanh GELU in cuBLASLt's GEMM epilogue); a second packed engine with exact GELU (our pass after
 * the GEMM) is measured too, and its outputs compared with the first's.
 *
 *   python3 scripts/export_bert.py /tmp/bert-large-packed.onnx
 *   npx tsx bench/bert-mix.ts /tmp/bert-mix.json
 *   python3 bench/pytorch/bert_mix.py /tmp/bert-mix.json /tmp/pt-bert-mix.json --outputs /tmp/pt-bert-mix-batch0.npy
 *   npx tsx bench/gpu-bert-packed.ts /tmp/bert-large-packed.onnx --pytorch /tmp/pt-bert-mix.json --pytorch-outputs /tmp/pt-bert-mix-batch0.npy
 *
 * Options: --batches N, --batch N (must match the mix PyTorch ran), --reps N (timed runs per batch, default 5).
 * Timing: GPU time of each batch, CUDA events around enqueue() with inputs and outputs on device buffers (no host
 * copies; CUDA graphs on, the context's default), median of --reps runs after two untimed ones (the first run of a
 * shape plans it and captures its graph); PyTorch's is measured the same way. Each request's packed output rows are
 * checked against its padded rows. Writes bench/results/gpu-bert-packed-<gpu>.json.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Builder, OnnxParser, fromFloat16Bits, type BuilderConfigOptions, type Engine, type Tensor } from '../lib/index.js';
import { readNpyFile } from '../lib/npy.js';
import { floatValues, packedBuildOptions, packedOrWhy, packedFeeds, paddedBuildOptions, paddedFeeds, type EngineShape } from '../examples/bert/bert-engines.js';
import { compareSequences, unpadRows, worstAgreement, type SequenceAgreement } from '../examples/bert/sequence-agreement.js';
import { BENCH_MIX, STANDARD_MIX, packBatch, padBatch, standardMix, tokenCount, type MixRequest } from '../examples/bert/standard-mix.js';
import { summarize, type RunSummary } from '../examples/bert/throughput.js';
import { DeviceRunner } from './device-runner.js';
import { environment, round } from './environment.js';
import { buildAndLoad, engineSummary, layerProfile, readBaseline, writeResult } from './gpu-timing.js';

/** A request's packed rows must agree with its padded rows at least this well (cosine) to pass. */
const MIN_COSINE = 0.999;

function arg(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const six = (x: number): number => Number(x.toPrecision(6));

interface Built {
  engine: Engine;
  buildMs: number;
  loadMs: number;
}

/** Parses the export and builds it with `options` on the CUDA backend (progress on stderr, build log lines shown). */
async function buildEngine(label: string, bytes: Uint8Array, options: (inputs: readonly string[]) => BuilderConfigOptions): Promise<Built> {
  const builder = new Builder({ backend: 'cuda' });
  using net = builder.createNetwork();
  const start = performance.now();
  const parsed = OnnxParser.parse(net, bytes);
  console.log(`${label}: parsed in ${((performance.now() - start) / 1000).toFixed(1)} s; building`);
  return buildAndLoad(builder, net, builder.createConfig(options(parsed.inputs)));
}

/** A packed build of `shape`; `error` says why there is none (the build failed, or the network was not rewritten). */
async function buildPacked(label: string, bytes: Uint8Array, shape: EngineShape, optTokens: number): Promise<{ built: Built | null; error?: string }> {
  const { built, why } = await packedOrWhy(() => buildEngine(label, bytes, () => packedBuildOptions(shape, optTokens)));
  if (why) console.log(`!!! ${label}: ${why}`);
  return { built: built ?? null, error: why };
}

function summaryJson(s: RunSummary, batchMs: number[]): Record<string, unknown> {
  return {
    samplesPerS: round(s.samplesPerS), tokensPerS: round(s.tokensPerS), totalMs: round(s.totalMs),
    latencyMs: { mean: round(s.latencyMs.mean), p50: round(s.latencyMs.p50), p99: round(s.latencyMs.p99) },
    batchMs: batchMs.map(round),
  };
}

function agreementJson(a: SequenceAgreement & { worstBatch?: number }): Record<string, number> {
  return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, six(v)]));
}

/** Throws unless the PyTorch baseline ran exactly these batches. */
function checkSameMix(pytorch: Record<string, unknown> | null, mix: MixRequest[][]): void {
  if (!pytorch) return;
  const theirs = pytorch.mix as { seed: number; lengths: number[][] } | undefined;
  const ours = mix.map((b) => b.map((r) => r.inputIds.length));
  if (!theirs || theirs.seed !== STANDARD_MIX.seed || JSON.stringify(theirs.lengths) !== JSON.stringify(ours)) {
    throw new Error('the PyTorch baseline ran other batches than this run (seed, --batches or --batch differ); run bench/bert-mix.ts and bert_mix.py with the same options');
  }
}

/** Batch 0 of PyTorch (float16 [batch, longest, hidden] .npy) against our padded and packed outputs of it. */
async function pytorchAgreement(file: string, lengths: number[], padded: Tensor, packed: Tensor | null, cuSeqlens: Int32Array): Promise<Record<string, unknown>> {
  const npy = await readNpyFile(file);
  const [, width, hidden] = padded.shape as [number, number, number];
  if (npy.shape.length !== 3 || npy.shape[0] !== lengths.length || npy.shape[1] !== width || npy.shape[2] !== hidden) {
    return { error: `PyTorch's batch 0 output has shape [${npy.shape.join(', ')}], ours [${padded.shape.join(', ')}]` };
  }
  const theirs = npy.dtype === 'float16' ? fromFloat16Bits(npy.data as Uint16Array) : Float32Array.from(npy.data as Float32Array);
  const ours = unpadRows(floatValues(padded), lengths, width, hidden);
  return {
    note: 'same weights only when the ONNX came from scripts/export_bert.py with the same size, layers and seed',
    paddedVsPytorch: agreementJson(compareSequences(ours, cuSeqlens, theirs, width, hidden)),
    ...(packed ? { packedVsPytorch: agreementJson(compareSequences(floatValues(packed), cuSeqlens, theirs, width, hidden)) } : {}),
  };
}

async function main(): Promise<void> {
  const onnx = process.argv[2];
  if (!onnx || onnx.startsWith('--')) throw new Error('usage: npx tsx bench/gpu-bert-packed.ts MODEL.onnx [--pytorch PT.json] [--pytorch-outputs BATCH0.npy] [--batches 20] [--batch 64] [--reps 5]');
  const batches = Number(arg('--batches') ?? BENCH_MIX.batches), batch = Number(arg('--batch') ?? BENCH_MIX.batchSize), reps = Number(arg('--reps') ?? 5);
  const pytorch = readBaseline(arg('--pytorch'));
  const mix = standardMix({ batches, batchSize: batch });
  checkSameMix(pytorch, mix);
  const bytes = readFileSync(onnx);
  const shape: EngineShape = { maxBatch: batch, maxSeq: STANDARD_MIX.maxLength, precision: ['fp16'], approximateGelu: true };
  const meanLength = (STANDARD_MIX.minLength + STANDARD_MIX.maxLength) / 2;

  const paddedBuilt = await buildEngine('padded engine', bytes, (inputs) => paddedBuildOptions(inputs, shape));
  const { built: packedBuilt, error: packedError } = await buildPacked('packed engine', bytes, shape, batch * meanLength);
  const { built: exactBuilt, error: exactError } = await buildPacked('packed engine, exact GELU', bytes, { ...shape, approximateGelu: false }, batch * meanLength);
  using paddedEngine = paddedBuilt.engine;
  using packedEngine = packedBuilt?.engine ?? null;
  using exactEngine = exactBuilt?.engine ?? null;

  const padded = mix.map((requests) => padBatch(requests));
  const packed = mix.map((requests) => packBatch(requests, STANDARD_MIX.maxLength));
  const paddedInputs = padded.map((p) => paddedFeeds(paddedEngine, p));
  using paddedRunner = new DeviceRunner(paddedEngine, paddedInputs);
  const packedInputs = packedEngine ? packed.map((k) => packedFeeds(packedEngine, k)) : [];
  using packedRunner = packedEngine ? new DeviceRunner(packedEngine, packedInputs) : null;
  const exactInputs = exactEngine ? packed.map((k) => packedFeeds(exactEngine, k)) : [];
  using exactRunner = exactEngine ? new DeviceRunner(exactEngine, exactInputs) : null;

  const times = { padded: [] as number[], packed: [] as number[], exact: [] as number[] };
  const hidden: SequenceAgreement[] = [], pooled: SequenceAgreement[] = [], exactVsApproximate: SequenceAgreement[] = [];
  let crossCheck: Record<string, unknown> | string = 'not measured (pass --pytorch-outputs)';
  for (let i = 0; i < mix.length; i++) {
    const a = await paddedRunner.run(paddedInputs[i]!, reps);
    times.padded.push(a.ms);
    let line = `batch ${i + 1}/${mix.length}: ${tokenCount(mix[i]!)} tokens, padded to ${padded[i]!.shape.join(' x ')}: padded ${a.ms.toFixed(2)} ms`;
    const b = packedRunner ? await packedRunner.run(packedInputs[i]!, reps) : null;
    const k = packed[i]!;
    if (b) {
      times.packed.push(b.ms);
      line += `, packed ${b.ms.toFixed(2)} ms`;
      const h = a.outputs.last_hidden_state!.shape[2]!;
      hidden.push(compareSequences(floatValues(b.outputs.last_hidden_state!), k.cuSeqlens, floatValues(a.outputs.last_hidden_state!), padded[i]!.shape[1], h));
      if (a.outputs.pooler_output && b.outputs.pooler_output) {
        const each = Int32Array.from({ length: mix[i]!.length + 1 }, (_, r) => r);
        pooled.push(compareSequences(floatValues(b.outputs.pooler_output), each, floatValues(a.outputs.pooler_output), 1, h));
      }
    }
    const e = exactRunner ? await exactRunner.run(exactInputs[i]!, reps) : null;
    if (e) {
      times.exact.push(e.ms);
      line += `, packed with exact GELU ${e.ms.toFixed(2)} ms`;
      if (b) {
        const tokensNow = k.cuSeqlens[k.cuSeqlens.length - 1]!;
        const each = Int32Array.from({ length: tokensNow + 1 }, (_, r) => r);
        const h = a.outputs.last_hidden_state!.shape[2]!;
        exactVsApproximate.push(compareSequences(floatValues(b.outputs.last_hidden_state!), each, floatValues(e.outputs.last_hidden_state!), 1, h));
      }
    }
    const ptOutputs = arg('--pytorch-outputs');
    if (i === 0 && ptOutputs) crossCheck = await pytorchAgreement(ptOutputs, padded[0]!.lengths, a.outputs.last_hidden_state!, b?.outputs.last_hidden_state ?? null, k.cuSeqlens);
    console.log(line);
  }

  const samples = batches * batch;
  const tokens = mix.reduce((n, r) => n + tokenCount(r), 0);
  const paddedTokens = padded.reduce((n, p) => n + p.shape[0] * p.shape[1], 0);
  const paddedSummary = summarize(times.padded, samples, tokens);
  const packedSummary = packedRunner ? summarize(times.packed, samples, tokens) : null;
  const exactSummary = exactRunner ? summarize(times.exact, samples, tokens) : null;
  const pt = pytorch as { samplesPerS: number; tokensPerS: number; latencyMs: Record<string, number>; batchMs: number[]; torch: string; model: string } | null;
  console.log('profiling layers (batch 1 of the mix)');
  const profiles = {
    padded: await layerProfile(paddedEngine, paddedInputs[0]!),
    ...(packedEngine ? { packed: await layerProfile(packedEngine, packedInputs[0]!) } : {}),
  };
  const worstHidden = packedSummary ? worstAgreement(hidden) : null;
  const agreementOk = worstHidden !== null && worstHidden.nonFinite === 0 && worstHidden.minSequenceCosine >= MIN_COSINE;
  const ratio = (a: number | undefined, b: number | undefined): number | string => (a && b ? round(a / b) : 'not measured');
  const result = {
    ...environment(),
    workload: `BERT FP16 (${path.basename(onnx)}), standard mix: ${batches} batches of ${batch} requests, lengths uniform in [${STANDARD_MIX.minLength}, ${STANDARD_MIX.maxLength}] (seed ${STANDARD_MIX.seed})`,
    timing: `GPU time per batch: CUDA events around enqueue() on device buffers, CUDA graphs on, median of ${reps} runs after 2 untimed; PyTorch: CUDA events around model(), median of its runs`,
    mix: { seed: STANDARD_MIX.seed, batches, batchSize: batch, requests: samples, tokens, meanLength: round(tokens / samples), paddedTokens, paddingOverhead: round(paddedTokens / tokens) },
    padded: { ...engineSummary(paddedEngine, paddedRunner.ctx, paddedBuilt), ...summaryJson(paddedSummary, times.padded), profile: profiles.padded },
    packed: packedSummary && packedRunner && packedBuilt
      ? { ...engineSummary(packedRunner.engine, packedRunner.ctx, packedBuilt), ...summaryJson(packedSummary, times.packed), profile: profiles.packed }
      : { error: packedError },
    packedExactGelu: exactSummary && exactRunner && exactBuilt
      ? { note: 'the packed engine without approximateGelu: exact erf GELU by our pass after the FFN-in GEMM', ...engineSummary(exactRunner.engine, exactRunner.ctx, exactBuilt), ...summaryJson(exactSummary, times.exact) }
      : { error: exactError },
    pytorch: pt ? { model: pt.model, torch: pt.torch, samplesPerS: pt.samplesPerS, tokensPerS: pt.tokensPerS, latencyMs: pt.latencyMs, batchMs: pt.batchMs } : 'not measured (pass --pytorch)',
    ratios: {
      packedVsPadded: ratio(packedSummary?.samplesPerS, paddedSummary.samplesPerS),
      packedVsPytorch: ratio(packedSummary?.samplesPerS, pt?.samplesPerS),
      paddedVsPytorch: ratio(paddedSummary.samplesPerS, pt?.samplesPerS),
      packedExactGeluVsPytorch: ratio(exactSummary?.samplesPerS, pt?.samplesPerS),
      packedVsPackedExactGelu: ratio(packedSummary?.samplesPerS, exactSummary?.samplesPerS),
    },
    agreement: {
      rule: `every request's packed rows vs its padded rows; pass: no non-finite value and worst request cosine >= ${MIN_COSINE}`,
      pass: agreementOk,
      lastHiddenState: worstHidden ? agreementJson(worstHidden) : 'not measured',
      poolerOutput: pooled.length ? agreementJson(worstAgreement(pooled)) : 'not measured',
      packedVsPackedExactGelu: exactVsApproximate.length ? { per: 'token row', ...agreementJson(worstAgreement(exactVsApproximate)) } : 'not measured',
      pytorchBatch0: crossCheck,
    },
    goals: { packedVsPadded: '>= 1.5x samples/s', packedVsPytorch: '>= 2.2x samples/s' },
    forScale: "NVIDIA's published MLPerf Inference result for one H100 (TensorRT, BERT-99.9, Offline): 8,007 samples/s (SQuAD, MLPerf's harness; not measured here)",
  };
  const row = (label: string, s: { samplesPerS: number; tokensPerS: number; latencyMs: Record<string, number> } | null | undefined): void => {
    if (!s) return console.log(`bert-packed ${label.padEnd(8)} not measured`);
    const l = s.latencyMs;
    console.log(`bert-packed ${label.padEnd(8)} ${s.samplesPerS.toFixed(1).padStart(9)} samples/s ${s.tokensPerS.toFixed(0).padStart(9)} tokens/s  batch ms mean ${l.mean!.toFixed(2)} p50 ${l.p50!.toFixed(2)} p99 ${l.p99!.toFixed(2)}`);
  };
  row('packed', packedSummary);
  row('padded', paddedSummary);
  row('exact', exactSummary);
  row('pytorch', pt);
  console.log(`bert-packed ratios: ${JSON.stringify(result.ratios)} (goals: packed/padded >= 1.5, packed/pytorch >= 2.2; padded and packed with approximateGelu, exact: packed without it)`);
  console.log(`bert-packed agreement: ${JSON.stringify(result.agreement)}`);
  console.log(`wrote ${writeResult('gpu-bert-packed', result)}`);
  if (!packedSummary || !agreementOk) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
