/**
 * 2:4 structured sparsity (sparseWeights) on the CUDA backend, FP16: the same engine built dense (cuBLASLt, tactic
 * timing) and sparse (GEMMs alone: `sparseWeights: 'force'`, the sparse kernel itself; BERT-large:
 * `sparseWeights: true`, the builder times cuSPARSELt against dense per eligible MatMul and keeps the faster), in
 * the same run, against PyTorch's dense and semi-structured sparse paths on the same GPU.
 *
 *   python3 bench/pytorch/baselines.py sparse /tmp/pt-sparse.json --export-bert /tmp/bert-large.onnx
 *   npx tsx lib/cli/main.ts prune /tmp/bert-large.onnx -o /tmp/bert-large-24.onnx
 *   npx tsx bench/gpu-sparse.ts /tmp/pt-sparse.json --bert-pruned /tmp/bert-large-24.onnx [--bert /tmp/bert-large.onnx --pruning-cost]
 *
 * 1. BERT-large's GEMMs alone, one-layer networks with seeded random weights pruned 2:4 along K here (the two
 *    largest |w| of every four consecutive k in each column kept): FFN in [T,1024]x[1024,4096] + bias + GELU, FFN
 *    out [T,4096]x[4096,1024] + bias, QKV [T,1024]x[1024,3072] + bias, attention output [T,1024]x[1024,1024] +
 *    bias, at T = 64 x 384 tokens (and --tokens more). The GEMM time is the layer's own time from the per-layer
 *    CUDA-event profile (the fp32<->fp16 conversions at the engine's fp32 input and output excluded); the whole
 *    engine is also timed through enqueue on device buffers.
 * 2. BERT-large from ONNX (the pruned export), FP16, dense vs sparseWeights, GPU-only enqueue times at batch 64 and
 *    8 (seq 384), which layers went sparse, both builds' times, output agreement. --pruning-cost also builds the
 *    unpruned export dense and reports how far pruning (without fine-tuning) moves the output. --approximate-gelu
 *    also builds both with approximateGelu (tanh GELU fused into the dense FFN-in GEMM) and times them at batch 64.
 *
 * 3. INT8 (at T = 64 x 384 tokens, unless --no-int8): each GEMM of 1. as an fp16 + int8 engine (QuantizeLinear ->
 *    QuantizedMatMul with the bias and GELU in its epilogue; min-max calibrated on the input), dense (cuBLASLt's int8
 *    GEMM) vs 'force' sparse (cuSPARSELt's int8 GEMM), in each GEMM row's `int8` entry. Both sum the int8 products
 *    exactly, so the outputs must be identical. Its GEMM time is the engine's layers but the conversions, so the
 *    activations' QuantizeLinear is in it.
 *
 * Writes bench/results/gpu-sparse-<gpu>.json. Speedups are dense time / sparse time (> 1: sparse is faster).
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  Builder, MinMaxCalibrator, OnnxParser, cudaAvailable, cudaCompiled, cudaDevices, fromFloat16Bits, tensor, type BuilderConfig, type Engine,
  type EngineLayer, type NetworkDefinition, type Tensor, type TensorInput,
} from '../lib/index.js';
import { random } from './bert-network.js';
import { environment, round } from './environment.js';
import { buildAndLoad, readBaseline, timeEnqueue, writeResult } from './gpu-timing.js';
import { lcgFloats } from '../examples/seeded-random.js';
import { agreement } from '../examples/output-agreement.js';

const USAGE = `usage: npx tsx bench/gpu-sparse.ts [PYTORCH-SPARSE.json] [--bert-pruned PRUNED.onnx [--approximate-gelu]] [--bert DENSE.onnx --pruning-cost]
                                  [--tokens 24576,4096] [--no-gemms] [--no-int8] [--seconds 1]`;

/** What a sparseWeights build records per MatMul layer (engine.layers[i].sparsity). */
interface LayerSparsity {
  eligible: boolean;
  sparse: boolean;
  note?: string;
  denseMs?: number;
  sparseMs?: number;
}

function sparsityOf(layer: EngineLayer): LayerSparsity | undefined {
  return (layer as EngineLayer & { sparsity?: LayerSparsity }).sparsity;
}

interface GemmShape {
  name: string;
  k: number;
  n: number;
  gelu: boolean;
  what: string;
}

