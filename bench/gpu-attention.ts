/**
 * The fused Attention layer alone at BERT-large's shape (B 64, H 16, S 384, D 64, fp16, padding mask
 * [B, 1, 1, S] fp16, alpha 1/8) on the CUDA backend, against the unfused layers it replaces measured in the same
 * run: MatMul(q, kᵀ, alpha) -> Softmax(mask) -> MatMul(p, v). Layer times come from the per-layer CUDA-event
 * profile (ctx.layerTimes); the whole engine is also timed through enqueue on device buffers (that includes the
 * copy of the output into the caller's buffer).
 *
 *   npx tsx bench/gpu-attention.ts
 *
 * Writes bench/results/gpu-attention-<gpu>.json. TFLOP/s counts 4·B·H·S²·D (both matrix products).
 */
import { Builder, tensor, toFloat16Bits, type NetworkDefinition, type Tensor } from '../lib/index.js';
import { environment, round } from './environment.js';
import { buildAndLoad, engineSummary, halfValues, layerProfile, timeEnqueue, writeResult } from './gpu-timing.js';

const B = 64, H = 16, S = 384, D = 64, ALPHA = 0.125;
const FLOPS = 4 * B * H * S * S * D;

function inputs(): Record<string, Tensor> {
  const qkv = [B, H, S, D];
  // Padding mask: batch entry b masks its last (b % 32) keys with -10000.
  const mask = Float32Array.from({ length: B * S }, (_, i) => (i % S >= S - (Math.floor(i / S) % 32) ? -10000 : 0));
  return {
    q: tensor(halfValues(B * H * S * D, 1), qkv, 'float16'),
    k: tensor(halfValues(B * H * S * D, 2), qkv, 'float16'),
    v: tensor(halfValues(B * H * S * D, 3), qkv, 'float16'),
    mask: tensor(toFloat16Bits(mask), [B, 1, 1, S], 'float16'),
  };
}

function defineInputs(n: NetworkDefinition) {
  return {
    q: n.addInput('q', 'float16', [B, H, S, D]),
    k: n.addInput('k', 'float16', [B, H, S, D]),
    v: n.addInput('v', 'float16', [B, H, S, D]),
    mask: n.addInput('mask', 'float16', [B, 1, 1, S]),
  };
}

function defineFused(n: NetworkDefinition): void {
  const { q, k, v, mask } = defineInputs(n);
  n.markOutput(n.addLayer('Attention', [q, k, v, mask], { alpha: ALPHA, layout: [0, 0, 0, 0] }).output(), 'out');
}

/** The unfused layers. The probabilities are also a network output, so the builder's attention fusion leaves them. */
function defineUnfused(n: NetworkDefinition): void {
  const { q, k, v, mask } = defineInputs(n);
  const scores = n.addMatrixMultiply(q, k, { transposeB: true, alpha: ALPHA }).output();
  const p = n.addSoftmax(scores, { mask }).output();
  n.markOutput(n.addMatrixMultiply(p, v).output(), 'out');
  n.markOutput(p, 'p');
}

async function measure(label: string, define: (n: NetworkDefinition) => void, kinds: string[]): Promise<Record<string, unknown>> {
  const builder = new Builder({ backend: 'cuda' });
  using net = builder.createNetwork();
  define(net);
  const built = await buildAndLoad(builder, net, builder.createConfig({ precision: ['fp16'] }));
  using engine = built.engine;
  using ctx = engine.createContext();
  const feeds = inputs();
  const profile = (await layerProfile(engine, feeds)).byKind;
  const ran = engine.layers.map((l) => l.kind);
  const layerMs = kinds.reduce((sum, kind) => sum + (profile[kind]?.msPerRun ?? NaN), 0);
  const enqueue = await timeEnqueue(`${label} enqueue`, engine, ctx, feeds);
  const row = {
    layers: ran,
    layerMs: round(layerMs, 3),
    layerTflops: round(FLOPS / layerMs / 1e9),
    enqueueMeanMs: round(enqueue.meanMs, 3),
    profileByLayerKind: profile,
    ...engineSummary(engine, ctx, built),
  };
  console.log(`${label}: ${JSON.stringify({ layers: ran, layerMs: row.layerMs, layerTflops: row.layerTflops, enqueueMeanMs: row.enqueueMeanMs })}`);
  return row;
}

async function main(): Promise<void> {
  const fused = await measure('fused Attention', defineFused, ['Attention']);
  const unfused = await measure('MatMul -> Softmax -> MatMul', defineUnfused, ['MatMul', 'Softmax']);
  const fusedLayers = fused.layers as string[], unfusedLayers = unfused.layers as string[];
  const result = {
    ...environment(),
    workload: `Attention layer alone: B ${B}, H ${H}, S ${S}, D ${D}, fp16, mask [B, 1, 1, S] fp16, alpha ${ALPHA}`,
    config: { precision: ['fp16'] },
    metric: 'layer time (CUDA events per layer), ms; TFLOP/s of 4·B·H·S²·D',
    value: fused.layerMs,
    fused,
    baseline: unfusedLayers.includes('Attention') ? 'not measured: the builder fused the baseline' : unfused,
    speedupVsUnfused: unfusedLayers.includes('Attention') ? null : round((unfused.layerMs as number) / (fused.layerMs as number)),
  };
  if (!fusedLayers.includes('Attention')) throw new Error(`the fused network has no Attention layer: ${fusedLayers.join(', ')}`);
  console.log(`speedup vs unfused layers: ${String(result.speedupVsUnfused)}`);
  console.log(`wrote ${writeResult('gpu-attention', result)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
