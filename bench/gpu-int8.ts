/**
 * INT8 vs FP16 on the CUDA backend, one run: BERT-large (network API, seeded random weights, batch 64 × 384) and
 * ResNet-50 (torchvision export, random weights, batch 256). For each model: our best FP16 engine and an INT8
 * engine (precision ['fp16', 'int8'], MatMul / Convolution layers in int8 from calibration on synthetic inputs;
 * min-max for BERT as NVIDIA advises for transformers, percentile 99.99 for ResNet-50), GPU-only enqueue times, the
 * ratio, PyTorch FP16 from bench/pytorch/baselines.py run just before on the same GPU, the INT8 engine's per-layer
 * profile, and INT8-vs-FP32 output agreement (cosine; ResNet-50 also top-1 agreement) on inputs not calibrated on.
 *
 *   python3 bench/pytorch/baselines.py bert /tmp/pt-bert.json
 *   python3 bench/pytorch/baselines.py resnet /tmp/pt-resnet.json --onnx /tmp/resnet50.onnx
 *   npx tsx bench/gpu-int8.ts --bert-baseline /tmp/pt-bert.json --resnet /tmp/resnet50.onnx --resnet-baseline /tmp/pt-resnet.json [--layers N]
 *
 * Writes bench/results/gpu-int8-<gpu>.json; with --resnet-only (no BERT section, no --bert-baseline) it writes
 * bench/results/gpu-int8-resnet50-<gpu>.json instead, and with --bert-only (no ResNet section)
 * bench/results/gpu-int8-bert-<gpu>.json, leaving the full run's record as it was.
 */
import {
  Builder, MinMaxCalibrator, OnnxParser, PercentileCalibrator, type BuilderConfigOptions, type Calibrator, type Engine,
  type NetworkDefinition, type Tensor,
} from '../lib/index.js';
import { BERT_LARGE, defineBert } from './bert-network.js';
import { environment, round } from './environment.js';
import { buildAndLoad, engineSummary, layerProfile, readBaseline, timeEnqueue, writeResult } from './gpu-timing.js';
import { agreement, argmaxAgreement } from '../examples/output-agreement.js';

const SEQ = 384;