/** BERT-large's encoder GEMMs (hidden 1024, intermediate 4096); the names match bench/pytorch/baselines.py sparse. */
const SHAPES: GemmShape[] = [
  { name: 'ffn_in', k: 1024, n: 4096, gelu: true, what: 'FFN in: [T,1024]x[1024,4096] + bias, GELU' },
  { name: 'ffn_out', k: 4096, n: 1024, gelu: false, what: 'FFN out: [T,4096]x[4096,1024] + bias' },
  { name: 'qkv', k: 1024, n: 3072, gelu: false, what: 'QKV: [T,1024]x[1024,3072] + bias' },
  { name: 'attn_out', k: 1024, n: 1024, gelu: false, what: 'attention output: [T,1024]x[1024,1024] + bias' },
];

const SEQ = 384;
/** The token count of the INT8 column. */
const INT8_TOKENS = 64 * SEQ;
const BERT_BATCHES = [64, 8];
const CONVERSION = 'fp32<->fp16 conversion';

/** Three decimals (GEMM times are fractions of a millisecond). */
function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Keeps the two largest |w| of every four consecutive k in each column of a row-major [k, n] weight (in place). */
function prune24(w: Float32Array, k: number, n: number): Float32Array {
  for (let g = 0; g < k; g += 4) {
    for (let col = 0; col < n; col++) {
      const base = g * n + col;
      // The group's largest and second largest magnitude (first index wins ties); the other two become 0.
      let first = 0, second = -1;
      for (let i = 1; i < 4; i++) {
        const m = Math.abs(w[base + i * n]!);
        if (m > Math.abs(w[base + first * n]!)) {
          second = first;
          first = i;
        } else if (second < 0 || m > Math.abs(w[base + second * n]!)) {
          second = i;
        }
      }
      for (let i = 0; i < 4; i++) if (i !== first && i !== second) w[base + i * n] = 0;
    }
  }
  return w;
}

function asFloat32(t: Tensor | undefined): Float32Array {
  if (!t) throw new Error('the engine returned no output');
  if (t.data instanceof Float32Array) return t.data;
  if (t.data instanceof Uint16Array) return fromFloat16Bits(t.data);
  throw new Error(`unexpected output dtype ${t.dtype}`);
}

/** The engine's output `last_hidden_state`, else its first. */
function mainOutput(outputs: Record<string, Tensor>): Float32Array {
  return asFloat32(outputs.last_hidden_state ?? Object.values(outputs)[0]);
}

/**
 * GPU time per run by layer kind from the per-layer CUDA-event profile: `warmup` runs first (not counted; the
 * first keeps its outputs), then `runs` counted ones. Returned with the first run's outputs.
 */
async function profiledRuns(engine: Engine, feeds: Record<string, TensorInput>, warmup: number, runs: number): Promise<{ msByKind: Record<string, number>; outputs: Record<string, Tensor> }> {
  using ctx = engine.createContext({ profileLayers: true });
  const outputs = await ctx.infer(feeds);
  for (let i = 1; i < warmup; i++) await ctx.infer(feeds);
  const before = ctx.layerTimes();
  const base = { ...before.msByKind };
  for (let i = 0; i < runs; i++) await ctx.infer(feeds);
  const after = ctx.layerTimes();
  const counted = after.runs - before.runs;
  const msByKind = Object.fromEntries(Object.entries(after.msByKind).map(([kind, ms]) => [kind, round3((ms - (base[kind] ?? 0)) / counted)]));
  return { msByKind, outputs };
}

/** The engine's MatMul (and INT8 QuantizedMatMul) layers with their sparsity records and tactics. */
function matmulLayers(engine: Engine): Array<{ name: string; precision: string; tactic?: string; sparsity?: LayerSparsity }> {
  return engine.layers.filter((l) => l.kind === 'MatMul' || l.kind === 'QuantizedMatMul').map((l) => ({ name: l.name, precision: l.precision, tactic: l.tactic, sparsity: sparsityOf(l) }));
}

function describeSparsity(s: LayerSparsity | undefined): string {
  if (!s) return 'no sparsity record';
  const timed = s.denseMs || s.sparseMs ? `, build timed dense ${s.denseMs ?? '-'} ms / sparse ${s.sparseMs ?? '-'} ms` : '';
  return `${s.sparse ? 'SPARSE' : 'dense'} (eligible ${s.eligible}${s.note ? `: ${s.note}` : ''}${timed})`;
}

type Baseline = Record<string, unknown> | null;

function ptGemm(baseline: Baseline, tokens: number, shape: string): Record<string, number | string> | undefined {
  return (baseline?.gemms as Record<string, Record<string, Record<string, number | string>>> | undefined)?.[String(tokens)]?.[shape];
}

function num(x: unknown): number | undefined {
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
}

