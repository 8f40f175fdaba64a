/**
 * The builder's packed-sequence rewrite (native/builder/packed_bert.cc) on the PyTorch exports of BERT, RoBERTa and
 * DistilBERT (TorchScript and dynamo exporters): built with `packedSequences`, the encoder becomes the BERT plugins
 * over packed tokens, and each sequence of a packed batch must give what onnxruntime gives for that sequence run
 * alone (batch 1, no padding), for last_hidden_state and the pooler. Models it cannot rewrite keep the padded
 * engine and the build log says why. Bad cu_seqlens fail with a typed error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Builder, InferrtError, Runtime, packSequences, unpackSequences, type Engine, type Plan } from '../../lib/index.js';
import { OnnxParser } from '../../lib/onnx/index.js';
import { seededUniform } from '../../examples/seeded-random.js';
import { loadManifest, modelsDir, type ManifestFile } from '../fixtures/manifest.js';
import { runOrt, type HostTensor } from '../onnx/run.js';
import { expectNear } from './pointwise-helpers.js';

const MAX_SEQ = 24;
const manifest = loadManifest();
const fileNamed = (name: string): ManifestFile | undefined => manifest?.files.find((f) => f.name === name);

// The eager- and SDPA-attention exports of both exporters must be rewritten.
const REWRITTEN = [
  'bert_torchscript_op13.onnx', 'bert_dynamo_op18.onnx', 'roberta_torchscript_op17.onnx', 'roberta_dynamo_op18.onnx',
  'distilbert_torchscript_op17.onnx', 'distilbert_dynamo_op18.onnx', 'bert_sdpa_torchscript_op17.onnx',
  'bert_sdpa_dynamo_op18.onnx',
];

async function buildPacked(file: string, maxBatch = 8, maxSequenceLength = MAX_SEQ, approximateGelu = false): Promise<Plan> {
  const builder = new Builder({ backend: 'cpu' });
  using network = builder.createNetwork();
  OnnxParser.parse(network, new Uint8Array(fs.readFileSync(path.join(modelsDir, file))));
  return builder.build(network, builder.createConfig({ packedSequences: { maxSequenceLength, maxBatch }, approximateGelu }));
}

interface Request {
  inputIds: number[];
  segmentIds: number[];
}

/** Requests of the given lengths: token ids in [2, 62) (never RoBERTa's padding id 1), segments 0 then 1. */
function requests(lengths: number[], seed: number): Request[] {
  const random = seededUniform(seed);
  return lengths.map((n) => ({
    inputIds: Array.from({ length: n }, () => 2 + Math.floor(random() * 60)),
    segmentIds: Array.from({ length: n }, (_, i) => (i >= n / 2 ? 1 : 0)),
  }));
}

/** onnxruntime on one request alone: [1, L] inputs, everything attended. */
async function ortAlone(bytes: Uint8Array, file: ManifestFile, r: Request): Promise<Record<string, HostTensor>> {
  const n = r.inputIds.length;
  const value = (name: string): number[] => (name === 'input_ids' ? r.inputIds : name === 'token_type_ids' ? r.segmentIds : r.inputIds.map(() => 1));
  const feeds = Object.fromEntries(file.inputs.map((io) => [io.name, {
    dtype: 'int64', dims: [1, n], data: BigInt64Array.from(value(io.name), (v) => BigInt(v)),
  } satisfies HostTensor]));
  return runOrt(bytes, feeds);
}

async function runPacked(engine: Engine, batch: Request[]): Promise<{ outputs: Record<string, Float32Array>; cuSeqlens: Int32Array }> {
  const packed = packSequences(batch, { maxSequenceLength: MAX_SEQ });
  using ctx = engine.createContext();
  const names = engine.inputs.map((i) => i.name);
  const feeds: Record<string, { data: Int32Array; shape: number[] }> = {
    input_ids: { data: packed.inputIds, shape: [packed.totalTokens] },
    cu_seqlens: { data: packed.cuSeqlens, shape: [packed.cuSeqlens.length] },
  };
  if (names.includes('segment_ids')) feeds.segment_ids = { data: packed.segmentIds, shape: [packed.totalTokens] };
  const out = await ctx.infer(feeds);
  return { outputs: Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array])), cuSeqlens: packed.cuSeqlens };
}