function arg(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

interface Variant {
  label: string;
  config: BuilderConfigOptions;
}

/** Builds each variant, times `timed` GPU-only, runs `check` through it for the agreement figures. */
async function measure(
  name: string, define: (n: NetworkDefinition) => void, variants: Variant[], timed: Record<string, Tensor>,
  check: Record<string, Tensor>, output: string, classes?: number,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const outputs: Record<string, Float32Array> = {};
  for (const v of variants) {
    const builder = new Builder({ backend: 'cuda' });
    using net = builder.createNetwork();
    define(net);
    console.log(`${name} ${v.label}: building`);
    const built = await buildAndLoad(builder, net, builder.createConfig(v.config));
    using engine: Engine = built.engine;
    using ctx = engine.createContext();
    const row: Record<string, unknown> = { ...engineSummary(engine, ctx, built) };
    row.int8Layers = engine.layers.filter((l) => l.precision === 'int8').length;
    row.channelsLastLayers = engine.layers.filter((l) => l.channelsLast).length;
    if (v.label !== 'fp32') {
      // The first run makes the context's lazy state (INT8: the cuDNN plans the build chose, replayed from the
      // plan cache); so does the profile's context (profile.firstRunMs).
      const started = performance.now();
      await ctx.infer(timed);
      row.firstRunMs = Math.round(performance.now() - started);
      const t = await timeEnqueue(`${name} ${v.label}`, engine, ctx, timed);
      row.enqueueMeanMs = round(t.meanMs);
      row.enqueueP50Ms = round(t.p50Ms);
      row.profile = await layerProfile(engine, timed);
    }
    outputs[v.label] = (await ctx.infer(check))[output].data as Float32Array;
    out[v.label] = row;
    console.log(`${name} ${v.label}: ${JSON.stringify({ ...row, profile: undefined })}`);
    if (row.profile) console.log(`${name} ${v.label} profile: ${JSON.stringify(row.profile)}`);
  }
  const six = (x: number): number => Math.round(x * 1e6) / 1e6;
  out.agreement = {
    int8VsFp32Cosine: six(agreement(outputs.int8!, outputs.fp32!).cosine),
    fp16VsFp32Cosine: six(agreement(outputs.fp16!, outputs.fp32!).cosine),
    ...(classes ? {
      int8VsFp32Top1Agreement: six(argmaxAgreement(outputs.int8!, outputs.fp32!, classes)),
      fp16VsFp32Top1Agreement: six(argmaxAgreement(outputs.fp16!, outputs.fp32!, classes)),
    } : {}),
  };
  return out;
}

async function bert(layers: number, baselineFile: string | undefined): Promise<Record<string, unknown>> {
  const dims = { ...BERT_LARGE, layers };
  const batch = 64;
  const range = { min: [1, SEQ], opt: [batch, SEQ], max: [batch, SEQ] };
  const profiles = [{ input_ids: range, attention_mask: range }];
  const inputs = (rows: number, seed: number): Record<string, Tensor> => ({
    input_ids: { dtype: 'int64', shape: [rows, SEQ], data: BigInt64Array.from({ length: rows * SEQ }, (_, i) => BigInt((i * 7919 + seed * 104729) % dims.vocab)) },
    attention_mask: { dtype: 'int64', shape: [rows, SEQ], data: new BigInt64Array(rows * SEQ).fill(1n) },
  });
  const calibrator: Calibrator = new MinMaxCalibrator({ batches: [inputs(8, 1), inputs(8, 2)] });
  const result = await measure('bert', (n) => defineBert(n, dims), [
    { label: 'fp32', config: { precision: [], profiles } },
    { label: 'fp16', config: { precision: ['fp16'], profiles } },
    { label: 'int8', config: { precision: ['fp16', 'int8'], profiles, int8Calibrator: calibrator } },
  ], inputs(batch, 0), inputs(8, 3), 'last_hidden_state');
  const baseline = readBaseline(baselineFile);
  const pt = (baseline?.batches as Record<string, Record<string, number>> | undefined)?.[String(batch)];
  const fp16 = (result.fp16 as Record<string, number>).enqueueMeanMs!, int8 = (result.int8 as Record<string, number>).enqueueMeanMs!;
  return {
    workload: `BERT (${layers} layers, hidden 1024, seq ${SEQ}), random weights, network API, batch ${batch}`,
    ...result,
    int8VsOurFp16: round(fp16 / int8),
    pytorchFp16EagerMs: pt ? round(pt.eager_ms!) : 'not measured',
    int8VsPytorchFp16: pt ? round(pt.eager_ms! / int8) : 'not measured',
    goal: 'int8 >= 1.6x our fp16',
  };
}

async function resnet(model: string, baselineFile: string | undefined): Promise<Record<string, unknown>> {
  const batch = 256;
  const range = { min: [1, 3, 224, 224], opt: [batch, 3, 224, 224], max: [batch, 3, 224, 224] };
  const profiles = [{ input: range }];
  const images = (rows: number, seed: number): Record<string, Tensor> => ({
    input: { dtype: 'float32', shape: [rows, 3, 224, 224], data: Float32Array.from({ length: rows * 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.001 + seed) * 1.5) },
  });
  const calibrator: Calibrator = new PercentileCalibrator({ batches: [images(32, 1), images(32, 2)], percentile: 99.99 });
  const bytes = (await import('node:fs')).readFileSync(model);
  const result = await measure('resnet50', (n) => OnnxParser.parse(n, bytes), [
    { label: 'fp32', config: { precision: [], profiles } },
    { label: 'fp16', config: { precision: ['fp16'], profiles } },
    { label: 'int8', config: { precision: ['fp16', 'int8'], profiles, int8Calibrator: calibrator } },
  ], images(batch, 0), images(64, 3), 'logits', 1000);
  const baseline = readBaseline(baselineFile);
  const pt = (baseline?.batches as Record<string, Record<string, number>> | undefined)?.[String(batch)];
  const fp16 = (result.fp16 as Record<string, number>).enqueueMeanMs!, int8 = (result.int8 as Record<string, number>).enqueueMeanMs!;
  return {
    workload: `torchvision ResNet-50 (random weights), ONNX export, batch ${batch}`,
    ...result,
    int8VsOurFp16: round(fp16 / int8),
    pytorchFp16CudaGraphMs: pt ? round(pt.cuda_graph_ms!) : 'not measured',
    int8VsPytorchFp16CudaGraph: pt ? round(pt.cuda_graph_ms! / int8) : 'not measured',
    goal: 'int8 >= 1.6x our fp16',
  };
}

async function main(): Promise<void> {
  const layers = Number(arg('--layers') ?? BERT_LARGE.layers);
  const resnetOnly = process.argv.includes('--resnet-only'), bertOnly = process.argv.includes('--bert-only');
  const resnetModel = arg('--resnet');
  if (resnetOnly && !resnetModel) throw new Error('--resnet-only needs --resnet MODEL.onnx');
  if (bertOnly && (resnetOnly || resnetModel)) throw new Error('--bert-only takes no --resnet-only or --resnet');
  const out: Record<string, unknown> = { ...environment() };
  if (!resnetOnly) out.bert = await bert(layers, arg('--bert-baseline'));
  if (resnetModel) out.resnet50 = await resnet(resnetModel, arg('--resnet-baseline'));
  const record = resnetOnly ? 'gpu-int8-resnet50' : bertOnly ? 'gpu-int8-bert' : 'gpu-int8';
  console.log(`wrote ${writeResult(record, out)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
