/**
 * Shared by the builder-pass tests: an ONNX model parsed, built on the CPU backend and run once on float32 inputs,
 * with what the tests look at (build log, the engine's layers, the outputs).
 */
import { Builder, Runtime, tensor, type BuilderConfigOptions, type EngineLayer } from '../../lib/index.js';
import { OnnxParser } from '../../lib/onnx/index.js';
import type { HostTensor } from '../onnx/run.js';

export interface OnnxEngineRun {
  log: string[];
  layers: EngineLayer[];
  outputs: Record<string, Float32Array>;
}

export async function runOnnxOnCpu(bytes: Uint8Array, feeds: Record<string, HostTensor>, config: BuilderConfigOptions = {}): Promise<OnnxEngineRun> {
  const builder = new Builder({ backend: 'cpu' });
  const plan = await (async () => {
    using network = builder.createNetwork();
    OnnxParser.parse(network, bytes);
    return builder.build(network, builder.createConfig(config));
  })();
  using engine = await Runtime.load(plan);
  using ctx = engine.createContext();
  const out = await ctx.infer(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, tensor(t.data as Float32Array, t.dims)])));
  return {
    log: [...plan.buildLog],
    layers: engine.layers,
    outputs: Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array])),
  };
}
