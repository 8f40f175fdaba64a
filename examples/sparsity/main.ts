/**
 * `npm run example:sparsity [-- MODEL.onnx] [--backend cpu|cuda|auto]`: prunes a model's MatMul/Gemm/Conv
 * weights to 2:4 sparsity (`pruneModel`, what `inferrt prune` does), builds engines from the original and the
 * pruned model with `sparseWeights: true`, runs the same seeded random inputs through both and shows how far the
 * outputs moved. Pruning without fine-tuning changes the outputs; this measures by how much.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Builder, OnnxParser, Runtime, pruneModel, type Backend, type Tensor, type TensorLike } from '../../lib/index.js';
import { seededUniform } from '../seeded-random.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = args.indexOf('--backend');
const backend = (flag >= 0 ? args.splice(flag, 2)[1] : 'auto') as Backend | 'auto';
const modelPath = args[0] ?? path.join(here, '../demo/demo_cnn.onnx');
const BATCH = 8;
const OTHER_DYNAMIC_DIM = 16;

/** Builds `bytes` and runs `feeds` once; returns the outputs. */
async function buildAndRun(bytes: Uint8Array, feeds: (inputs: Array<{ name: string; dtype: string; dims: number[] }>) => Record<string, TensorLike>): Promise<{ backend: string; outputs: Record<string, Tensor> }> {
  const builder = new Builder({ backend });
  using network = builder.createNetwork();
  OnnxParser.parse(network, bytes);
  const inputs = network.inputs.map((t) => ({ name: t.name, dtype: t.dtype, dims: t.dims }));
  const fed = feeds(inputs);
  const profile = Object.fromEntries(Object.entries(fed).map(([name, t]) => [name, { min: [...t.shape], opt: [...t.shape], max: [...t.shape] }]));
  const plan = await builder.build(network, builder.createConfig({ sparseWeights: true, profiles: [profile] }));
  using engine = await Runtime.load(plan);
  using ctx = engine.createContext();
  return { backend: engine.info.backend, outputs: await ctx.infer(fed) };
}

/** Seeded inputs: floats in [-1, 1); integer inputs (ids, masks) 0 or 1. Dynamic dims: batch 8, others 16. */
function seededFeeds(inputs: Array<{ name: string; dtype: string; dims: number[] }>): Record<string, TensorLike> {
  const next = seededUniform(42);
  const feeds: Record<string, TensorLike> = {};
  for (const input of inputs) {
    const shape = input.dims.map((d, i) => (d >= 0 ? d : i === 0 ? BATCH : OTHER_DYNAMIC_DIM));
    const n = shape.reduce((a, b) => a * b, 1);
    if (input.dtype === 'float32') feeds[input.name] = { data: Float32Array.from({ length: n }, () => next() * 2 - 1), shape };
    else if (input.dtype === 'int64') feeds[input.name] = { data: BigInt64Array.from({ length: n }, () => BigInt(Math.floor(next() * 2))), shape };
    else if (input.dtype === 'int32') feeds[input.name] = { data: Int32Array.from({ length: n }, () => Math.floor(next() * 2)), shape };
    else throw new Error(`input '${input.name}' has dtype ${input.dtype}; this example feeds float32, int32 and int64 inputs`);
  }
  return feeds;
}

function agreement(a: Float32Array, b: Float32Array, shape: number[]): string {
  let maxDiff = 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  const cosine = na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : na === nb ? 1 : 0;
  let text = `max |diff| ${maxDiff.toExponential(3)}, cosine similarity ${cosine.toFixed(6)}`;
  if (shape.length === 2 && shape[1]! > 1) {
    // Classifier-like [N, classes]: does the top class stay the top class?
    const [rows, classes] = shape as [number, number];
    const argmax = (x: Float32Array, r: number): number => {
      let best = 0;
      for (let c = 1; c < classes; c++) if (x[r * classes + c]! > x[r * classes + best]!) best = c;
      return best;
    };
    let same = 0;
    for (let r = 0; r < rows; r++) if (argmax(a, r) === argmax(b, r)) same++;
    text += `, top-1 agreement ${same}/${rows}`;
  }
  return text;
}

async function main(): Promise<void> {
  const original = readFileSync(modelPath);
  const start = performance.now();
  const pruned = pruneModel(original, { name: path.basename(modelPath) });
  console.log(`pruned ${path.basename(modelPath)} to 2:4 in ${(performance.now() - start).toFixed(1)} ms:`);
  for (const l of pruned.layers) {
    const what = l.pruned ? `${l.removedPercent.toFixed(2)}% of its magnitude removed` : `skipped: ${l.skipReason}`;
    console.log(`  ${l.users.map((u) => `${u.opType} ${u.node}`).join(', ')}  ${l.initializer} [${l.dims.join(', ')}]: ${what}`);
  }
  const s = pruned.summary;
  console.log(`  total: ${s.pruned} of ${pruned.layers.length} weights made 2:4, ${s.removedPercent.toFixed(2)}% of their weight magnitude removed`);

  const before = await buildAndRun(original, seededFeeds);
  const after = await buildAndRun(pruned.model, seededFeeds);
  console.log(`outputs on the ${after.backend} backend, original vs pruned model (same seeded inputs, batch ${BATCH}):`);
  for (const [name, t] of Object.entries(before.outputs)) {
    const p = after.outputs[name]!;
    if (!(t.data instanceof Float32Array) || !(p.data instanceof Float32Array)) {
      console.log(`  '${name}' (${t.dtype}): not compared`);
      continue;
    }
    console.log(`  '${name}' [${t.shape.join(', ')}]: ${agreement(t.data, p.data, t.shape)}`);
  }
  console.log("Pruning without fine-tuning changes a model's outputs; use pruned models for performance testing, or fine-tune them.");
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? `${(e as { code?: string }).code ?? 'ERROR'}: ${e.message}` : e);
  process.exit(1);
});