function defineGemm(net: NetworkDefinition, shape: GemmShape, tokens: number, weight: Float32Array, bias: Float32Array): void {
  const x = net.addInput('x', 'float32', [tokens, shape.k]);
  const w = net.addConstant([shape.k, shape.n], weight, { name: `${shape.name}.weight` });
  let y = net.addMatrixMultiply(x, w, { name: `${shape.name}.matmul` }).output();
  y = net.addElementWise(y, net.addConstant([shape.n], bias, { name: `${shape.name}.bias` }), 'add', { name: `${shape.name}.bias_add` }).output();
  if (shape.gelu) y = net.addActivation(y, 'gelu', { name: `${shape.name}.gelu` }).output();
  net.markOutput(y, 'y');
}

/** The first engine measured also warms the GPU up (clocks, lazily loaded kernels): it gets longer warm-up runs. */
let gpuWarm = false;

/** One engine of a GEMM pair: built, timed (layer profile and enqueue), its output kept for the comparison. */
async function measureGemmEngine(label: string, builder: Builder, net: NetworkDefinition, config: BuilderConfig, x: Float32Array, shape: GemmShape, tokens: number, seconds: number) {
  console.log(`${label}: building`);
  const built = await buildAndLoad(builder, net, config);
  using engine = built.engine;
  const feeds = { x: { data: x, shape: [tokens, shape.k] } };
  const profile = await profiledRuns(engine, feeds, gpuWarm ? 2 : 30, 6);
  gpuWarm = true;
  const layerMs = Object.entries(profile.msByKind).filter(([k]) => k !== CONVERSION).reduce((a, [, ms]) => a + ms, 0);
  using ctx = engine.createContext();
  const enqueue = await timeEnqueue(`${label} enqueue`, engine, ctx, { x: { dtype: 'float32', shape: [tokens, shape.k], data: x } }, seconds);
  // Without a layer profile (it should always be there on CUDA) the whole engine's time stands in.
  const gemmMs = layerMs > 0 ? layerMs : enqueue.meanMs;
  const flops = 2 * tokens * shape.k * shape.n;
  const layers = matmulLayers(engine);
  return {
    row: {
      gemmMs: round3(gemmMs),
      gemmMsFrom: layerMs > 0 ? 'layer profile' : 'enqueue (no layer profile)',
      tflops: round(flops / gemmMs / 1e9),
      enqueueMeanMs: round3(enqueue.meanMs),
      enqueueP50Ms: round3(enqueue.p50Ms),
      profileMsByKind: profile.msByKind,
      buildMs: round(built.buildMs),
      loadMs: round(built.loadMs),
      layers: engine.layers.map((l) => `${l.kind}(${l.precision})`),
      tactic: layers[0]?.tactic ?? null,
      sparsity: layers[0]?.sparsity ?? null,
    },
    output: asFloat32(profile.outputs.y),
  };
}

/** A failure of one part, recorded instead of its figures so the rest of the run still reports. */
function failure(label: string, e: unknown): { error: string } {
  const error = e instanceof Error ? e.message : String(e);
  console.log(`!!! ${label} FAILED: ${error}`);
  return { error };
}

type GemmRun = Awaited<ReturnType<typeof measureGemmEngine>>;

/** How many elements of two outputs differ in their bits (the INT8 engines' outputs must not differ at all). */
function bitMismatches(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length), y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let count = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) count++;
  return count;
}

