/**
 * ResNet-50 (torchvision export, random weights) FP16 on the CUDA backend vs PyTorch (FP16, channels_last, eager
 * and CUDA graphs) on the same GPU, batch 1 and 256. The ONNX file and PyTorch's numbers come from
 * bench/pytorch/baselines.py run just before:
 *
 *   python3 bench/pytorch/baselines.py resnet /tmp/pt-resnet.json --onnx /tmp/resnet50.onnx
 *   npx tsx bench/gpu-resnet50.ts /tmp/resnet50.onnx /tmp/pt-resnet.json
 *
 * Writes bench/results/gpu-resnet50-<gpu>.json. infer() times include the input and output copies.
 */
import { Builder, OnnxParser } from '../lib/index.js';
import { environment, round } from './environment.js';
import { buildAndLoad, engineSummary, layerProfile, readBaseline, timeEnqueue, timeLoop, writeResult } from './gpu-timing.js';

const BATCHES = [1, 256];
const GFLOP_PER_IMAGE = 8.2;  // 4.1 G multiply-adds

async function main(): Promise<void> {
  const [model, baselineFile] = process.argv.slice(2);
  if (!model) throw new Error('usage: gpu-resnet50.ts RESNET50.onnx [PYTORCH.json]');
  const baseline = readBaseline(baselineFile);
  const builder = new Builder({ backend: 'cuda' });
  using net = builder.createNetwork();
  await OnnxParser.parseFile(net, model);
  const range = { min: [1, 3, 224, 224], opt: [256, 3, 224, 224], max: [256, 3, 224, 224] };
  const config = builder.createConfig({ precision: ['fp16'], profiles: [{ input: range }] });
  const built = await buildAndLoad(builder, net, config);
  using engine = built.engine;
  using ctx = engine.createContext();
  const rows: Record<number, Record<string, number>> = {};
  let profile: Awaited<ReturnType<typeof layerProfile>> | undefined;
  for (const batch of BATCHES) {
    const data = Float32Array.from({ length: batch * 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.001));
    const inputs = { input: { data, shape: [batch, 3, 224, 224] } };
    const t = await timeLoop(`batch ${batch}`, () => ctx.infer(inputs));
    const row: Record<string, number> = { meanMs: round(t.meanMs), p50Ms: round(t.p50Ms), imgPerS: round((batch / t.meanMs) * 1e3) };
    row.usefulTflops = round((row.imgPerS! * GFLOP_PER_IMAGE) / 1e3);
    // GPU-only (enqueue on device buffers), comparable with PyTorch's times, which keep data on the GPU.
    const g = await timeEnqueue(`batch ${batch} enqueue`, engine, ctx, { input: { dtype: 'float32', shape: [batch, 3, 224, 224], data } });
    row.enqueueMeanMs = round(g.meanMs);
    row.enqueueImgPerS = round((batch / g.meanMs) * 1e3);
    const pt = (baseline?.batches as Record<string, Record<string, number>> | undefined)?.[String(batch)];
    if (pt) {
      row.pytorchEagerMs = round(pt.eager_ms!);
      row.pytorchCudaGraphMs = round(pt.cuda_graph_ms!);
      row.vsPytorchCudaGraph = round(pt.cuda_graph_ms! / t.meanMs);
      row.enqueueVsPytorchCudaGraph = round(pt.cuda_graph_ms! / row.enqueueMeanMs!);
    }
    if (batch === 256) {
      profile = await layerProfile(engine, inputs);
      console.log(`profile at batch ${batch}: ${JSON.stringify(profile)}`);
    }
    rows[batch] = row;
    console.log(`batch ${batch}: ${JSON.stringify(row)}`);
  }
  const result = {
    ...environment(),
    workload: 'torchvision ResNet-50 (random weights), ONNX export',
    config: { precision: ['fp16'], profile: range, cudaGraphs: true },
    ...engineSummary(engine, ctx, built),
    batches: rows,
    profile,
    baseline: baseline ?? 'not measured',
    goals: { batch256: '>= 2x PyTorch (channels_last + CUDA graphs) img/s' },
  };
  console.log(`wrote ${writeResult('gpu-resnet50', result)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
