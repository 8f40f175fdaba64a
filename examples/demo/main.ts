/**
 * `npm run demo`: builds an engine from a small bundled ONNX model (a CNN classifier exported by PyTorch),
 * runs a batch of images through it and prints the outputs and timing. Runs on the GPU where the CUDA
 * backend is available, else on the CPU reference backend.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Builder, OnnxParser, Runtime, backends, cudaDevices, version } from '../../lib/index.js';
import { seededUniform } from '../seeded-random.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const modelPath = path.join(here, 'demo_cnn.onnx');
const batch = 4;
const iterations = 20;

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

async function main(): Promise<void> {
  console.log(`inferrt ${version()} — backends: ${backends().join(', ')}`);
  for (const gpu of cudaDevices()) console.log(`GPU ${gpu.index}: ${gpu.name} (${gpu.arch}, ${(gpu.totalMemory / 2 ** 30).toFixed(0)} GiB)`);
  const builder = new Builder();  // 'auto': the GPU when the CUDA backend can run the model, else the CPU
  console.log(`building for the ${builder.backend} backend`);
  using network = builder.createNetwork();
  await OnnxParser.parseFile(network, modelPath);
  const input = network.inputs[0]!;
  const [, channels, height, width] = input.dims;
  const shape = [batch, channels!, height!, width!];
  const config = builder.createConfig({
    profiles: [{ [input.name]: { min: [1, channels!, height!, width!], opt: shape, max: [16, channels!, height!, width!] } }],
  });

  let start = process.hrtime.bigint();
  const plan = await builder.build(network, config, {
    onProgress: (p) => process.stdout.write(`\rbuilding (${builder.backend}): ${p.stage.padEnd(12)} ${Math.round(p.fraction * 100)}%`),
  });
  console.log(`\nbuilt ${path.basename(modelPath)} in ${ms(start).toFixed(1)} ms: plan of ${plan.bytes.byteLength} bytes`);

  using engine = await Runtime.load(plan.bytes);
  using ctx = engine.createContext();
  const next = seededUniform(42);
  const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => next() * 2 - 1);
  const inputs = { [input.name]: { data, shape } };

  const first = await ctx.infer(inputs);
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    start = process.hrtime.bigint();
    await ctx.infer(inputs);
    times.push(ms(start));
  }
  for (const [name, out] of Object.entries(first)) {
    console.log(`output '${name}': ${out.dtype} [${out.shape.join(', ')}]`);
    const classes = out.shape[1] ?? 1;
    const values = out.data as Float32Array;
    for (let b = 0; b < batch; b++) {
      const row = Array.from(values.subarray(b * classes, (b + 1) * classes));
      const top = row.indexOf(Math.max(...row));
      console.log(`  image ${b}: top-1 class ${top} (${row[top]!.toFixed(4)}), [${row.slice(0, 4).map((v) => v.toFixed(4)).join(', ')}, …]`);
    }
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  console.log(`infer, batch ${batch}, ${iterations} runs on ${engine.info.backend}: mean ${mean.toFixed(2)} ms, median ${times[times.length >> 1]!.toFixed(2)} ms, min ${times[0]!.toFixed(2)} ms`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? `${(e as { code?: string }).code ?? 'ERROR'}: ${e.message}` : e);
  process.exit(1);
});
