/**
 * GPU suite, engine-core part: the CUDA build of the addon sees the GPU, binds 'cuda' plans to its architecture
 * and refuses plans built for another one. (The CUDA kernels come with the CUDA backend issue; until then a
 * 'cuda' plan runs on the CPU reference kernels, which the build log says and these tests check.)
 * Skipped, with the reason, where the addon has no CUDA part or no GPU is visible.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Builder, InferrtError, OnnxParser, Runtime, backends, cudaCompiled, cudaDevices, type Tensor } from '../../lib/index.js';

const devices = cudaDevices();
const skipReason = !cudaCompiled()
  ? 'the addon was built without the CUDA backend (no CUDA toolkit with cuBLASLt at build time)'
  : devices.length === 0
    ? 'no CUDA device is visible'
    : '';
const model = path.join(import.meta.dirname, '..', 'fixtures', 'models', 'demo_cnn.onnx');

async function demoPlan(backend: 'cpu' | 'cuda'): Promise<{ bytes: Uint8Array; log: readonly string[] }> {
  const builder = new Builder({ backend });
  using network = builder.createNetwork();
  await OnnxParser.parseFile(network, model);
  const config = builder.createConfig({ profiles: [{ input: { min: [1, 3, 32, 32], opt: [2, 3, 32, 32], max: [4, 3, 32, 32] } }] });
  const plan = await builder.build(network, config);
  return { bytes: plan.bytes, log: plan.buildLog };
}

async function run(bytes: Uint8Array): Promise<Record<string, Tensor>> {
  using engine = await Runtime.load(bytes);
  using ctx = engine.createContext();
  const data = Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37));
  return ctx.infer({ input: { data, shape: [2, 3, 32, 32] } });
}

describe.skipIf(skipReason !== '')('CUDA device and plans', () => {
  it('lists the GPU with its name, architecture and memory', () => {
    expect(backends()).toContain('cuda');
    const gpu = devices[0]!;
    console.log(`GPU 0: ${gpu.name}, ${gpu.arch}, ${(gpu.totalMemory / 2 ** 30).toFixed(1)} GiB, ${gpu.multiProcessors} SMs`);
    expect(gpu.name).toMatch(/NVIDIA/);
    expect(gpu.arch).toBe(`sm_${gpu.major}${gpu.minor}`);
    expect(gpu.totalMemory).toBeGreaterThan(2 ** 30);
    expect(gpu.multiProcessors).toBeGreaterThan(0);
  });

  it('binds a cuda plan to the GPU architecture and says where its layers run', async () => {
    const { bytes, log } = await demoPlan('cuda');
    expect(log.join('\n')).toMatch(/backend cuda: (\d+) of \1 layers on the GPU$/m);
    using engine = await Runtime.load(bytes);
    expect(engine.info).toMatchObject({ backend: 'cuda', gpuArch: devices[0]!.arch });
    expect(engine.layers.filter((l) => l.runsOn !== 'cuda')).toEqual([]);
    const [cuda, cpu] = [await run(bytes), await run((await demoPlan('cpu')).bytes)];
    expect(Object.keys(cuda).sort()).toEqual(['logits', 'probs']);
    // TF32 is allowed by default (TensorRT's default too): the GEMMs round their inputs to 10 mantissa bits.
    for (const name of ['logits', 'probs']) {
      const [a, b] = [cuda[name]!.data as Float32Array, cpu[name]!.data as Float32Array];
      const scale = Math.max(...Array.from(b, Math.abs));
      for (let i = 0; i < b.length; i++) expect(Math.abs(a[i]! - b[i]!), `${name}[${i}]`).toBeLessThanOrEqual(2e-3 * scale);
    }
  });

  it('refuses a plan built for another GPU architecture with BAD_PLAN naming both', async () => {
    const { bytes } = await demoPlan('cuda');
    const arch = devices[0]!.arch;
    const text = Buffer.from(bytes).toString('latin1');
    const foreign = Buffer.from(bytes);
    foreign.write('sm_00'.padEnd(arch.length, '0'), text.indexOf(arch), 'latin1');
    const err = await Runtime.load(new Uint8Array(foreign)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InferrtError);
    expect((err as InferrtError).code).toBe('BAD_PLAN');
    expect((err as InferrtError).message).toMatch(new RegExp(`sm_00.*${arch}`));
  });
});

if (skipReason !== '') {
  describe('CUDA device and plans', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
}
