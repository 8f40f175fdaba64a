/**
 * `inferrt bench MODEL --scenario ...`: measures an engine in an MLPerf scenario with `inferrt/loadgen`, running
 * requests through the dynamic batcher (`--batch N` > 1) or one per `infer` call on a pool of contexts, with a
 * live progress line, an MLPerf-style summary, a peak-QPS search for Server, and an optional JSON record. A
 * packed-sequence engine's requests are single sequences, always packed by the batcher (`--batch` sequences a run).
 */
import { writeFile } from 'node:fs/promises';
import type { PeakResult, RunSummary, SampleLibrary, SystemUnderTest } from '../../loadgen/index.js';
import { findPeakQps, formatProgress, formatReport, runScenario, toRecord } from '../../loadgen/index.js';
import { InferrtError } from '../../errors.js';
import { UsageError } from '../args.js';
import { batched, contextPool, type RequestRunner } from '../bench/system.js';
import { checkSeqLen, sequenceFromFiles, syntheticSequence } from '../bench/packed-samples.js';
import { requestFromFiles, syntheticRequests, type Request } from '../bench/samples.js';
import { defineCommand } from '../command.js';
import { formatMs } from '../format.js';
import { matchInputs, profileFromInputs, readInputArgs } from '../inputs.js';
import { writeLines } from '../io.js';
import { loadLibrary, type Library } from '../library.js';
import { buildOptions, openModel } from '../model.js';
import { ProgressLine } from '../progress.js';
import { didYouMean } from '../../suggest.js';
import type { Engine } from '../../engine.js';
import type { PackedSequenceInfo } from '../../packing/packed-engine.js';

const scenarios = { offline: 'Offline', server: 'Server', singlestream: 'SingleStream', multistream: 'MultiStream' } as const;
type ScenarioFlag = keyof typeof scenarios;