/** The INT8 column of one GEMM shape: fp16 + int8 engines of the same network, dense vs 'force' sparse. */
async function int8Pair(builder: Builder, net: NetworkDefinition, shape: GemmShape, tokens: number, x: Float32Array, seconds: number): Promise<Record<string, unknown>> {
  const label = `gemm T=${tokens} ${shape.name} int8`;
  // One calibrator for both builds: it keeps the scales of its first run, so both engines quantize alike.
  const calibrator = new MinMaxCalibrator({ batches: [{ x: tensor(x, [tokens, shape.k]) }] });
  const measure = async (sparseWeights: false | 'force'): Promise<GemmRun | { error: string }> => {
    const what = `${label} ${sparseWeights ? 'sparse' : 'dense'}`;
    try {
      const config = builder.createConfig({ precision: ['fp16', 'int8'], int8Calibrator: calibrator, sparseWeights });
      return await measureGemmEngine(what, builder, net, config, x, shape, tokens, seconds);
    } catch (e) {
      return failure(what, e);
    }
  };
  const dense = await measure(false);
  const sparse = await measure('force');
  const row: Record<string, unknown> = { precision: ['fp16', 'int8'], dense: 'row' in dense ? dense.row : dense, sparse: 'row' in sparse ? sparse.row : sparse };
  if (!('row' in dense) || !('row' in sparse)) {
    console.log(`${label}: not compared (a build or run failed)`);
    return row;
  }
  const mismatches = bitMismatches(dense.output, sparse.output);
  row.sparseSpeedup = round(dense.row.gemmMs / sparse.row.gemmMs);
  row.enqueueSparseSpeedup = round(dense.row.enqueueMeanMs / sparse.row.enqueueMeanMs);
  row.check = { bitMismatches: mismatches, ok: mismatches === 0 };
  if (mismatches) console.log(`!!! ${label}: CHECK FAILED: ${mismatches} output elements of the dense and sparse INT8 engines differ`);
  console.log(`${label}: dense ${dense.row.gemmMs} ms (${dense.row.tflops} TOP/s), sparse ${sparse.row.gemmMs} ms (${sparse.row.tflops} dense-equivalent TOP/s), `
    + `speedup ${String(row.sparseSpeedup)}x; enqueue ${dense.row.enqueueMeanMs} / ${sparse.row.enqueueMeanMs} ms; layer ${describeSparsity(sparse.row.sparsity ?? undefined)}; `
    + `outputs ${mismatches ? 'DIFFER' : 'identical'}`);
  return row;
}

/** The dense and the sparseWeights engine of one GEMM shape, compared; PyTorch's figures next to them. */
async function gemmPair(builder: Builder, shape: GemmShape, tokens: number, x: Float32Array, w: Float32Array, b: Float32Array, baseline: Baseline, seconds: number, withInt8: boolean): Promise<Record<string, unknown>> {
  const label = `gemm T=${tokens} ${shape.name}`;
  using net = builder.createNetwork();
  defineGemm(net, shape, tokens, w, b);
  // 'force': the sparse kernel itself is measured, whichever the build would keep (its record says that too).
  const measure = async (sparseWeights: false | 'force'): Promise<GemmRun | { error: string }> => {
    const what = `${label} ${sparseWeights ? 'sparse' : 'dense'}`;
    try {
      return await measureGemmEngine(what, builder, net, builder.createConfig({ precision: ['fp16'], sparseWeights }), x, shape, tokens, seconds);
    } catch (e) {
      return failure(what, e);
    }
  };
  const dense = await measure(false);
  const sparse = await measure('force');
  const row: Record<string, unknown> = {
    what: shape.what,
    tokens,
    k: shape.k,
    n: shape.n,
    gflop: round((2 * tokens * shape.k * shape.n) / 1e9),
    dense: 'row' in dense ? dense.row : dense,
    sparse: 'row' in sparse ? sparse.row : sparse,
  };
  if (withInt8) row.int8 = await int8Pair(builder, net, shape, tokens, x, seconds);
  const pt = ptGemm(baseline, tokens, shape.name);
  const ptDense = num(pt?.dense_ms), ptSparse = num(pt?.sparse_ms);
  if (pt) row.pytorch = { ...pt, sparseSpeedup: ptDense && ptSparse ? round(ptDense / ptSparse) : null };
  const ptLine = pt ? `; PyTorch dense ${String(ptDense ?? '-')} ms, semi-structured sparse ${String(ptSparse ?? pt.sparse_error ?? '-')} ms` : '';
  if (!('row' in dense) || !('row' in sparse)) {
    console.log(`${label}: not compared (a build or run failed)${ptLine}`);
    return row;
  }
  const check = agreement(dense.output, sparse.output);
  // The same fp16-rounded weights on both sides: only accumulation order and output rounding differ.
  const ok = check.nonFinite === 0 && check.maxAbsDiff <= 1e-2 * Math.max(1, check.maxAbs);
  row.sparseSpeedup = round(dense.row.gemmMs / sparse.row.gemmMs);
  row.enqueueSparseSpeedup = round(dense.row.enqueueMeanMs / sparse.row.enqueueMeanMs);
  row.check = { maxAbsDiff: check.maxAbsDiff, maxAbsDense: check.maxAbs, cosine: check.cosine, nonFinite: check.nonFinite, ok };
  if (pt) row.vsPytorch = { dense: ptDense ? round(ptDense / dense.row.gemmMs) : null, sparse: ptSparse ? round(ptSparse / sparse.row.gemmMs) : null };
  if (!ok) console.log(`!!! ${label}: CHECK FAILED: dense and sparse outputs differ by ${check.maxAbsDiff} (max |dense| ${check.maxAbs}, non-finite ${check.nonFinite})`);
  console.log(`${label}: dense ${dense.row.gemmMs} ms (${dense.row.tflops} TFLOP/s), sparse ${sparse.row.gemmMs} ms (${sparse.row.tflops} dense-equivalent TFLOP/s), `
    + `speedup ${String(row.sparseSpeedup)}x; enqueue ${dense.row.enqueueMeanMs} / ${sparse.row.enqueueMeanMs} ms; layer ${describeSparsity(sparse.row.sparsity ?? undefined)}; `
    + `max abs diff ${check.maxAbsDiff.toExponential(2)} ${ok ? 'ok' : 'FAILED'}${ptLine}`);
  return row;
}