describe.skipIf(!manifest)('packed-sequence rewrite of BERT-family exports (CPU backend vs onnxruntime per sequence)', () => {
  for (const name of REWRITTEN) {
    it(`${name}: rewritten to the packed plugins; every sequence matches onnxruntime run alone`, async () => {
      const file = fileNamed(name)!;
      const bytes = new Uint8Array(fs.readFileSync(path.join(modelsDir, name)));
      const plan = await buildPacked(name);
      const line = plan.buildLog.find((l) => l.startsWith('packed sequences:'));
      expect(line, plan.buildLog.join('\n')).toMatch(/rewritten to packed-token plugins/);
      using engine = await Runtime.load(plan);
      const plugins = engine.layers.filter((l) => l.kind === 'Plugin').length;
      expect(plugins).toBeGreaterThan(0);
      const hasTypes = file.inputs.some((io) => io.name === 'token_type_ids');
      expect(engine.inputs.map((i) => [i.name, i.dtype, i.dims])).toEqual([
        ['input_ids', 'int32', [-1]], ...(hasTypes ? [['segment_ids', 'int32', [-1]]] : []), ['cu_seqlens', 'int32', [-1]],
      ]);
      const batch = requests([1, 2, 7, MAX_SEQ, 13], 11);
      const out = await runPacked(engine, batch);
      const hidden = out.outputs.last_hidden_state!;
      const h = hidden.length / out.cuSeqlens[out.cuSeqlens.length - 1]!;
      const rows = unpackSequences(hidden, out.cuSeqlens, h);
      for (let b = 0; b < batch.length; b++) {
        const want = await ortAlone(bytes, file, batch[b]!);
        expectNear(rows[b]! as Float32Array, want.last_hidden_state!.data as Float32Array, 1e-4, `${name} sequence ${b}`);
        if (want.pooler_output) {
          const pooled = out.outputs.pooler_output!.subarray(b * h, (b + 1) * h);
          expectNear(pooled, want.pooler_output.data as Float32Array, 1e-4, `${name} pooler ${b}`);
        }
      }
    });
  }

  it('approximateGelu: the FullyConnected layers take tanh GELU; sequences stay near onnxruntime\'s exact-GELU model', async () => {
    const name = 'bert_torchscript_op13.onnx';
    const bytes = new Uint8Array(fs.readFileSync(path.join(modelsDir, name)));
    const plan = await buildPacked(name, 8, MAX_SEQ, true);
    expect(plan.buildLog).toContain('approximateGelu: 2 fused GELUs computed with the tanh approximation');
    using engine = await Runtime.load(plan);
    const fc = engine.layers.filter((l) => l.plugin?.name === 'FullyConnected');
    expect(fc.map((l) => l.plugin!.attributes.activation)).toEqual(['gelu_tanh', 'gelu_tanh']);
    // This tiny model's GELU inputs stay near 0, where the two forms agree to float precision (the formula
    // itself is checked in test/plugins/fully-connected.test.ts): the outputs stay onnxruntime's.
    const batch = requests([3, MAX_SEQ, 9], 12);
    const out = await runPacked(engine, batch);
    const hidden = out.outputs.last_hidden_state!;
    const rows = unpackSequences(hidden, out.cuSeqlens, hidden.length / out.cuSeqlens[out.cuSeqlens.length - 1]!);
    for (let b = 0; b < batch.length; b++) {
      const want = (await ortAlone(bytes, fileNamed(name)!, batch[b]!)).last_hidden_state!.data as Float32Array;
      expectNear(rows[b]! as Float32Array, want, 1e-4, `sequence ${b}`);
    }
  });

  it('a model that is not a BERT encoder (GPT-2, causal) keeps the padded engine, and the log says why', async () => {
    const plan = await buildPacked('gpt2_torchscript_op17.onnx');
    const line = plan.buildLog.find((l) => l.startsWith('packed sequences:'));
    expect(line).toMatch(/^packed sequences: not rewritten, the engine keeps the padded inputs: .+/);
    using engine = await Runtime.load(plan);
    expect(engine.inputs.find((i) => i.name === 'input_ids')?.dims).toEqual([-1, -1]);
  });

  describe('bad cu_seqlens on a packed engine: typed errors', () => {
    const cases: Array<[string, number[], number, RegExp]> = [
      ['not starting at 0', [1, 5, 9], 9, /cu_seqlens/],
      ['decreasing', [0, 6, 4, 9], 9, /cu_seqlens/],
      ['ending before the token count', [0, 4, 8], 9, /cu_seqlens/],
      ['a sequence longer than maxSequenceLength', [0, MAX_SEQ + 1], MAX_SEQ + 1, /cu_seqlens|max_seq_len|longer/],
      ['an empty sequence (the pooler reads each first token)', [0, 4, 4, 9], 9, /cu_seqlens\[2\] = 4 makes sequence 1 0 tokens long, fewer than min_seq_len 1/],
    ];
    for (const [what, offsets, tokens, message] of cases) {
      it(what, async () => {
        using engine = await Runtime.load(await buildPacked('bert_torchscript_op13.onnx'));
        using ctx = engine.createContext();
        const ids = Int32Array.from({ length: tokens }, (_, i) => 2 + (i % 50));
        const err = await ctx.infer({
          input_ids: { data: ids, shape: [tokens] }, segment_ids: { data: new Int32Array(tokens), shape: [tokens] },
          cu_seqlens: { data: Int32Array.from(offsets), shape: [offsets.length] },
        }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InferrtError);
        expect((err as InferrtError).code).toBe('INVALID_ARGUMENT');
        expect((err as InferrtError).message).toMatch(message);
      });
    }
  });

  it('maxSequenceLength beyond the position embeddings fails the build, naming both', async () => {
    const err = await buildPacked('roberta_torchscript_op17.onnx', 8, 10_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InferrtError);
    expect((err as InferrtError).message).toMatch(/packedSequences\.maxSequenceLength 10000 needs 10002 position embeddings \(positions start at 2\), the model has \d+/);
  });

  it('a user profile is replaced by the packed one, and the log says so', async () => {
    const builder = new Builder({ backend: 'cpu' });
    using network = builder.createNetwork();
    OnnxParser.parse(network, new Uint8Array(fs.readFileSync(path.join(modelsDir, 'bert_torchscript_op13.onnx'))));
    const range = { min: [1, 1], opt: [2, 8], max: [2, 16] };
    const plan = await builder.build(network, builder.createConfig({
      packedSequences: { maxSequenceLength: MAX_SEQ, maxBatch: 8 },
      profiles: [{ input_ids: range, attention_mask: range, token_type_ids: range }],
    }));
    expect(plan.buildLog.find((l) => l.startsWith('packed sequences:'))).toMatch(/the padded profile is replaced by the packed one$/);
    using engine = await Runtime.load(plan);
    expect(engine.inputs.map((i) => i.name)).toEqual(['input_ids', 'segment_ids', 'cu_seqlens']);
  });

  it('createConfig rejects packedSequences with int8', () => {
    const builder = new Builder({ backend: 'cpu' });
    expect(() => builder.createConfig({ precision: ['fp16', 'int8'], packedSequences: { maxSequenceLength: 8, maxBatch: 2 } }))
      .toThrow(/packedSequences runs the encoder's plugins in fp16 \/ fp32; it cannot be combined with 'int8'/);
  });

  it('createConfig rejects malformed packedSequences options, naming the field', () => {
    const builder = new Builder({ backend: 'cpu' });
    const bad = (packedSequences: unknown): InferrtError => {
      try {
        builder.createConfig({ packedSequences } as never);
      } catch (e) {
        return e as InferrtError;
      }
      throw new Error('expected an error');
    };
    expect(bad({ maxSequenceLength: 0, maxBatch: 4 }).message).toMatch(/packedSequences\.maxSequenceLength must be an integer/);
    expect(bad({ maxSequenceLength: 8, maxBatch: 4, optTokens: 99 }).message).toMatch(/packedSequences\.optTokens/);
    expect(bad({ maxSequenceLength: 8 }).message).toMatch(/packedSequences\.maxBatch/);
    expect(bad({ maxSequenceLength: 8, maxBatch: 2, maxBatchSize: 3 }).message).toMatch(/maxBatchSize/);
    expect(bad('yes').code).toBe('INVALID_ARGUMENT');
  });
});