export const benchCommand = defineCommand({
  name: 'bench',
  summary: 'Measure a model in an MLPerf scenario (Offline, Server, SingleStream, MultiStream).',
  usage: 'MODEL.(onnx|plan) --scenario offline|server|singlestream|multistream [options]',
  description: [
    'Each sample is one request of one row. With --batch N > 1 requests go through the dynamic batcher (batches',
    'of up to N rows, waiting at most --max-delay-ms); otherwise each request is its own infer call. Samples come',
    'from --input .npy files, else are synthesized (seeded floats, integer inputs 1, dynamic dims at the profile opt).',
    'Server needs --latency-bound-ms and either --target-qps or --find-peak (the highest QPS that stays VALID).',
    'A packed-sequence engine (built with --packed-sequences) takes one sequence per request: --seq-len tokens of',
    'id 1 (segment ids 0), or --input input_ids=FILE.npy [--input segment_ids=FILE.npy] of shape [L]. Its requests',
    "always go through the batcher, which packs up to --batch sequences per run (within the engine's maxTokens).",
  ],
  positionals: [{ name: 'MODEL', description: 'a plan file, or an .onnx model to build in memory' }],
  options: {
    scenario: { type: 'string', valueName: 'NAME', description: 'offline | server | singlestream | multistream (required)' },
    'target-qps': { type: 'string', valueName: 'N', description: 'Server: mean Poisson arrival rate, queries/s' },
    'latency-bound-ms': { type: 'string', valueName: 'N', description: 'Server: p99 bound (required); SingleStream p90 / MultiStream p99 bound (optional)' },
    'find-peak': { type: 'boolean', description: 'Server: search the highest VALID QPS, starting at --target-qps (default 100)' },
    duration: { type: 'string', valueName: 'S', description: 'minimum run length in seconds (default 10)' },
    'min-queries': { type: 'integer', min: 1, valueName: 'N', description: "fewest queries of a valid run (default: the scenario's MLPerf default)" },
    'samples-per-query': { type: 'integer', min: 1, valueName: 'N', description: 'MultiStream samples per query (default 8)' },
    batch: { type: 'integer', min: 1, valueName: 'N', description: 'dynamic batcher max rows per batch (default 1: no batcher); packed-sequence engines: max sequences per run' },
    'seq-len': { type: 'integer', min: 1, valueName: 'N', description: 'packed-sequence engines: tokens of each synthesized sequence (default min(128, maxSequenceLength))' },
    'max-delay-ms': { type: 'string', valueName: 'N', description: 'batcher: longest wait for a batch to fill (default 1)' },
    contexts: { type: 'integer', min: 1, valueName: 'N', description: 'execution contexts running at once (default 1)' },
    input: { type: 'string', short: 'i', multiple: true, valueName: 'NAME=FILE.npy', description: 'use this request as every sample instead of synthesized ones' },
    seed: { type: 'integer', min: 0, valueName: 'N', description: 'seed of samples, sample order and arrivals (default 1)' },
    json: { type: 'string', valueName: 'FILE', description: 'write the loadgen record (with the bench settings) as JSON' },
    ...buildOptions,
    quiet: { type: 'boolean', short: 'q', description: 'no progress line' },
  },
  examples: [
    'inferrt bench model.plan --scenario singlestream --duration 5',
    'inferrt bench model.plan --scenario offline --batch 32 --contexts 2',
    'inferrt bench bert.plan --scenario server --latency-bound-ms 130 --find-peak --batch 16 --contexts 2 --json peak.json',
    'inferrt bench bert-packed.plan --scenario offline --batch 64 --seq-len 256',
  ],
  async run({ options, positionals }, io) {
    const model = positionals[0]!;
    const scenarioFlag = scenarioOf(options.scenario);
    const scenario = scenarios[scenarioFlag];
    const latencyBoundMs = positiveNumber(options['latency-bound-ms'], '--latency-bound-ms');
    const targetQps = positiveNumber(options['target-qps'], '--target-qps');
    const durationS = positiveNumber(options.duration, '--duration') ?? 10;
    const maxDelayMs = nonNegativeNumber(options['max-delay-ms'], '--max-delay-ms') ?? 1;
    const batch = options.batch ?? 1;
    const contexts = options.contexts ?? 1;
    const seed = options.seed ?? 1;
    if (scenario === 'Server' && latencyBoundMs === undefined) throw new UsageError('--scenario server needs --latency-bound-ms (MLPerf: 130 for BERT, 15 for ResNet-50)');
    if (scenario === 'Server' && targetQps === undefined && !options['find-peak']) throw new UsageError('--scenario server needs --target-qps N, or --find-peak');
    if (options['find-peak'] && scenario !== 'Server') throw new UsageError('--find-peak applies to --scenario server only');
    if (options['target-qps'] !== undefined && scenario !== 'Server') throw new UsageError('--target-qps applies to --scenario server only');
    if (options['samples-per-query'] !== undefined && scenario !== 'MultiStream') throw new UsageError('--samples-per-query applies to --scenario multistream only');
    if (options['max-delay-ms'] !== undefined && batch === 1) throw new UsageError('--max-delay-ms applies to the batcher: give --batch N > 1');

    const args = await readInputArgs(options.input);
    const lib = await loadLibrary();
    // A packed build replaces the model's inputs (and makes its own profile), so --input is matched after it.
    const packedBuild = options['packed-sequences'] !== undefined;
    const opened = await openModel(model, options, io, {
      progress: !options.quiet,
      beforeBuild: (slots) => (args.length > 0 && !packedBuild ? profileFromInputs(slots, matchInputs(slots, args)) : undefined),
    });
    const { engine } = opened;
    const packed = engine.packedSequences;
    let runner: RequestRunner;
    let samples: Request[];
    let seqLen: number | undefined;
    try {
      if (packed) {
        if (options['seq-len'] !== undefined && args.length > 0) throw new UsageError('--seq-len sets the length of synthesized sequences; with --input the file gives the sequence');
        seqLen = args.length > 0 ? undefined : checkSeqLen(options['seq-len'], packed);
        samples = [seqLen === undefined ? sequenceFromFiles(args, packed) : syntheticSequence(packed, seqLen)];
      } else {
        if (options['seq-len'] !== undefined) throw new UsageError(`--seq-len applies to packed-sequence engines (built with --packed-sequences); ${model} is not one`);
        samples = args.length > 0
          ? [requestFromFiles(matchInputs(engine.inputs, args), engine.inputs)]
          : syntheticRequests(lib, engine.inputs, 0, seed);
      }
      runner = createRunner(lib, engine, batch, maxDelayMs, contexts);
    } catch (e) {
      engine.dispose();
      throw e;
    }
    const progress = new ProgressLine(io.stderr, !options.quiet);
    try {
      const warm = await warmUp(runner, samples, batch * contexts);
      const issue: SystemUnderTest<Request> = (query) => Promise.all(query.map((r) => runner.run(r)));
      const common = {
        issue,
        samples: samples as SampleLibrary<Request>,
        minDurationMs: durationS * 1000,
        seed,
        ...(options['min-queries'] !== undefined ? { minQueryCount: options['min-queries'] } : {}),
      };
      const lines: string[] = [headline(model, engine, opened.built?.precision, { batch, contexts, maxDelayMs, seqLen }, warm)];
      let summary: RunSummary | null;
      let peak: PeakResult | undefined;
      if (options['find-peak']) {
        peak = await findPeakQps({
          ...common,
          server: { latencyBoundMs: latencyBoundMs! },
          peak: { startQps: targetQps ?? 100 },
          onProgress: (p) => progress.update(`Server`, Math.min(1, p.elapsedMs / (durationS * 1000)), formatProgress(p)),
          onTrial: (t) => {
            progress.done();
            io.stderr.write(`trial ${t.index + 1}: ${t.targetQps.toFixed(1)} QPS -> ${t.valid ? 'VALID' : `INVALID (${t.summary.invalidReasons.join('; ')})`}\n`);
          },
        });
        summary = peak.best;
        lines.push(peak.peakQps === null
          ? `no VALID Server run: every trial failed (lowest tried ${Math.min(...peak.trials.map((t) => t.targetQps)).toFixed(1)} QPS)`
          : `peak Server QPS: ${peak.peakQps.toFixed(1)} at p99 <= ${latencyBoundMs} ms (${peak.trials.length} trials${peak.converged ? '' : ', search not converged'}; lowest INVALID: ${peak.lowestFailingQps?.toFixed(1) ?? 'none'})`);
      } else {
        const run = (expectedQps: number) =>
          runScenario({
            ...common,
            ...scenarioSettings(scenario, { targetQps, latencyBoundMs, samplesPerQuery: options['samples-per-query'], expectedQps }),
            onProgress: (p) => progress.update(scenario, Math.min(1, p.elapsedMs / (durationS * 1000)), formatProgress(p)),
          } as Parameters<typeof runScenario<Request>>[0]);
        summary = await run(warm.qps);
        // Offline is sized by the expected throughput; all-at-once batching can beat the warm-up's estimate.
        for (let retry = 0; retry < 3 && scenario === 'Offline' && tooShort(summary, durationS); retry++) {
          progress.done();
          io.stderr.write(`offline run ended early at ${summary.samplesPerSecond.toFixed(1)} samples/s; running again sized for 1.5x that\n`);
          summary = await run(summary.samplesPerSecond * 1.5);
        }
      }
      progress.done();
      if (summary) lines.push(formatReport(summary));
      lines.push(runner.describe());
      writeLines(io.stdout, lines);
      if (options.json !== undefined) await writeRecord(options.json, { model, engine, batch, contexts, maxDelayMs, seqLen, runner, summary, peak });
    } finally {
      progress.done();
      await runner.close();
      engine.dispose();
    }
  },
});

