// cuDNN plan choices in plans (the optional 'CDNN' section, native/plan/cudnn_choices.h) on the CPU. CUDA INT8
// builds write them; here a CPU plan gets them through the plan writer (addon.testing.withPlanCudnnChoices), and
// the rest is the real path: the plan reader as Runtime.load uses it, engine.info and runs.
import { describe, expect, it } from 'vitest';
import { addon, type NativeCudnnChoices } from '../../lib/binding.js';
import { Builder, Plan, Runtime, tensor } from '../../lib/index.js';
import { formatReport, inspectEngine } from '../../lib/cli/commands/inspect.js';
import { randomFloats } from '../api/helpers.js';
import { reseal, sections } from '../fuzz/plan-bytes.js';
import { planLoadError } from '../inferrt-errors.js';

const W = randomFloats(4 * 3, 31);

// x [-1, 4] -> MatMul W -> y.
async function buildPlan(): Promise<Plan> {
  const builder = new Builder({ backend: 'cpu' });
  const network = builder.createNetwork();
  const x = network.addInput('x', 'float32', [-1, 4]);
  network.markOutput(network.addMatrixMultiply(x, network.addConstant([4, 3], W, { name: 'w' })).output(), 'y');
  try {
    return await builder.build(network, builder.createConfig({ profiles: [{ x: { min: [1, 4], opt: [2, 4], max: [8, 4] } }] }));
  } finally {
    network.dispose();
  }
}

// Words as the cache keys them: the layout version first, then dims, flags and float bits (one above 2^31).
function choices(overrides: Partial<NativeCudnnChoices> = {}): NativeCudnnChoices {
  return {
    cudnnVersion: 91400,
    device: 'NVIDIA H100 80GB HBM3',
    entries: [
      { problem: [1, 64, 1024, 4096, 1, 0, 0, 2, 1, 0, 0, 0, 384, 1, 384, 0, 1, 1], configIndex: 2, configCount: 9, json: '{"engine": "ü"}' },
      { problem: [1, 256, 64, 64, 0, 1, 1, 1, 0, 0x3c23d70a, 1, 0x80000001], configIndex: 5, configCount: 6, json: '' },
      { problem: [1, 8], configIndex: 0, configCount: 1, json: '' },
    ],
    ...overrides,
  };
}

