/**
 * GPU suite, packed-sequence BERT end to end: the PyTorch exports of BERT, RoBERTa and DistilBERT (both exporters),
 * and — when the suite exported it (BERT_TINY_ONNX, scripts/export_bert.py --size tiny: hidden 128, 2 heads of 64,
 * the flash-attention kernel's head size) — a HuggingFace BertModel, built on CUDA with `packedSequences`. Each
 * sequence of a packed batch must equal the padded CUDA engine's rows for it (FP16 and TF32), every layer of the
 * packed engine must run on the GPU, the packed FP16 engine must agree with the packed CPU engine in fp32, and bad
 * cu_seqlens must fail with a typed error. Skipped, with the reason, where there is no CUDA.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Builder, InferrtError, OnnxParser, Runtime, packSequences, unpackSequences, type BuilderConfigOptions, type Engine, type Tensor,
} from '../../lib/index.js';
import { seededUniform } from '../../examples/seeded-random.js';
import { modelsDir } from '../fixtures/manifest.js';
import { checkAgreement, cudaSkipReason, describeFallback, fallbackLayers, reportSkipped, type Tolerance } from './helpers.js';

const MAX_SEQ = 64;
const MAX_BATCH = 8;
const LENGTHS = [1, 2, 63, 64, 17, 33, 5, 40];

// FP16 engines, packed vs padded: the same kernels up to the attention (flash with cu_seqlens vs with a padding
// mask) and GEMMs of other row counts (cuBLASLt may pick other algorithms): a few fp16 ulps after a few layers.
const FP16_TOL: Tolerance = { relL2: 5e-3, maxRel: 2e-2, absFloor: 1e-3 };
// TF32 GEMMs (10-bit mantissas) on both sides, different row counts.
const TF32_TOL: Tolerance = { relL2: 5e-3, maxRel: 2e-2, absFloor: 1e-4 };

interface Model {
  file: string;
  maxPositions: number;  // position embeddings usable by a sequence
  vocab: number;
}

const models: Model[] = [
  ...['bert_torchscript_op13', 'bert_dynamo_op18', 'roberta_torchscript_op17', 'roberta_dynamo_op18', 'distilbert_torchscript_op17', 'distilbert_dynamo_op18']
    .map((name) => ({ file: path.join(modelsDir, `${name}.onnx`), maxPositions: MAX_SEQ, vocab: 60 })),
  ...(process.env.BERT_TINY_ONNX ? [{ file: process.env.BERT_TINY_ONNX, maxPositions: MAX_SEQ, vocab: 30000 }] : []),
];

interface Request {
  inputIds: number[];
  segmentIds: number[];
}

function requests(vocab: number, seed: number): Request[] {
  const random = seededUniform(seed);
  return LENGTHS.map((n) => ({
    inputIds: Array.from({ length: n }, () => 2 + Math.floor(random() * (vocab - 2))),
    segmentIds: Array.from({ length: n }, (_, i) => (i >= n / 2 ? 1 : 0)),
  }));
}

async function build(file: string, backend: 'cuda' | 'cpu', config: BuilderConfigOptions): Promise<Engine> {
  const builder = new Builder({ backend });
  using network = builder.createNetwork();
  OnnxParser.parse(network, new Uint8Array(fs.readFileSync(file)));
  return Runtime.load(await builder.build(network, builder.createConfig(config)));
}

/** The packed engine's rows per request (float32 copies) and the pooler rows, if any. */
async function runPacked(engine: Engine, batch: Request[]): Promise<{ rows: Float32Array[]; pooler?: Float32Array[]; dtype: string }> {
  const packed = packSequences(batch, { maxSequenceLength: MAX_SEQ });
  using ctx = engine.createContext();
  const feeds: Record<string, Tensor> = {
    input_ids: { dtype: 'int32', data: packed.inputIds, shape: [packed.totalTokens] },
    cu_seqlens: { dtype: 'int32', data: packed.cuSeqlens, shape: [packed.cuSeqlens.length] },
  };
  if (engine.inputs.some((i) => i.name === 'segment_ids')) feeds.segment_ids = { dtype: 'int32', data: packed.segmentIds, shape: [packed.totalTokens] };
  const out = await ctx.infer(feeds);
  const hidden = out.last_hidden_state!;
  const h = hidden.shape[1]!;
  const rows = unpackSequences(toFloat(hidden), packed.cuSeqlens, h);
  const pooler = out.pooler_output ? batch.map((_, b) => toFloat(out.pooler_output!).slice(b * h, (b + 1) * h)) : undefined;
  return { rows, ...(pooler ? { pooler } : {}), dtype: hidden.dtype };
}

/** The padded engine's rows per request: one batch padded to the longest request, attention_mask 0 on padding. */
async function runPadded(engine: Engine, batch: Request[]): Promise<{ rows: Float32Array[]; pooler?: Float32Array[] }> {
  const longest = Math.max(...batch.map((r) => r.inputIds.length));
  const n = batch.length * longest;
  const ids = new BigInt64Array(n), mask = new BigInt64Array(n), types = new BigInt64Array(n);
  batch.forEach((r, b) => r.inputIds.forEach((id, t) => {
    ids[b * longest + t] = BigInt(id);
    mask[b * longest + t] = 1n;
    types[b * longest + t] = BigInt(r.segmentIds[t]!);
  }));
  const all: Record<string, BigInt64Array> = { input_ids: ids, attention_mask: mask, token_type_ids: types };
  using ctx = engine.createContext();
  const out = await ctx.infer(Object.fromEntries(engine.inputs.map((i) => [i.name, { data: all[i.name]!, shape: [batch.length, longest] }])));
  const hidden = toFloat(out.last_hidden_state!);
  const h = out.last_hidden_state!.shape[2]!;
  const rows = batch.map((r, b) => hidden.slice(b * longest * h, (b * longest + r.inputIds.length) * h));
  const pooler = out.pooler_output ? batch.map((_, b) => toFloat(out.pooler_output!).slice(b * h, (b + 1) * h)) : undefined;
  return { rows, ...(pooler ? { pooler } : {}) };
}

