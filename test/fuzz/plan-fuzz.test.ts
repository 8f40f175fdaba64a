/**
 * Fuzzing plan loading: 600 seeded mutations of real plans (a CNN and a BERT built from PyTorch exports) must
 * give BAD_PLAN or load and run, never crash. Half the mutated plans are resealed (body length and CRC-32
 * recomputed) and damaged only inside one section, so the section parsers and the graph re-validation are
 * what must catch them, not the checksum.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Builder, InferrtError, OnnxParser, Runtime, allocate, type Engine } from '../../lib/index.js';
import { mutate, prng } from './mutate.js';
import { headerLength, reseal, sections } from './plan-bytes.js';

const models = path.join(import.meta.dirname, '..', 'fixtures', 'models');
const builder = new Builder({ backend: 'cpu' });

/** Builds `file` with every dynamic dim fixed to 2 (batch 2, sequence 2 for BERT). */
async function planOf(file: string): Promise<Uint8Array> {
  using network = builder.createNetwork();
  await OnnxParser.parseFile(network, path.join(models, file));
  const profile: Record<string, { min: number[]; opt: number[]; max: number[] }> = {};
  for (const t of network.inputs) {
    const shape = t.dims.map((d) => (d < 0 ? 2 : d));
    profile[t.name] = { min: shape, opt: shape, max: shape };
  }
  const plan = await builder.build(network, builder.createConfig({ profiles: [profile] }));
  return plan.bytes;
}

/** Runs a loaded (possibly damaged) engine once on zeros; only InferrtErrors may come out. */
async function runOnce(engine: Engine): Promise<void> {
  using ctx = engine.createContext();
  const inputs: Record<string, { data: ReturnType<typeof allocate>; shape: number[] }> = {};
  for (const name of engine.inputNames()) {
    const info = engine.getTensorInfo(name);
    const shape = info.dims.map((d) => (d < 0 ? 2 : d));
    const n = shape.reduce((a, b) => a * b, 1);
    if (n > 1 << 22) return; // a damaged dim asks for a huge input
    inputs[name] = { data: allocate(info.dtype, n), shape };
  }
  await ctx.infer(inputs);
}

function expectInferrtError(e: unknown, what: string): InferrtError {
  if (!(e instanceof InferrtError)) throw new Error(`${what} threw a non-InferrtError: ${(e as Error).stack ?? String(e)}`);
  expect(e.message.length).toBeGreaterThan(10);
  return e;
}

describe('plan fuzz', () => {
  for (const [file, seed] of [['demo_cnn.onnx', 7], ['bert_torchscript_op13.onnx', 8]] as const) {
    it.runIf(fs.existsSync(path.join(models, file)))(`300 mutations of the plan of ${file} give BAD_PLAN or a working engine`, async () => {
      const plan = await planOf(file);
      const list = sections(plan);
      const next = prng(seed);
      const outcomes = { resealed: new Map<string, number>(), raw: new Map<string, number>() };
      for (let i = 0; i < 300; i++) {
        const resealed = i % 2 === 0;
        let bytes: Uint8Array;
        let how: string;
        if (resealed) {
          // Damage one section (its header or up to 4 KiB of its payload), then make the checksum agree.
          const s = list[next() % list.length]!;
          ({ bytes, how } = mutate(plan, next, s.at, s.at + 16 + Math.min(s.length, 4096)));
          if (headerLength(bytes) !== headerLength(plan)) throw new Error('a body mutation changed the header');
          bytes = reseal(bytes);
          how = `${s.tag}: ${how}`;
        } else {
          ({ bytes, how } = mutate(plan, next));
        }
        const tally = resealed ? outcomes.resealed : outcomes.raw;
        let engine: Engine;
        try {
          engine = await Runtime.load(bytes);
        } catch (e) {
          const err = expectInferrtError(e, `case ${i} (${how})`);
          expect(err.code, `case ${i} (${how}): ${err.message}`).toBe('BAD_PLAN');
          const kind = /checksum/.test(err.message) ? 'BAD_PLAN checksum' : 'BAD_PLAN parser';
          tally.set(kind, (tally.get(kind) ?? 0) + 1);
          continue;
        }
        try {
          await runOnce(engine);
          tally.set('ran', (tally.get('ran') ?? 0) + 1);
        } catch (e) {
          const err = expectInferrtError(e, `running case ${i} (${how})`);
          tally.set(`run ${err.code}`, (tally.get(`run ${err.code}`) ?? 0) + 1);
        } finally {
          engine.dispose();
        }
      }
      // Resealed plans get past the checksum, so the parser must reject many of them itself.
      expect(outcomes.resealed.get('BAD_PLAN checksum') ?? 0).toBe(0);
      expect(outcomes.resealed.get('BAD_PLAN parser') ?? 0).toBeGreaterThan(30);
      expect(outcomes.raw.get('BAD_PLAN checksum') ?? 0).toBeGreaterThan(30);
    }, 300_000);
  }
});