/**
 * The batcher (`--batch` > 1, and always for a packed-sequence engine, whose requests must be packed) or a context
 * pool; the batcher's option errors name the flag they came from.
 */
function createRunner(lib: Library, engine: Engine, batch: number, maxDelayMs: number, contexts: number): RequestRunner {
  const packed = engine.packedSequences !== undefined;
  if (batch === 1 && !packed) return contextPool(engine, contexts, 0);
  // No queue bound: the load generator sets the load (Offline issues every sample at once) and latency shows overload.
  const unbounded = 2 ** 31 - 1;
  try {
    return batched(lib.createBatcher(engine, { maxBatch: batch, maxDelayMs, contexts, maxQueue: unbounded }), packed);
  } catch (e) {
    if (!(e instanceof InferrtError) || e.code !== 'INVALID_ARGUMENT') throw e;
    throw new InferrtError(e.code, `--batch ${batch}: ${e.message.replace(/^createBatcher: /, '')}`);
  }
}

function scenarioOf(value: string | undefined): ScenarioFlag {
  const names = Object.keys(scenarios);
  if (value === undefined) throw new UsageError(`--scenario is required: ${names.join(', ')}`);
  const lower = value.toLowerCase().replace(/[-_ ]/g, '');
  if (!(lower in scenarios)) throw new UsageError(`--scenario must be one of ${names.join(', ')}, got '${value}'${didYouMean(value, names)}`);
  return lower as ScenarioFlag;
}

function positiveNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number, got '${value}'`);
  return n;
}

function nonNegativeNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${flag} must be a number >= 0, got '${value}'`);
  return n;
}

/** Whether a run is shorter than asked (its samples ran out before the minimum duration). */
function tooShort(summary: RunSummary, durationS: number): boolean {
  return summary.durationMs < durationS * 1000;
}

/** Runs a few rounds of `concurrency` requests: warms caches and estimates throughput (sizes an Offline run). */
async function warmUp(runner: RequestRunner, samples: readonly Request[], concurrency: number): Promise<{ qps: number; ms: number }> {
  const rounds = 3;
  const start = performance.now();
  for (let r = 0; r < rounds; r++) {
    await Promise.all(Array.from({ length: concurrency }, (_, i) => runner.run(samples[(r * concurrency + i) % samples.length]!)));
  }
  const ms = performance.now() - start;
  return { qps: (rounds * concurrency) / (ms / 1000), ms };
}

function scenarioSettings(
  scenario: (typeof scenarios)[ScenarioFlag],
  s: { targetQps?: number; latencyBoundMs?: number; samplesPerQuery?: number; expectedQps: number },
): Record<string, unknown> {
  const bound = s.latencyBoundMs !== undefined ? { latencyBoundMs: s.latencyBoundMs } : {};
  switch (scenario) {
    case 'Offline':
      return { scenario, offline: { expectedQps: s.expectedQps } };
    case 'Server':
      return { scenario, server: { targetQps: s.targetQps!, latencyBoundMs: s.latencyBoundMs! } };
    case 'SingleStream':
      return { scenario, singleStream: bound };
    case 'MultiStream':
      return { scenario, multiStream: { ...bound, ...(s.samplesPerQuery !== undefined ? { samplesPerQuery: s.samplesPerQuery } : {}) } };
  }
}

interface BenchSettings {
  batch: number;
  contexts: number;
  maxDelayMs: number;
  /** Packed-sequence engines: the synthesized sequences' length (undefined with --input). */
  seqLen: number | undefined;
}

function headline(model: string, engine: Engine, precision: readonly string[] | undefined, s: BenchSettings, warm: { qps: number; ms: number }): string {
  const { batch, contexts, maxDelayMs } = s;
  const packed = engine.packedSequences;
  const how = packed
    ? `packed-sequence batcher (max ${batch} sequences, ${packed.maxTokens} tokens per run, max delay ${maxDelayMs} ms; ${s.seqLen === undefined ? 'the --input sequence' : `sequences of ${s.seqLen} tokens`})`
    : batch > 1 ? `batcher (max ${batch} rows, max delay ${maxDelayMs} ms)` : 'one request per infer call';
  const prec = precision ? ['fp32', ...precision].join(' + ') : engine.info.precision.join(' + ');
  return `${model}: backend ${engine.info.backend}, precision ${prec}; ${how} on ${contexts} context${contexts === 1 ? '' : 's'}; warm-up ${formatMs(warm.ms)} (~${warm.qps.toFixed(1)} samples/s)`;
}

async function writeRecord(
  file: string,
  r: BenchSettings & { model: string; engine: Engine; runner: RequestRunner; summary: RunSummary | null; peak: PeakResult | undefined },
): Promise<void> {
  const packed: PackedSequenceInfo | undefined = r.engine.packedSequences;
  const bench = {
    model: r.model,
    backend: r.engine.info.backend,
    gpuArch: r.engine.info.gpuArch,
    precision: r.engine.info.precision,
    batch: r.batch,
    contexts: r.contexts,
    maxDelayMs: r.batch > 1 || packed ? r.maxDelayMs : null,
    ...(packed ? { packedSequences: packed, seqLen: r.seqLen ?? null } : {}),
    requests: r.runner.describe(),
  };
  const peak = r.peak && {
    peakQps: r.peak.peakQps,
    lowestFailingQps: r.peak.lowestFailingQps,
    converged: r.peak.converged,
    trials: r.peak.trials.map((t) => ({ targetQps: t.targetQps, valid: t.valid, invalidReasons: t.summary.invalidReasons })),
  };
  const record = { ...(r.summary ? toRecord(r.summary) : {}), bench, ...(peak ? { peak } : {}) };
  try {
    await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
  } catch (e) {
    throw new UsageError(`--json: cannot write '${file}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