function toFloat(t: Tensor): Float32Array {
  if (t.dtype === 'float32') return t.data as Float32Array;
  const bits = t.data as Uint16Array;
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfToFloat(bits[i]!);
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function expectAgree(reference: Float32Array[], actual: Float32Array[], tol: Tolerance, what: string): void {
  reference.forEach((r, b) => {
    const problem = checkAgreement({ dtype: 'float32', data: r, shape: [r.length] }, { dtype: 'float32', data: actual[b]!, shape: [actual[b]!.length] }, tol);
    expect(problem, `${what}, request ${b} (length ${LENGTHS[b]})`).toBeNull();
  });
}

if (cudaSkipReason) {
  reportSkipped('packed-sequence BERT on CUDA', cudaSkipReason);
} else {
  if (!process.env.BERT_TINY_ONNX) reportSkipped('packed HF BertModel with 64-wide heads', 'BERT_TINY_ONNX is not set (scripts/gpu-suite.sh exports one)');
  describe('packed-sequence BERT on CUDA', () => {
    for (const model of models) {
      const name = path.basename(model.file);
      for (const precision of [['fp16'], ['tf32']] as const) {
        it(`${name}, ${precision[0]}: every request's packed rows equal its padded rows; all layers on the GPU`, async () => {
          const packedConfig: BuilderConfigOptions = { precision: [...precision], packedSequences: { maxSequenceLength: MAX_SEQ, maxBatch: MAX_BATCH } };
          using packed = await build(model.file, 'cuda', packedConfig);
          expect(packed.inputs.some((i) => i.name === 'cu_seqlens'), 'the engine was rewritten').toBe(true);
          expect(describeFallback(fallbackLayers(packed))).toBe('none');
          const range = { min: [1, 1], opt: [MAX_BATCH, MAX_SEQ], max: [MAX_BATCH, MAX_SEQ] };
          const names = new Set<string>();
          {
            const builder = new Builder({ backend: 'cuda' });
            using network = builder.createNetwork();
            OnnxParser.parse(network, new Uint8Array(fs.readFileSync(model.file)));
            for (const t of network.inputs) names.add(t.name);
          }
          using padded = await build(model.file, 'cuda', { precision: [...precision], profiles: [Object.fromEntries([...names].map((n) => [n, range]))] });
          const batch = requests(model.vocab, 5);
          const a = await runPacked(packed, batch);
          const b = await runPadded(padded, batch);
          const tol = precision[0] === 'fp16' ? FP16_TOL : TF32_TOL;
          expectAgree(b.rows, a.rows, tol, `${name} last_hidden_state`);
          if (b.pooler) expectAgree(b.pooler, a.pooler!, tol, `${name} pooler_output`);
        });
      }
    }

    it('the packed FP16 CUDA engine agrees with the packed fp32 CPU engine (HF BertModel with 64-wide heads, else BERT)', async () => {
      const model = models[models.length - 1]!;
      using gpu = await build(model.file, 'cuda', { precision: ['fp16'], packedSequences: { maxSequenceLength: MAX_SEQ, maxBatch: MAX_BATCH } });
      using cpu = await build(model.file, 'cpu', { precision: [], packedSequences: { maxSequenceLength: MAX_SEQ, maxBatch: MAX_BATCH } });
      const batch = requests(model.vocab, 9);
      const a = await runPacked(gpu, batch);
      const b = await runPacked(cpu, batch);
      expect(a.dtype).toBe('float32');
      expectAgree(b.rows, a.rows, FP16_TOL, 'CUDA fp16 vs CPU fp32');
    });

    describe('bad cu_seqlens on the GPU: typed errors, the context still usable', () => {
      const cases: Array<[string, number[], number]> = [
        ['not starting at 0', [1, 5, 9], 9],
        ['decreasing', [0, 6, 4, 9], 9],
        ['ending before the token count', [0, 4, 8], 9],
        ['a sequence longer than maxSequenceLength', [0, MAX_SEQ + 1], MAX_SEQ + 1],
        ['an empty sequence', [0, 4, 4, 9], 9],
      ];
      for (const [what, offsets, tokens] of cases) {
        it(what, async () => {
          using engine = await build(models[0]!.file, 'cuda', { precision: ['fp16'], packedSequences: { maxSequenceLength: MAX_SEQ, maxBatch: MAX_BATCH } });
          using ctx = engine.createContext();
          const feeds = (offs: number[], n: number): Record<string, Tensor> => ({
            input_ids: { dtype: 'int32', data: Int32Array.from({ length: n }, (_, i) => 2 + (i % 50)), shape: [n] },
            segment_ids: { dtype: 'int32', data: new Int32Array(n), shape: [n] },
            cu_seqlens: { dtype: 'int32', data: Int32Array.from(offs), shape: [offs.length] },
          });
          const err = await ctx.infer(feeds(offsets, tokens)).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(InferrtError);
          expect((err as InferrtError).code).toBe('INVALID_ARGUMENT');
          expect((err as InferrtError).message).toMatch(/cu_seqlens/);
          const ok = await ctx.infer(feeds([0, 4, 9], 9));
          expect(ok.last_hidden_state!.shape).toEqual([9, 32]);
        });
      }
    });
  });
}
