import { describe, expect, it } from 'vitest';
import { Builder, Runtime, hasPlugin, plugins, tensor } from '../../lib/index.js';

const hidden = 8;
const rows = 3;

describe('plugins', () => {
  it('lists registered plugins with name, version and description', () => {
    for (const p of plugins()) {
      expect(typeof p.name).toBe('string');
      expect(typeof p.version).toBe('string');
      expect(typeof p.description).toBe('string');
    }
  });

  it('rejects an unregistered plugin', async () => {
    const builder = new Builder({ backend: 'cpu' });
    using network = builder.createNetwork();
    const x = network.addInput('x', 'float32', [2]);
    let failure: unknown;
    try {
      network.markOutput(network.addPlugin('NoSuchPlugin', [x]).output(), 'y');
      await builder.build(network, builder.createConfig());
    } catch (e) {
      failure = e;
    }
    expect(failure).toMatchObject({ code: 'UNSUPPORTED_OP' });
  });

  // SkipLayerNorm v1 (being written in plugins/): y = LayerNorm(x + skip [+ bias]) * gamma + beta over the last dim.
  it.skipIf(!hasPlugin('SkipLayerNorm', '1'))('runs SkipLayerNorm v1 through the public API', async () => {
    const builder = new Builder({ backend: 'cpu' });
    using network = builder.createNetwork();
    const x = network.addInput('x', 'float32', [rows, hidden]);
    const skip = network.addInput('skip', 'float32', [rows, hidden]);
    const gammaData = Float32Array.from({ length: hidden }, (_, i) => 1 + i / 10);
    const betaData = Float32Array.from({ length: hidden }, (_, i) => i / 20 - 0.2);
    const gamma = network.addConstant([hidden], gammaData);
    const beta = network.addConstant([hidden], betaData);
    network.markOutput(network.addPlugin('SkipLayerNorm', [x, skip, gamma, beta], { epsilon: 1e-5 }).output(), 'y');
    using engine = await Runtime.load(await builder.build(network, builder.createConfig()));
    using ctx = engine.createContext();
    const xd = Float32Array.from({ length: rows * hidden }, (_, i) => Math.sin(i));
    const sd = Float32Array.from({ length: rows * hidden }, (_, i) => Math.cos(i * 0.7));
    const { y } = await ctx.infer({ x: tensor(xd, [rows, hidden]), skip: tensor(sd, [rows, hidden]) });
    expect(y!.shape).toEqual([rows, hidden]);
    for (let r = 0; r < rows; r++) {
      const v = Array.from({ length: hidden }, (_, i) => xd[r * hidden + i]! + sd[r * hidden + i]!);
      const mean = v.reduce((a, b) => a + b) / hidden;
      const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / hidden;
      for (let i = 0; i < hidden; i++) {
        const want = ((v[i]! - mean) / Math.sqrt(variance + 1e-5)) * gammaData[i]! + betaData[i]!;
        expect(y!.data[r * hidden + i]).toBeCloseTo(want, 4);
      }
    }
  });
});
