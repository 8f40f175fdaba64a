/**
 * The builder tests' one way to run a network built with the network API: build it on the CPU backend with
 * `config` (with `fixedProfile`, plus one profile pinned at the feeds' shapes, for networks with dynamic dims),
 * load it and run `feeds` through one context. The caller owns the engine and disposes it.
 */
import {
  Builder, Runtime, tensor, type BuilderConfigOptions, type Engine, type NetworkDefinition, type Plan, type Tensor,
} from '../../lib/index.js';

/** Per input: a tensor, or its data and dims. */
export type NetworkFeeds = Record<string, Tensor | readonly [Float32Array | Uint16Array, readonly number[]]>;

export interface NetworkRunOptions {
  config?: BuilderConfigOptions;
  fixedProfile?: boolean;
}

export async function runNetwork(
  define: (n: NetworkDefinition) => void,
  feeds: NetworkFeeds,
  options: NetworkRunOptions = {},
): Promise<{ plan: Plan; engine: Engine; out: Record<string, Tensor> }> {
  const inputs: Record<string, Tensor> = Object.fromEntries(
    Object.entries(feeds).map(([k, f]) => [k, Array.isArray(f) ? tensor(f[0] as Float32Array, [...(f[1] as number[])]) : (f as Tensor)]),
  );
  const profile = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, { min: t.shape, opt: t.shape, max: t.shape }]));
  const config = options.fixedProfile ? { ...options.config, profiles: [profile] } : (options.config ?? {});
  const builder = new Builder({ backend: 'cpu' });
  const network = builder.createNetwork();
  let plan: Plan;
  try {
    define(network);
    plan = await builder.build(network, builder.createConfig(config));
  } finally {
    network.dispose();
  }
  const engine = await Runtime.load(plan);
  using ctx = engine.createContext();
  return { plan, engine, out: await ctx.infer(inputs) };
}
