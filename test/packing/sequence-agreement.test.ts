/**
 * The packed-vs-padded check of the BERT example and benchmark (examples/bert/sequence-agreement.ts) on made-up
 * outputs (padding rows ignored, a changed value or a flipped request found), and the padded path end to end on the
 * CPU: the BERT fixture (HF BertModel, TorchScript export) built as the example builds its padded engine, fed one
 * padded batch of a small mix, must give every request the rows onnxruntime gives that request run alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Builder, InferrtError, OnnxParser, Runtime } from '../../lib/index.js';
import { floatValues, paddedBuildOptions, paddedFeeds } from '../../examples/bert/bert-engines.js';
import { compareSequences, unpadRows, worstAgreement } from '../../examples/bert/sequence-agreement.js';
import { packBatch, padBatch, standardMix } from '../../examples/bert/standard-mix.js';
import { modelsDir } from '../fixtures/manifest.js';
import { canRun, runOrt } from '../onnx/run.js';
import { seededUniform } from '../seeded-uniform.js';

const H = 3;
const LENGTHS = [2, 5, 1, 4];
const WIDTH = 5;
const cu = Int32Array.from([0, ...LENGTHS.map((_, i) => LENGTHS.slice(0, i + 1).reduce((a, b) => a + b, 0))]);

/** Random rows per request in packed layout, and the same rows padded to WIDTH with junk in the padding rows. */
function layouts(): { packed: Float32Array; padded: Float32Array } {
  const u = seededUniform(7);
  const packed = Float32Array.from({ length: cu[LENGTHS.length]! * H }, () => u() * 2 - 1);
  const padded = new Float32Array(LENGTHS.length * WIDTH * H).fill(1e6);
  LENGTHS.forEach((n, b) => padded.set(packed.subarray(cu[b]! * H, (cu[b]! + n) * H), b * WIDTH * H));
  return { packed, padded };
}

describe('compareSequences', () => {
  it('compares only the real rows of each request', () => {
    const { packed, padded } = layouts();
    const a = compareSequences(packed, cu, padded, WIDTH, H);
    expect(a.maxAbsDiff).toBe(0);
    expect(a.cosine).toBeCloseTo(1, 12);
    expect(a.minSequenceCosine).toBeCloseTo(1, 12);
    expect(a.nonFinite).toBe(0);
    expect(unpadRows(padded, LENGTHS, WIDTH, H)).toEqual(packed);
  });

  it('finds a changed value, a flipped request and non-finite values', () => {
    const { packed, padded } = layouts();
    const moved = packed.slice();
    moved[(cu[3]! + 2) * H + 1]! += 0.5;
    const a = compareSequences(moved, cu, padded, WIDTH, H);
    expect(a.maxAbsDiff).toBeCloseTo(0.5, 6);
    expect(a.worstSequence).toBe(3);
    expect(a.minSequenceCosine).toBeLessThan(1);

    const flipped = packed.slice();
    for (let i = cu[1]! * H; i < cu[2]! * H; i++) flipped[i] = -flipped[i]!;
    const f = compareSequences(flipped, cu, padded, WIDTH, H);
    expect(f.minSequenceCosine).toBeCloseTo(-1, 10);
    expect(f.worstSequence).toBe(1);

    const nan = packed.slice();
    nan[0] = NaN;
    expect(compareSequences(nan, cu, padded, WIDTH, H).nonFinite).toBe(1);

    const worst = worstAgreement([a, f]);
    expect(worst.worstBatch).toBe(1);
    expect(worst.worstSequence).toBe(1);
    expect(worst.maxAbsDiff).toBeGreaterThanOrEqual(a.maxAbsDiff);
  });

  it('rejects outputs of the wrong size with a typed error', () => {
    const { packed, padded } = layouts();
    expect(() => compareSequences(packed.subarray(1), cu, padded, WIDTH, H)).toThrow(InferrtError);
    expect(() => compareSequences(packed, cu, padded, WIDTH - 1, H)).toThrow(/padded/);
    expect(() => unpadRows(padded, [6, 1, 1, 1], WIDTH, H)).toThrow(InferrtError);
  });
});

const fixture = path.join(modelsDir, 'bert_torchscript_op13.onnx');
const skip = !canRun || !fs.existsSync(fixture);

describe.skipIf(skip)('the padded BERT engine on one padded batch (CPU)', () => {
  it('gives each request the rows onnxruntime gives it alone', async () => {
    const bytes = fs.readFileSync(fixture);
    // The fixture: vocab 128, 64 positions. A mix shrunk to fit it, padded to the batch's longest request.
    const requests = standardMix({ batches: 1, batchSize: 5, minLength: 3, maxLength: 40, firstTokenId: 1, endTokenId: 128, seed: 11 })[0]!;
    const padded = padBatch(requests);
    const builder = new Builder({ backend: 'cpu' });
    using network = builder.createNetwork();
    const parsed = OnnxParser.parse(network, bytes);
    const plan = await builder.build(network, builder.createConfig(paddedBuildOptions(parsed.inputs, { maxBatch: 8, maxSeq: 64, precision: [] })));
    using engine = await Runtime.load(plan);
    using ctx = engine.createContext();
    const out = await ctx.infer(paddedFeeds(engine, padded));
    const hidden = out.last_hidden_state!.shape[2]!;

    // Reference: each request alone, unpadded, through onnxruntime; concatenated in packed layout.
    const alone: Float32Array[] = [], pooledAlone: Float32Array[] = [];
    for (const r of requests) {
      const n = r.inputIds.length;
      const i64 = (values: ArrayLike<number>) => ({ dtype: 'int64' as const, dims: [1, n], data: BigInt64Array.from(Array.from(values), (v) => BigInt(v)) });
      const ref = await runOrt(bytes, { input_ids: i64(r.inputIds), attention_mask: i64(Array<number>(n).fill(1)), token_type_ids: i64(r.segmentIds) });
      alone.push(ref.last_hidden_state!.data as Float32Array);
      pooledAlone.push(ref.pooler_output!.data as Float32Array);
    }
    const cuSeqlens = packBatch(requests, 64).cuSeqlens;
    const concat = (parts: Float32Array[]): Float32Array => {
      const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
      parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
      return all;
    };
    const rows = compareSequences(concat(alone), cuSeqlens, floatValues(out.last_hidden_state!), padded.shape[1], hidden);
    expect(rows.maxAbsDiff).toBeLessThan(1e-4);
    expect(rows.minSequenceCosine).toBeGreaterThan(0.999999);
    const each = Int32Array.from({ length: requests.length + 1 }, (_, b) => b);
    const pooled = compareSequences(concat(pooledAlone), each, floatValues(out.pooler_output!), 1, hidden);
    expect(pooled.maxAbsDiff).toBeLessThan(1e-4);
  });
});