async function gemmSection(tokensList: number[], baseline: Baseline, seconds: number, withInt8: boolean): Promise<Record<string, Record<string, unknown>>> {
  const builder = new Builder({ backend: 'cuda' });
  const results: Record<string, Record<string, unknown>> = {};
  const weights = new Map<string, { w: Float32Array; b: Float32Array }>();
  SHAPES.forEach((s, i) => {
    const next = random(7000 + i);
    const w = prune24(Float32Array.from({ length: s.k * s.n }, () => next()), s.k, s.n);
    weights.set(s.name, { w, b: Float32Array.from({ length: s.n }, () => next()) });
  });
  for (const tokens of tokensList) {
    const rows: Record<string, unknown> = {};
    const inputs = new Map<number, Float32Array>();
    for (const shape of SHAPES) {
      if (!inputs.has(shape.k)) inputs.set(shape.k, lcgFloats(tokens * shape.k, 11 + shape.k));
      const { w, b } = weights.get(shape.name)!;
      rows[shape.name] = await gemmPair(builder, shape, tokens, inputs.get(shape.k)!, w, b, baseline, seconds, withInt8 && tokens === INT8_TOKENS);
    }
    results[tokens] = rows;
  }
  return results;
}

/** Which BERT GEMM a layer is, from its name (ONNX export node names or bench/bert-network.ts names). */
function gemmRole(name: string): string {
  if (/query|key|value|qkv/i.test(name)) return 'qkv';
  if (/attention.?output|attention\/output/i.test(name)) return 'attn_out';
  if (/intermediate/i.test(name)) return 'ffn_in';
  if (/output/i.test(name)) return 'ffn_out';
  return 'other';
}

function bertFeeds(inputNames: string[], batch: number): Record<string, BigInt64Array> {
  const n = batch * SEQ;
  return Object.fromEntries(inputNames.map((name) => {
    if (/mask/i.test(name)) return [name, new BigInt64Array(n).fill(1n)];
    if (/token_type/i.test(name)) return [name, new BigInt64Array(n)];
    return [name, BigInt64Array.from({ length: n }, (_, i) => BigInt((i * 7919) % 30522))];
  }));
}

async function parseOnnx(builder: Builder, file: string): Promise<{ net: NetworkDefinition; inputs: string[]; parseMs: number }> {
  const net = builder.createNetwork();
  const start = performance.now();
  let shown = 0;
  const parsed = await OnnxParser.parseFile(net, file, {
    onProgress: (p) => {
      if (p.done - shown >= 200 || p.done === p.total) {
        shown = p.done;
        process.stderr.write(`\rparsing ${file}: ${p.done}/${p.total} nodes`);
      }
    },
  });
  process.stderr.write('\n');
  const parseMs = performance.now() - start;
  console.log(`parsed ${file} in ${round(parseMs / 1000)} s: inputs ${parsed.inputs.join(', ')}, outputs ${parsed.outputs.join(', ')}`);
  return { net, inputs: parsed.inputs, parseMs };
}

function bertConfig(builder: Builder, inputs: string[], sparseWeights: boolean, approximateGelu = false): BuilderConfig {
  const range = { min: [1, SEQ], opt: [64, SEQ], max: [64, SEQ] };
  return builder.createConfig({ precision: ['fp16'], sparseWeights, approximateGelu, profiles: [Object.fromEntries(inputs.map((name) => [name, range]))] });
}

