/**
 * Fuzzing the ONNX path: 500+ seeded mutations of real PyTorch exports must never crash the process, hang,
 * or throw anything but an InferrtError — whether the damage is caught by the protobuf decoder, the parser,
 * the network's shape rules, the builder or the runtime.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Builder, InferrtError, OnnxParser, Runtime, allocate, type NetworkDefinition } from '../../lib/index.js';
import { mutate, prng } from './mutate.js';

const models = path.join(import.meta.dirname, '..', 'fixtures', 'models');
const cases: Array<[file: string, count: number, seed: number]> = [
  ['bert_torchscript_op13.onnx', 300, 1],
  ['demo_cnn.onnx', 200, 2],
  ['gpt2_dynamo_op18.onnx', 100, 3],
];
const builder = new Builder({ backend: 'cpu' });

/** Builds and runs whatever the mutated model still describes, at small concrete shapes. */
async function buildAndRun(network: NetworkDefinition): Promise<void> {
  const profile: Record<string, { min: number[]; opt: number[]; max: number[] }> = {};
  const inputs: Record<string, { data: ReturnType<typeof allocate>; shape: number[] }> = {};
  for (const t of network.inputs) {
    const shape = t.dims.map((d) => (d < 0 ? 2 : d));
    if (shape.reduce((a, b) => a * b, 1) > 1 << 20) return; // a mutated dim asks for a huge input: skip running
    if (t.dims.some((d) => d < 0)) profile[t.name] = { min: shape, opt: shape, max: shape };
    inputs[t.name] = { data: allocate(t.dtype, shape.reduce((a, b) => a * b, 1)), shape };
  }
  const plan = await builder.build(network, builder.createConfig(Object.keys(profile).length ? { profiles: [profile] } : {}));
  using engine = await Runtime.load(plan.bytes);
  using ctx = engine.createContext();
  await ctx.infer(inputs);
}

describe('ONNX fuzz', () => {
  for (const [file, count, seed] of cases) {
    const full = path.join(models, file);
    it.runIf(fs.existsSync(full))(`${count} mutations of ${file} give only InferrtErrors`, async () => {
      const original = new Uint8Array(fs.readFileSync(full));
      const next = prng(seed);
      const outcomes = new Map<string, number>();
      for (let i = 0; i < count; i++) {
        const { bytes, how } = mutate(original, next);
        const network = builder.createNetwork();
        try {
          OnnxParser.parse(network, bytes, { name: file });
          await buildAndRun(network);
          outcomes.set('ok', (outcomes.get('ok') ?? 0) + 1);
        } catch (e) {
          if (!(e instanceof InferrtError)) {
            throw new Error(`case ${i} (${how}) threw a non-InferrtError: ${(e as Error).stack ?? String(e)}`);
          }
          expect(e.message.length).toBeGreaterThan(10);
          outcomes.set(e.code, (outcomes.get(e.code) ?? 0) + 1);
        } finally {
          network.dispose();
        }
      }
      // The mutations must reach past the decoder: some cases decode and fail later, some still run.
      expect([...outcomes.values()].reduce((a, b) => a + b, 0)).toBe(count);
      expect(outcomes.size).toBeGreaterThan(1);
    }, 300_000);
  }
});
