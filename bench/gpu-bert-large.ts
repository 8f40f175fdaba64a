/**
 * BERT-large (24 layers, hidden 1024, seq 384) FP16 on the CUDA backend vs PyTorch on the same GPU, batch 1 / 8 /
 * 64, plus the CUDA-graph gain at batch 1. The network comes from the network API with seeded random weights
 * (bench/bert-network.ts: HuggingFace BertModel's architecture); PyTorch's numbers come from
 * bench/pytorch/baselines.py run just before, on the same GPU.
 *
 *   python3 bench/pytorch/baselines.py bert /tmp/pt-bert.json && npx tsx bench/gpu-bert-large.ts /tmp/pt-bert.json [--layers N]
 *
 * Writes bench/results/gpu-bert-large-<gpu>.json. infer() times include copying the inputs in and the
 * [batch, 384, 1024] output back to host memory; PyTorch's are reported both without and with that copy.
 */
import { Builder } from '../lib/index.js';
import { BERT_LARGE, bertFlopsPerSequence, defineBert } from './bert-network.js';
import { environment, round } from './environment.js';
import { buildAndLoad, engineSummary, layerProfile, readBaseline, timeEnqueue, timeLoop, writeResult, type Timing } from './gpu-timing.js';

const SEQ = 384;
const BATCHES = [1, 8, 64];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const layersAt = args.indexOf('--layers');
  const dims = { ...BERT_LARGE, layers: layersAt >= 0 ? Number(args[layersAt + 1]) : BERT_LARGE.layers };
  const baseline = readBaseline(args.find((a) => a.endsWith('.json')));
  const builder = new Builder({ backend: 'cuda' });
  using net = builder.createNetwork();
  const start = performance.now();
  defineBert(net, dims);
  const defineMs = performance.now() - start;
  const range = { min: [1, SEQ], opt: [64, SEQ], max: [64, SEQ] };
  const config = builder.createConfig({ precision: ['fp16'], profiles: [{ input_ids: range, attention_mask: range }] });
  const built = await buildAndLoad(builder, net, config);
  using engine = built.engine;
  using ctx = engine.createContext();
  using eager = engine.createContext({ cudaGraphs: false });

  const rows: Record<number, Record<string, number>> = {};
  const profile: Record<number, Awaited<ReturnType<typeof layerProfile>>> = {};
  for (const batch of BATCHES) {
    const shape = [batch, SEQ];
    const ids = BigInt64Array.from({ length: batch * SEQ }, (_, i) => BigInt((i * 7919) % dims.vocab));
    const mask = new BigInt64Array(batch * SEQ).fill(1n);
    const inputs = { input_ids: { data: ids, shape }, attention_mask: { data: mask, shape } };
    const t: Timing = await timeLoop(`batch ${batch}`, () => ctx.infer(inputs));
    const row: Record<string, number> = { meanMs: round(t.meanMs), p50Ms: round(t.p50Ms), seqPerS: round((batch / t.meanMs) * 1e3) };
    row.usefulTflops = round((bertFlopsPerSequence(dims, SEQ) * row.seqPerS!) / 1e12);
    // GPU-only (enqueue on device buffers), comparable with PyTorch's eager_ms which leaves the output on the GPU.
    const g = await timeEnqueue(`batch ${batch} enqueue`, engine, ctx, { input_ids: { dtype: 'int64', shape, data: ids }, attention_mask: { dtype: 'int64', shape, data: mask } });
    row.enqueueMeanMs = round(g.meanMs);
    row.enqueueSeqPerS = round((batch / g.meanMs) * 1e3);
    if (batch === 1) {
      const e = await timeLoop('batch 1 without CUDA graphs', () => eager.infer(inputs));
      row.noGraphMeanMs = round(e.meanMs);
      row.graphGain = round(e.meanMs / t.meanMs);
    }
    const pt = (baseline?.batches as Record<string, Record<string, number>> | undefined)?.[String(batch)];
    if (pt) {
      row.pytorchEagerMs = round(pt.eager_ms!);
      row.pytorchEagerWithCopyMs = round(pt.eager_with_copy_ms!);
      row.vsPytorchEager = round(pt.eager_ms! / t.meanMs);
      row.enqueueVsPytorchEager = round(pt.eager_ms! / row.enqueueMeanMs!);
      row.vsPytorchEagerWithCopy = round(pt.eager_with_copy_ms! / t.meanMs);
      if (pt.cuda_graph_ms) {
        row.pytorchCudaGraphMs = round(pt.cuda_graph_ms);
        row.vsPytorchCudaGraph = round(pt.cuda_graph_ms / t.meanMs);
        row.enqueueVsPytorchCudaGraph = round(pt.cuda_graph_ms / row.enqueueMeanMs!);
      }
    }
    if (batch === 64 || batch === 1) {
      profile[batch] = await layerProfile(engine, inputs);
      console.log(`profile at batch ${batch}: ${JSON.stringify(profile[batch])}`);
    }
    rows[batch] = row;
    console.log(`batch ${batch}: ${JSON.stringify(row)}`);
  }
  const result = {
    ...environment(),
    workload: `BERT (${dims.layers} layers, hidden ${dims.hidden}, seq ${SEQ}), random weights, network API`,
    config: { precision: ['fp16'], profile: range, cudaGraphs: true },
    defineMs: round(defineMs),
    ...engineSummary(engine, ctx, built),
    batches: rows,
    profile,
    baseline: baseline ?? 'not measured (pass the JSON of bench/pytorch/baselines.py bert)',
    goals: { batch64: '>= 1.4x PyTorch eager seq/s', batch1: 'latency below PyTorch with CUDA graphs' },
  };
  console.log(`wrote ${writeResult('gpu-bert-large', result)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