/** Sparsity verdicts of a BERT engine's MatMul layers, counted per GEMM role. */
function sparsitySummary(engine: Engine): Record<string, unknown> {
  const layers = matmulLayers(engine).filter((l) => l.sparsity);
  const byRole: Record<string, { layers: number; eligible: number; sparse: number }> = {};
  const notes: Record<string, number> = {};
  for (const l of layers) {
    const role = (byRole[gemmRole(l.name)] ??= { layers: 0, eligible: 0, sparse: 0 });
    role.layers++;
    if (l.sparsity!.eligible) role.eligible++;
    if (l.sparsity!.sparse) role.sparse++;
    if (!l.sparsity!.sparse && l.sparsity!.note) {
      // Group notes that differ only in their numbers.
      const key = l.sparsity!.note.replace(/[\d.]+/g, '#');
      notes[key] = (notes[key] ?? 0) + 1;
    }
  }
  return {
    withRecord: layers.length,
    eligible: layers.filter((l) => l.sparsity!.eligible).length,
    sparse: layers.filter((l) => l.sparsity!.sparse).length,
    byRole,
    denseNotes: notes,
    // Build-time timings of the first sparse-eligible layer of each role (the roles repeat 24 times).
    firstOfRole: Object.fromEntries(Object.keys(byRole).map((role) => {
      const l = layers.find((x) => gemmRole(x.name) === role && x.sparsity!.eligible);
      return [role, l ? { name: l.name, ...l.sparsity } : null];
    })),
  };
}

interface BertTiming {
  enqueueMeanMs: number;
  enqueueP50Ms: number;
  seqPerS: number;
  profileMsByKind: Record<string, number>;
}

/** GPU-only enqueue time of one engine at one batch, its layer-kind profile, and its output (first output). */
async function timeBert(label: string, engine: Engine, data: Record<string, BigInt64Array>, batch: number, seconds: number): Promise<{ timing: BertTiming; output: Float32Array }> {
  const shape = [batch, SEQ];
  using ctx = engine.createContext();
  const device = Object.fromEntries(Object.entries(data).map(([name, d]) => [name, { dtype: 'int64' as const, shape, data: d }]));
  const t = await timeEnqueue(`${label} enqueue`, engine, ctx, device, seconds);
  const profile = await profiledRuns(engine, Object.fromEntries(Object.entries(data).map(([name, d]) => [name, { data: d, shape }])), 2, 3);
  return {
    timing: { enqueueMeanMs: round3(t.meanMs), enqueueP50Ms: round3(t.p50Ms), seqPerS: round((batch / t.meanMs) * 1e3), profileMsByKind: profile.msByKind },
    output: mainOutput(profile.outputs),
  };
}

function bertRow(batch: number, dense: { timing: BertTiming; output: Float32Array }, sparse: { timing: BertTiming; output: Float32Array }, baseline: Baseline, variant = ''): Record<string, unknown> {
  const d = dense.timing, s = sparse.timing;
  const dm = num(d.profileMsByKind.MatMul), sm = num(s.profileMsByKind.MatMul);
  const check = agreement(dense.output, sparse.output);
  const row: Record<string, unknown> = {
    dense: d,
    sparse: s,
    sparseSpeedup: round(d.enqueueMeanMs / s.enqueueMeanMs),
    matmulLayersMs: { dense: dm ?? null, sparse: sm ?? null, speedup: dm && sm ? round(dm / sm) : null },
    // Same pruned weights; fp16 rounding differs only inside the GEMMs, so the 24 layers should stay very close.
    check: { ...check, ok: check.nonFinite === 0 && check.cosine > 0.999 },
  };
  const pt = baseline?.bert as Record<string, unknown> | undefined;
  let ptLine = '';
  if (pt && pt.batch === batch) {
    const ptDense = num(pt.dense_ms), ptSparse = num(pt.sparse_ms);
    row.pytorch = { denseMs: ptDense ?? null, sparseMs: ptSparse ?? null, sparseError: pt.sparse_error ?? null, sparseSpeedup: ptDense && ptSparse ? round(ptDense / ptSparse) : null };
    row.vsPytorch = { dense: ptDense ? round(ptDense / d.enqueueMeanMs) : null, sparse: ptSparse ? round(ptSparse / s.enqueueMeanMs) : null };
    ptLine = `; PyTorch dense ${String(ptDense ?? '-')} ms, semi-structured sparse ${String(ptSparse ?? pt.sparse_error ?? '-')} ms`;
  }
  const label = `bert batch ${batch}${variant}`;
  if (!check.nonFinite && check.cosine <= 0.999) console.log(`!!! ${label}: CHECK FAILED: dense vs sparse engine outputs: ${JSON.stringify(check)}`);
  if (check.nonFinite) console.log(`!!! ${label}: CHECK FAILED: ${check.nonFinite} non-finite output values`);
  console.log(`${label}: dense ${d.enqueueMeanMs} ms, sparse ${s.enqueueMeanMs} ms, speedup ${String(row.sparseSpeedup)}x; MatMul layers ${JSON.stringify(row.matmulLayersMs)}; `
    + `outputs: max abs diff ${check.maxAbsDiff.toExponential(2)}, cosine ${check.cosine.toFixed(6)}${ptLine}`);
  return row;
}

