/**
 * `npm run example:bert [-- options]`: variable-length BERT, packed vs padded. Builds two engines from one BERT
 * ONNX export (exported here by scripts/export_bert.py unless --onnx is given): a padded one (each batch padded to
 * its longest request, attention_mask marking the real tokens) and a packed one (the builder's packedSequences
 * rewrite: no padding, cu_seqlens says where each request starts). Runs the standard mix (request lengths uniform
 * in [64, 384], seeded) through both, checks every request's packed output rows against its padded ones, and prints
 * throughput and per-batch latency of each. Run with --help for the options.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Builder, OnnxParser, Runtime, type Backend, type BuilderConfigOptions, type Engine, type ExecutionContext, type Precision, type Tensor,
} from '../../lib/index.js';
import { floatValues, packedBuildOptions, packedOrWhy, packedFeeds, paddedBuildOptions, paddedFeeds, type EngineShape } from './bert-engines.js';
import { compareSequences, worstAgreement, type SequenceAgreement } from './sequence-agreement.js';
import { STANDARD_MIX, packBatch, padBatch, standardMix, tokenCount } from './standard-mix.js';
import { summarize, type RunSummary } from './throughput.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const exportScript = path.join(here, '../../scripts/export_bert.py');
/** A packed request's rows must agree with its padded rows at least this well (cosine) to pass. */
const MIN_COSINE = 0.999;

const HELP = `npm run example:bert -- [options]
  --onnx PATH          a BERT ONNX export (HF BertModel: input_ids, attention_mask, token_type_ids [batch, sequence];
                       outputs last_hidden_state and pooler_output). Default: export one with
                       python3 scripts/export_bert.py (needs torch and transformers) into ${path.join(os.tmpdir(), 'inferrt-bert')}
  --size large|base|tiny  the model to export (default large: BERT-large, meant for the GPU; use tiny on the CPU)
  --layers N           encoder layers of the export (default: the size's)
  --batches N          batches of the mix to run (default 10; on the CPU 2)
  --batch N            requests per batch (default 64; on the CPU 8)
  --repeats N          timed runs of each batch after its untimed first run (default 3; on the CPU 1)
  --backend auto|cuda|cpu   (default auto)
  --precision fp16|fp32     (default fp16 on the GPU, fp32 on the CPU)
  --gelu exact|tanh    tanh: build both engines with approximateGelu (GELU in cuBLASLt's GEMM epilogue; default exact)
  --lengths MIN-MAX    request lengths (default ${STANDARD_MIX.minLength}-${STANDARD_MIX.maxLength}: the standard mix); for models with fewer positions
  --token-ids LO-HI    token ids drawn from [LO, HI) (default ${STANDARD_MIX.firstTokenId}-${STANDARD_MIX.endTokenId}); for models with a smaller vocabulary
Example on the CPU: npm run example:bert -- --size tiny`;

interface Options {
  onnx?: string;
  size: string;
  layers?: number;
  batches?: number;
  batch?: number;
  repeats?: number;
  backend: Backend | 'auto';
  precision?: Precision[];
  approximateGelu: boolean;
  lengths: [number, number];
  tokenIds: [number, number];
}

