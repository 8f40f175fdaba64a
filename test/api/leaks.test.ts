/**
 * No leaks across 10,000 runs: host memory (RSS and the ArrayBuffers Node tracks) must level off while a small
 * engine runs 10,000 inferences and contexts are created and disposed. The bounds are loose (V8's heap grows
 * ~30 MiB here without any leak), so outputs are 16 KiB each: leaking one per run (in JS or natively) adds
 * 160 MiB, which crosses them (checked by keeping every output alive: RSS +180 MiB, ArrayBuffers +154 MiB).
 */
import { describe, expect, it } from 'vitest';
import { Builder, Runtime } from '../../lib/index.js';

const WIDTH = 4096;  // float32 outputs of 16 KiB: a per-run leak of one would add 160 MB over 10,000 runs

async function wideEngine() {
  const builder = new Builder({ backend: 'cpu' });
  using net = builder.createNetwork();
  const x = net.addInput('x', 'float32', [1, WIDTH]);
  const y = net.addActivation(net.addElementWise(x, x, 'add').output(), 'relu').output();
  net.markOutput(y, 'y');
  const plan = await builder.build(net, builder.createConfig());
  return Runtime.load(plan.bytes);
}

function memory(): { rss: number; arrayBuffers: number } {
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, arrayBuffers: m.arrayBuffers };
}

describe('resource use', () => {
  it('runs 10,000 inferences and 1,000 context lifetimes without growing', async () => {
    using engine = await wideEngine();
    const x = { data: new Float32Array(WIDTH).fill(1), shape: [1, WIDTH] };
    using ctx = engine.createContext();
    for (let i = 0; i < 500; i++) await ctx.infer({ x });  // warm up allocators
    const before = memory();
    for (let i = 0; i < 10_000; i++) {
      const { y } = await ctx.infer({ x });
      if (i % 2500 === 0) expect((y!.data as Float32Array)[0]).toBe(2);
    }
    for (let i = 0; i < 1000; i++) {
      using c = engine.createContext();
      await c.infer({ x });
    }
    // Let finalizers and the GC catch up with the last outputs before measuring.
    await new Promise((r) => setTimeout(r, 50));
    const after = memory();
    const grew = { rss: (after.rss - before.rss) / 2 ** 20, arrayBuffers: (after.arrayBuffers - before.arrayBuffers) / 2 ** 20 };
    expect(grew.rss, `RSS grew ${grew.rss.toFixed(1)} MiB`).toBeLessThan(96);  // V8 heap growth without a leak measured ~30 MiB; a leaked 16 KiB output per run is 160 MiB
    expect(grew.arrayBuffers, `ArrayBuffers grew ${grew.arrayBuffers.toFixed(1)} MiB`).toBeLessThan(16);
  }, 120_000);
});