/** How far pruning (without fine-tuning) moves BERT's output: the unpruned export built dense, same inputs. */
async function pruningCost(builder: Builder, denseFile: string, prunedOutput: Float32Array): Promise<Record<string, unknown>> {
  const unpruned = await parseOnnx(builder, denseFile);
  console.log('bert unpruned, dense build: building');
  let built;
  try {
    built = await buildAndLoad(builder, unpruned.net, bertConfig(builder, unpruned.inputs, false));
  } finally {
    unpruned.net.dispose();
  }
  using engine = built.engine;
  using ctx = engine.createContext();
  const data = bertFeeds(unpruned.inputs, 64);
  const out = await ctx.infer(Object.fromEntries(Object.entries(data).map(([name, d]) => [name, { data: d, shape: [64, SEQ] }])));
  const check = agreement(mainOutput(out), prunedOutput);
  console.log(`bert pruning cost (no fine-tuning): cosine ${check.cosine.toFixed(6)}, max abs diff ${check.maxAbsDiff.toExponential(2)}`);
  return { what: 'unpruned export vs pruned export, both dense FP16 engines, batch 64', ...check, buildMs: round(built.buildMs) };
}

async function bertSection(prunedFile: string, denseFile: string | undefined, withPruningCost: boolean, withTanh: boolean, baseline: Baseline, seconds: number): Promise<Record<string, unknown>> {
  const builder = new Builder({ backend: 'cuda' });
  const parsed = await parseOnnx(builder, prunedFile);
  let dense, sparse, denseTanh, sparseTanh;
  try {
    console.log('bert pruned, dense build (sparseWeights false): building');
    dense = await buildAndLoad(builder, parsed.net, bertConfig(builder, parsed.inputs, false));
    console.log(`bert dense build: ${round(dense.buildMs / 1000)} s, load ${round(dense.loadMs / 1000)} s`);
    console.log('bert pruned, sparseWeights build: building');
    sparse = await buildAndLoad(builder, parsed.net, bertConfig(builder, parsed.inputs, true));
    console.log(`bert sparseWeights build: ${round(sparse.buildMs / 1000)} s, load ${round(sparse.loadMs / 1000)} s`);
    if (withTanh) {
      console.log('bert pruned, approximateGelu builds (dense, sparseWeights): building');
      denseTanh = await buildAndLoad(builder, parsed.net, bertConfig(builder, parsed.inputs, false, true));
      sparseTanh = await buildAndLoad(builder, parsed.net, bertConfig(builder, parsed.inputs, true, true));
      console.log(`bert approximateGelu builds: dense ${round(denseTanh.buildMs / 1000)} s, sparseWeights ${round(sparseTanh.buildMs / 1000)} s`);
    }
  } finally {
    parsed.net.dispose();
  }
  using denseEngine = dense.engine;
  using sparseEngine = sparse.engine;
  using denseTanhEngine = denseTanh?.engine;
  using sparseTanhEngine = sparseTanh?.engine;
  const summary = sparsitySummary(sparseEngine);
  console.log(`bert sparsity: ${JSON.stringify(summary)}`);
  const batches: Record<string, unknown> = {};
  let prunedOutput: Float32Array | undefined;
  for (const batch of BERT_BATCHES) {
    const data = bertFeeds(parsed.inputs, batch);
    const d = await timeBert(`bert batch ${batch} dense`, denseEngine, data, batch, seconds);
    const s = await timeBert(`bert batch ${batch} sparseWeights`, sparseEngine, data, batch, seconds);
    batches[batch] = bertRow(batch, d, s, baseline);
    if (batch === 64) prunedOutput = d.output;
  }
  // approximateGelu: dense fuses tanh GELU into cuBLASLt's epilogue, so its FFN-in GEMM gets faster while the sparse
  // one still needs a GELU pass; the build's timing counts that pass. Batch 64 only.
  let tanh: Record<string, unknown> | string = 'not measured (pass --approximate-gelu)';
  if (denseTanhEngine && sparseTanhEngine && denseTanh && sparseTanh) {
    const summaryTanh = sparsitySummary(sparseTanhEngine);
    console.log(`bert approximateGelu sparsity: ${JSON.stringify(summaryTanh)}`);
    const data = bertFeeds(parsed.inputs, 64);
    const d = await timeBert('bert batch 64 dense approximateGelu', denseTanhEngine, data, 64, seconds);
    const s = await timeBert('bert batch 64 sparseWeights approximateGelu', sparseTanhEngine, data, 64, seconds);
    tanh = {
      builds: { denseMs: round(denseTanh.buildMs), sparseMs: round(sparseTanh.buildMs) },
      sparsity: summaryTanh,
      batch64: bertRow(64, d, s, null, ' approximateGelu'),
    };
  }
  let cost: Record<string, unknown> | string = 'not measured (pass --bert DENSE.onnx --pruning-cost)';
  if (withPruningCost && denseFile && prunedOutput) {
    try {
      cost = await pruningCost(builder, denseFile, prunedOutput);
    } catch (e) {
      cost = failure('bert pruning cost', e);
    }
  }
  return {
    model: prunedFile,
    parseMs: round(parsed.parseMs),
    config: { precision: ['fp16'], profile: { min: [1, SEQ], opt: [64, SEQ], max: [64, SEQ] } },
    denseBuild: { buildMs: round(dense.buildMs), loadMs: round(dense.loadMs), engineDeviceBytes: denseEngine.deviceMemorySize },
    sparseBuild: { buildMs: round(sparse.buildMs), loadMs: round(sparse.loadMs), engineDeviceBytes: sparseEngine.deviceMemorySize },
    layersOnCpu: sparseEngine.layers.filter((l) => l.runsOn !== 'cuda').map((l) => `${l.kind}: ${l.fallbackReason ?? ''}`),
    sparsity: summary,
    batches,
    approximateGelu: tanh,
    pruningCost: cost,
  };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      bert: { type: 'string' },
      'bert-pruned': { type: 'string' },
      'pruning-cost': { type: 'boolean', default: false },
      'approximate-gelu': { type: 'boolean', default: false },
      tokens: { type: 'string', default: `${64 * SEQ},4096` },
      'no-gemms': { type: 'boolean', default: false },
      'no-int8': { type: 'boolean', default: false },
      seconds: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!cudaAvailable()) {
    console.error(`gpu-sparse: needs the CUDA backend: ${cudaCompiled() ? 'no CUDA device is visible' : 'this addon was built without CUDA'}\n${USAGE}`);
    process.exit(2);
  }
  let baselineFile = positionals.find((a) => a.endsWith('.json'));
  if (baselineFile && !existsSync(baselineFile)) {
    console.log(`!!! PyTorch baseline ${baselineFile} not found (did baselines.py sparse fail?); measuring without it`);
    baselineFile = undefined;
  }
  const baseline = readBaseline(baselineFile);
  const tokens = values.tokens.split(',').map(Number);
  const seconds = Number(values.seconds);
  if (tokens.some((t) => !Number.isInteger(t) || t <= 0) || !(seconds > 0)) throw new Error(`bad --tokens or --seconds\n${USAGE}`);
  console.log(`gpu-sparse on ${cudaDevices()[0]?.name ?? '?'}; PyTorch baseline: ${baselineFile ?? 'none'}`);
  const gemms = values['no-gemms'] ? 'not measured (--no-gemms)' : await gemmSection(tokens, baseline, seconds, !values['no-int8']);
  let bert: Record<string, unknown> | string = 'not measured (pass --bert-pruned PRUNED.onnx)';
  if (values['bert-pruned']) {
    try {
      bert = await bertSection(values['bert-pruned'], values.bert, values['pruning-cost'], values['approximate-gelu'], baseline, Math.max(seconds, 2));
    } catch (e) {
      bert = failure('bert', e);
    }
  }
  const result = {
    ...environment(),
    workload: '2:4 structured sparsity, FP16: BERT-large GEMMs (seeded random weights pruned 2:4 along K) and BERT-large from ONNX pruned with inferrt prune, dense (sparseWeights false) vs sparseWeights true',
    metric: 'GEMMs: layer time from the per-layer CUDA-event profile (ms), dense-equivalent TFLOP/s = 2·T·K·N / time; BERT: GPU-only enqueue time (ms). speedup = dense / sparse',
    gemms,
    bert,
    baseline: baseline ?? 'not measured (pass the JSON of bench/pytorch/baselines.py sparse)',
    goals: { ffnGemms: 'sparse >= 1.3x our dense (ffn_in, ffn_out)', bertLarge: 'sparse >= 1.15x our dense end to end', issueReference: "the issue's figure: PyTorch semi-structured sparse at 0.29x its dense on the FFN GEMM (H100); this run's PyTorch ratios are in gemms" },
  };
  console.log(`wrote ${writeResult('gpu-sparse', result)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