function parseArgs(argv: string[]): Options {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      console.log(HELP);
      process.exit(0);
    }
    if (!a.startsWith('--') || argv[i + 1] === undefined) throw new Error(`unexpected argument '${a}'\n${HELP}`);
    values.set(a.slice(2), argv[++i]!);
  }
  const take = (name: string): string | undefined => {
    const v = values.get(name);
    values.delete(name);
    return v;
  };
  const int = (name: string): number | undefined => {
    const v = take(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be an integer >= 1, got '${v}'`);
    return n;
  };
  const pair = (name: string, fallback: [number, number]): [number, number] => {
    const v = take(name);
    if (v === undefined) return fallback;
    const m = /^(\d+)-(\d+)$/.exec(v);
    if (!m) throw new Error(`--${name} must be MIN-MAX, got '${v}'`);
    return [Number(m[1]), Number(m[2])];
  };
  const size = take('size') ?? 'large';
  if (!['large', 'base', 'tiny'].includes(size)) throw new Error(`--size must be large, base or tiny, got '${size}'`);
  const backend = take('backend') ?? 'auto';
  if (!['auto', 'cuda', 'cpu'].includes(backend)) throw new Error(`--backend must be auto, cuda or cpu, got '${backend}'`);
  const precision = take('precision');
  if (precision !== undefined && precision !== 'fp16' && precision !== 'fp32') throw new Error(`--precision must be fp16 or fp32, got '${precision}'`);
  const gelu = take('gelu') ?? 'exact';
  if (gelu !== 'exact' && gelu !== 'tanh') throw new Error(`--gelu must be exact or tanh, got '${gelu}'`);
  const options: Options = {
    onnx: take('onnx'),
    size,
    layers: int('layers'),
    batches: int('batches'),
    batch: int('batch'),
    repeats: int('repeats'),
    backend: backend as Backend | 'auto',
    precision: precision === undefined ? undefined : precision === 'fp16' ? ['fp16'] : [],
    approximateGelu: gelu === 'tanh',
    lengths: pair('lengths', [STANDARD_MIX.minLength, STANDARD_MIX.maxLength]),
    tokenIds: pair('token-ids', [STANDARD_MIX.firstTokenId, STANDARD_MIX.endTokenId]),
  };
  if (values.size > 0) throw new Error(`unknown option${values.size > 1 ? 's' : ''} ${[...values.keys()].map((k) => `--${k}`).join(', ')}\n${HELP}`);
  return options;
}

/** The ONNX file: --onnx, or an export by scripts/export_bert.py (kept in the temp dir and reused next time). */
function onnxFile(o: Options): string {
  if (o.onnx) {
    if (!fs.existsSync(o.onnx)) throw new Error(`--onnx: no such file '${o.onnx}'`);
    return o.onnx;
  }
  const file = path.join(os.tmpdir(), 'inferrt-bert', `bert-${o.size}${o.layers ? `-${o.layers}layers` : ''}-seed0.onnx`);
  if (fs.existsSync(file)) {
    console.log(`model: ${file} (exported earlier; delete it to export again)`);
    return file;
  }
  const check = spawnSync('python3', ['-c', 'import torch, transformers'], { encoding: 'utf8' });
  if (check.error || check.status !== 0) {
    const why = check.error ? `python3 could not be run (${check.error.message})` : `python3 cannot import torch and transformers (${check.stderr.trim().split('\n').pop()})`;
    throw new Error(`exporting BERT needs python3 with torch and transformers: ${why}.\nInstall them, or pass an existing export with --onnx PATH.`);
  }
  const args = [exportScript, file, '--size', o.size, ...(o.layers ? ['--layers', String(o.layers)] : [])];
  const run = spawnSync('python3', args, { stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`python3 ${args.join(' ')} failed (exit ${run.status ?? run.signal}); pass an existing export with --onnx PATH`);
  return file;
}

/** Parses `bytes` and builds an engine with `options`, showing progress; returns it with the build log. */
async function build(label: string, bytes: Uint8Array, backend: Backend | 'auto', options: (inputs: readonly string[]) => BuilderConfigOptions): Promise<{ engine: Engine; log: readonly string[] }> {
  const builder = new Builder({ backend });
  using network = builder.createNetwork();
  process.stdout.write(`${label}: parsing the ONNX model`);
  const parsed = OnnxParser.parse(network, bytes);
  const start = performance.now();
  const plan = await builder.build(network, builder.createConfig(options(parsed.inputs)), {
    onProgress: (p) => process.stdout.write(`\r${label}: building ${p.stage.padEnd(10)} ${String(Math.round(p.fraction * 100)).padStart(3)}%  `),
  });
  process.stdout.write(`\r${label}: built in ${((performance.now() - start) / 1000).toFixed(1)} s${' '.repeat(20)}\n`);
  return { engine: await Runtime.load(plan), log: plan.buildLog };
}

/** Runs `feeds` once untimed (kept for the check), then `repeats` times timed; returns the outputs and mean ms. */
async function runBatch(ctx: ExecutionContext, feeds: Record<string, Tensor>, repeats: number): Promise<{ out: Record<string, Tensor>; ms: number }> {
  const out = await ctx.infer(feeds);
  const start = performance.now();
  for (let i = 0; i < repeats; i++) await ctx.infer(feeds);
  return { out, ms: (performance.now() - start) / repeats };
}

/** The packed engine, or why there is none (the option is unknown to this inferrt, or the network was not recognized). */
async function buildPacked(bytes: Uint8Array, backend: Backend, shape: EngineShape, optTokens: number): Promise<{ engine?: Engine; why?: string }> {
  const { built, why } = await packedOrWhy(async () => {
    const b = await build('packed engine', bytes, backend, () => packedBuildOptions(shape, optTokens)).catch((e: unknown) => {
      process.stdout.write('\n');  // ends the progress line the failed build left
      throw e;
    });
    for (const line of b.log) if (/packed|packing|cu_seqlens/i.test(line)) console.log(`  build: ${line}`);
    return b;
  });
  return built ? { engine: built.engine } : { why };
}

function printSummary(label: string, s: RunSummary): void {
  const l = s.latencyMs;
  console.log(`${label.padEnd(8)} ${s.samplesPerS.toFixed(1).padStart(10)} ${s.tokensPerS.toFixed(0).padStart(12)} ${l.mean.toFixed(2).padStart(10)} ${l.p50.toFixed(2).padStart(10)} ${l.p99.toFixed(2).padStart(10)}`);
}

function describeAgreement(name: string, a: SequenceAgreement & { worstBatch: number }): string {
  return `${name}: max |diff| ${a.maxAbsDiff.toExponential(2)} (largest |value| ${a.maxAbs.toFixed(2)}), cosine ${a.cosine.toFixed(6)}, ` +
    `worst request cosine ${a.minSequenceCosine.toFixed(6)} (batch ${a.worstBatch}, request ${a.worstSequence})${a.nonFinite ? `, ${a.nonFinite} non-finite values` : ''}`;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const backend = new Builder({ backend: o.backend }).backend;
  const cpu = backend === 'cpu';
  if (cpu && !o.onnx && o.size !== 'tiny') console.log(`note: BERT-${o.size} on the CPU backend is slow; --size tiny is the CPU's size`);
  const run = { batches: o.batches ?? (cpu ? 2 : 10), batch: o.batch ?? (cpu ? 8 : 64), repeats: o.repeats ?? (cpu ? 1 : 3) };
  const bytes = fs.readFileSync(onnxFile(o));
  const shape: EngineShape = { maxBatch: run.batch, maxSeq: o.lengths[1], precision: o.precision ?? (cpu ? [] : ['fp16']), approximateGelu: o.approximateGelu };
  console.log(`backend ${backend}, precision ${shape.precision.length ? shape.precision.join('+') : 'fp32'}${o.approximateGelu ? ', tanh GELU' : ''}; ${run.batches} batches of ${run.batch} requests, lengths ${o.lengths.join('-')}`);
  const padded = await build('padded engine', bytes, backend, (inputs) => paddedBuildOptions(inputs, shape));
  using paddedEngine = padded.engine;
  using paddedCtx = paddedEngine.createContext();
  const built = await buildPacked(bytes, backend, shape, Math.round(run.batch * ((o.lengths[0] + o.lengths[1]) / 2)));
  using packedEngine = built.engine ?? null;
  using packedCtx = packedEngine?.createContext() ?? null;
  if (built.why) console.log(`packed engine: none, ${built.why}; running the padded engine alone`);

  const mix = standardMix({ batches: run.batches, batchSize: run.batch, minLength: o.lengths[0], maxLength: o.lengths[1], firstTokenId: o.tokenIds[0], endTokenId: o.tokenIds[1] });
  const times = { padded: [] as number[], packed: [] as number[] };
  const hidden: SequenceAgreement[] = [], pooled: SequenceAgreement[] = [];
  for (const [i, requests] of mix.entries()) {
    const p = padBatch(requests);
    const a = await runBatch(paddedCtx, paddedFeeds(paddedEngine, p), run.repeats);
    times.padded.push(a.ms);
    let line = `batch ${i + 1}/${mix.length}: ${requests.length} requests, ${tokenCount(requests)} tokens (padded ${p.shape[0]} x ${p.shape[1]} = ${p.shape[0] * p.shape[1]}): padded ${a.ms.toFixed(2)} ms`;
    if (packedEngine && packedCtx) {
      const k = packBatch(requests, o.lengths[1]);
      const b = await runBatch(packedCtx, packedFeeds(packedEngine, k), run.repeats);
      times.packed.push(b.ms);
      line += `, packed ${b.ms.toFixed(2)} ms`;
      const h = a.out.last_hidden_state!.shape.at(-1)!;
      hidden.push(compareSequences(floatValues(b.out.last_hidden_state!), k.cuSeqlens, floatValues(a.out.last_hidden_state!), p.shape[1], h));
      if (a.out.pooler_output && b.out.pooler_output) {
        const each = Int32Array.from({ length: requests.length + 1 }, (_, r) => r);
        pooled.push(compareSequences(floatValues(b.out.pooler_output), each, floatValues(a.out.pooler_output), 1, h));
      }
    }
    console.log(line);
  }
  const samples = run.batches * run.batch;
  const tokens = mix.reduce((n, r) => n + tokenCount(r), 0);
  console.log(`\n${tokens} tokens in ${samples} requests (mean length ${(tokens / samples).toFixed(1)}); latency of ctx.infer() per batch, copies in and out included`);
  console.log(`${'engine'.padEnd(8)} ${'seq/s'.padStart(10)} ${'tokens/s'.padStart(12)} ${'mean ms'.padStart(10)} ${'p50 ms'.padStart(10)} ${'p99 ms'.padStart(10)}`);
  const paddedSummary = summarize(times.padded, samples, tokens);
  printSummary('padded', paddedSummary);
  if (built.why) {
    console.log("packed: not run (see above)");
    process.exitCode = 1;
    return;
  }
  const packedSummary = summarize(times.packed, samples, tokens);
  printSummary('packed', packedSummary);
  console.log(`packed / padded throughput: ${(packedSummary.samplesPerS / paddedSummary.samplesPerS).toFixed(2)}x`);
  const worst = worstAgreement(hidden);
  console.log(describeAgreement('last_hidden_state, packed vs padded', worst));
  if (pooled.length) console.log(describeAgreement('pooler_output, packed vs padded', worstAgreement(pooled)));
  const ok = worst.nonFinite === 0 && worst.minSequenceCosine >= MIN_COSINE;
  console.log(ok ? `check passed: every request's packed rows agree with its padded rows (cosine >= ${MIN_COSINE})` : `CHECK FAILED: a request's packed rows differ from its padded rows (cosine < ${MIN_COSINE} or non-finite values)`);
  if (!ok) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