describe("cuDNN plan choices in plans ('CDNN' section)", () => {
  it('the writer writes no section without choices and round-trips them exactly', async () => {
    const plan = await buildPlan();
    expect(sections(plan.bytes).map((s) => s.tag)).not.toContain('CDNN');
    expect(addon.testing.planCudnnChoices(plan.bytes)).toEqual({ cudnnVersion: 0, device: '', entries: [] });
    expect(Buffer.from(addon.testing.withPlanCudnnChoices(plan.bytes, { cudnnVersion: 0, device: '', entries: [] })).equals(Buffer.from(plan.bytes))).toBe(true);

    const written = addon.testing.withPlanCudnnChoices(plan.bytes, choices());
    expect(sections(written).map((s) => s.tag).at(-1)).toBe('CDNN');
    expect(addon.testing.planCudnnChoices(written)).toEqual(choices());
    expect(Buffer.from(addon.testing.withPlanCudnnChoices(written, choices())).equals(Buffer.from(written))).toBe(true);
  });

  it('engine.info reports them; a CPU engine does not use them and runs as without them', async () => {
    const plan = await buildPlan();
    const plain = await Runtime.load(plan);
    expect(plain.info.cudnnPlans).toBeUndefined();
    const engine = await Runtime.load(addon.testing.withPlanCudnnChoices(plan.bytes, choices()));
    expect(engine.info.cudnnPlans).toEqual({ count: 3, used: false, note: 'CPU engines run no cuDNN graphs' });
    expect(inspectEngine('mlp.plan', engine).cudnnPlans).toEqual(engine.info.cudnnPlans);
    expect(formatReport(inspectEngine('mlp.plan', engine))).toContain('  cuDNN plans: 3 chosen at build time, not used (CPU engines run no cuDNN graphs)');
    expect(formatReport(inspectEngine('mlp.plan', plain)).join('\n')).not.toMatch(/cuDNN plans/);
    engine.info.cudnnPlans!.count = 0; // a copy: the engine's own stays
    expect(engine.info.cudnnPlans!.count).toBe(3);
    const x = tensor(randomFloats(3 * 4, 32), [3, 4]);
    const run = async (e: typeof engine) => {
      const ctx = e.createContext();
      try {
        return Array.from((await ctx.infer({ x })).y!.data as Float32Array);
      } finally {
        ctx.dispose();
      }
    };
    expect(await run(engine)).toEqual(await run(plain));
    engine.dispose();
    plain.dispose();
  });

  it('rejects choices the writer should never have written, with BAD_PLAN saying which', async () => {
    const plan = (await buildPlan()).bytes;
    const write = (c: NativeCudnnChoices) => addon.testing.withPlanCudnnChoices(plan, c);
    const [a, b] = choices().entries as [NativeCudnnChoices['entries'][0], NativeCudnnChoices['entries'][0]];
    expect(await planLoadError(write(choices({ cudnnVersion: 0 })))).toMatch(/^corrupt section 'CDNN': cuDNN plan choices without a cuDNN version$/);
    expect(await planLoadError(write(choices({ device: '' })))).toMatch(/^corrupt section 'CDNN': cuDNN plan choices without a GPU name$/);
    expect(await planLoadError(write(choices({ entries: [a, { ...b, problem: [] }] })))).toMatch(
      /^corrupt section 'CDNN' at offset \d+: cuDNN choice 1 has a problem key of 0 words \(1 to 64\)$/,
    );
    expect(await planLoadError(write(choices({ entries: [{ ...a, problem: Array.from({ length: 65 }, (_, i) => i) }] })))).toMatch(
      /cuDNN choice 0 has a problem key of 65 words \(1 to 64\)$/,
    );
    expect(await planLoadError(write(choices({ entries: [{ ...a, configIndex: 9 }] })))).toMatch(/cuDNN choice 0 picks configuration 9 of 9$/);
    expect(await planLoadError(write(choices({ entries: [a, { ...b, configCount: 0, configIndex: 0 }] })))).toMatch(/cuDNN choice 1 picks configuration 0 of 0$/);
    expect(await planLoadError(write(choices({ entries: [a, b, { ...a, configIndex: 0 }] })))).toMatch(/cuDNN choice 2 repeats a problem$/);
    expect(() => addon.testing.planCudnnChoices(write(choices({ cudnnVersion: 0 })))).toThrow(/without a cuDNN version/);
  });

  it('rejects a truncated section and one with more entries than bytes', async () => {
    const good = addon.testing.withPlanCudnnChoices((await buildPlan()).bytes, choices());
    const cdnn = sections(good).find((s) => s.tag === 'CDNN')!;
    const cut = new Uint8Array(good.length - 10);
    cut.set(good.subarray(0, cdnn.at + 16 + cdnn.length - 10));
    new DataView(cut.buffer).setBigUint64(cdnn.at + 8, BigInt(cdnn.length - 10), true);
    expect(await planLoadError(reseal(cut))).toMatch(/^truncated in section 'CDNN' at offset \d+: needs \d+ more bytes, \d+ left$/);

    // The entry count sits after the u64 version and the device string (u32 length + bytes).
    const many = good.slice();
    const payload = new DataView(many.buffer, many.byteOffset + cdnn.at + 16, cdnn.length);
    payload.setUint32(8 + 4 + payload.getUint32(8, true), 100000, true);
    expect(await planLoadError(reseal(many))).toMatch(/^truncated in section 'CDNN' at offset \d+: 100000 cuDNN plan choices need at least 3200000 bytes/);
  });
});
