/**
 * Writes the standard variable-length mix (examples/bert/standard-mix.ts) as JSON, so the PyTorch baseline
 * (bench/pytorch/bert_mix.py) runs exactly the batches bench/gpu-bert-packed.ts runs. Needs no GPU.
 *
 *   npx tsx bench/bert-mix.ts OUT.json [--batches 20] [--batch 64]
 */
import { writeFileSync } from 'node:fs';
import { BENCH_MIX, STANDARD_MIX, mixToJson, standardMix, tokenCount } from '../examples/bert/standard-mix.js';

function main(): void {
  const args = process.argv.slice(2);
  const arg = (name: string, fallback: number): number => {
    const at = args.indexOf(name);
    return at >= 0 ? Number(args[at + 1]) : fallback;
  };
  const out = args[0];
  if (!out || out.startsWith('--')) throw new Error('usage: npx tsx bench/bert-mix.ts OUT.json [--batches 20] [--batch 64]');
  const batches = standardMix({ batches: arg('--batches', BENCH_MIX.batches), batchSize: arg('--batch', BENCH_MIX.batchSize) });
  writeFileSync(out, mixToJson(batches, STANDARD_MIX.seed));
  const tokens = batches.reduce((n, b) => n + tokenCount(b), 0);
  console.log(`wrote ${out}: ${batches.length} batches of ${batches[0]!.length} requests, ${tokens} tokens (seed ${STANDARD_MIX.seed})`);
}

main();
