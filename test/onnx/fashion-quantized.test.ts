/**
 * Real quantized models: onnxruntime's three quantizations of the Fashion-MNIST CNN (test/fixtures/models/fashion)
 * built on the CPU backend. QDQ (int8, per-channel weights: QuantizeLinear / DequantizeLinear around float layers),
 * QOperator (QLinearConv, QLinearMatMul, uint8 activations) and dynamic (DynamicQuantizeLinear, ConvInteger,
 * MatMulInteger). Each is checked twice on Debian's real test images:
 * - logits of the first 300 images against onnxruntime-node: each within 1e-5 (relative to max(1, |logit|)) of
 *   onnxruntime's, except that a logit may be off by one step of the model's last quantization (QDQ: logits_scale;
 *   QOperator: the last QLinearMatMul's y_scale), where the requantization's float rounding picks the neighbouring
 *   integer, on at most 2 images; the dynamic model has no such step (its logits are float math on exact integers);
 * - top-1 on all 10,000 test images equal to onnxruntime's figure recorded in fashion_cnn.json within 0.05
 *   percentage points (5 images).
 */
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Builder, Runtime, tensor, type Engine, type ExecutionContext } from '../../lib/index.js';
import { decodeModel, decodeTensorProto, OnnxParser } from '../../lib/onnx/index.js';
import { FASHION_FIXTURE_DIR, fashionBatch, fashionMnistSkipReason, fashionReport, loadFashionMnist, top1, type FashionSplit } from '../fashion-mnist.js';
import { canRun } from './run.js';

const skipReason = fashionMnistSkipReason() ?? (canRun ? undefined : 'this addon cannot build and run engines');
const COMPARED = 300;
const BATCH = 1000;

const models = [
  { file: 'fashion_cnn_qdq_op17.onnx', kind: 'qdq', lastScale: 'logits_scale' },
  { file: 'fashion_cnn_qop_op17.onnx', kind: 'qop', lastScale: '/MatMul_1_output_0_scale' },
  { file: 'fashion_cnn_dynamic_op17.onnx', kind: 'dynamic', lastScale: null },
] as const;

/** The value of a one-element float initializer of the model. */
function initializerScalar(bytes: Uint8Array, file: string, name: string): number {
  const proto = decodeModel(bytes, file).graph?.initializer?.find((t) => t.name === name);
  if (!proto) throw new Error(`initializer '${name}' not found`);
  const decoded = decodeTensorProto(proto);
  return new DataView(decoded.bytes.buffer, decoded.bytes.byteOffset, decoded.bytes.byteLength).getFloat32(0, true);
}

async function ortLogits(bytes: Uint8Array, images: Float32Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ image: new ort.Tensor('float32', images, [images.length / 784, 1, 28, 28]) });
    return out.logits!.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe.skipIf(skipReason !== undefined)('Fashion-MNIST quantized CNNs on the CPU backend', () => {
  let images: FashionSplit;
  beforeAll(() => {
    images = loadFashionMnist('t10k');
  });

  describe.each(models)('$file', ({ file, kind, lastScale }) => {
    const bytes = new Uint8Array(fs.readFileSync(path.join(FASHION_FIXTURE_DIR, file)));
    let engine: Engine;
    let ctx: ExecutionContext;
    const logits = async (start: number, count: number): Promise<Float32Array> => {
      const batch = fashionBatch(images, start, count);
      const out = await ctx.infer({ image: tensor(batch, [batch.length / 784, 1, 28, 28]) });
      return out.logits!.data as Float32Array;
    };

    beforeAll(async () => {
      const builder = new Builder({ backend: 'cpu' });
      using network = builder.createNetwork();
      OnnxParser.parse(network, bytes);
      const profile = { image: { min: [1, 1, 28, 28], opt: [BATCH, 1, 28, 28], max: [BATCH, 1, 28, 28] } };
      engine = await Runtime.load(await builder.build(network, builder.createConfig({ profiles: [profile] })));
      ctx = engine.createContext();
    });
    afterAll(() => {
      ctx?.dispose();
      engine?.dispose();
    });

    it(`logits of the first ${COMPARED} test images match onnxruntime-node`, async () => {
      const ours = await logits(0, COMPARED);
      const theirs = await ortLogits(bytes, fashionBatch(images, 0, COMPARED));
      expect(ours.length).toBe(COMPARED * 10);
      const step = lastScale ? initializerScalar(bytes, file, lastScale) : 0;
      const offImages = new Set<number>();
      for (let i = 0; i < theirs.length; i++) {
        const diff = Math.abs(ours[i]! - theirs[i]!);
        if (diff <= 1e-5 * Math.max(1, Math.abs(theirs[i]!))) continue;
        offImages.add(Math.floor(i / 10));
        expect(diff, `image ${Math.floor(i / 10)} logit ${i % 10}: ${ours[i]} vs ${theirs[i]}`).toBeLessThanOrEqual(step * (1 + 1e-5) + 1e-5);
      }
      expect(offImages.size, `images whose logits differ: ${[...offImages].join(', ')}`).toBeLessThanOrEqual(2);
    });

    it("top-1 on all 10,000 test images is onnxruntime's within 0.05 points", async () => {
      const all = new Float32Array(images.count * 10);
      for (let start = 0; start < images.count; start += BATCH) all.set(await logits(start, BATCH), start * 10);
      expect(images.count).toBe(10_000);
      const right = Math.round(top1(all, images.labels) * images.count);
      const expected = Math.round(fashionReport().top1[`onnxruntime_${kind}`]! * images.count);
      expect(Math.abs(right - expected), `${right} right, onnxruntime ${expected}`).toBeLessThanOrEqual(5);
    });
  });
});

if (skipReason !== undefined) {
  describe('Fashion-MNIST quantized CNNs on the CPU backend', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
}
