/**
 * The builder's reshape-transpose folding (native/builder/reshape_transpose_folding.cc): Reshape [B, H, S, D] ->
 * [-1, S, D], Transpose [0, 2, 1], Reshape -> [B, H, D, S] (PyTorch dynamo's Kᵀ) becomes one Transpose, with
 * static targets and with targets computed from Shape layers over dynamic dims, and reads through a Transpose that
 * writes its input. Chains whose targets are not that swap must stay, and every case must compute what numpy
 * does: the reference below reshapes and transposes row-major arrays in plain JS.
 */
import { describe, expect, it } from 'vitest';
import type { NetworkDefinition, NetworkTensor } from '../../lib/index.js';
import { expectClose, randomFloats } from '../api/helpers.js';
import { runNetwork } from './network-engine.js';

const [B, H, S, D] = [2, 3, 4, 5];
const input = randomFloats(B * H * S * D, 91);

/** Row-major transpose of `x` with dims `dims` by `perm`. */
function transpose(x: Float32Array, dims: number[], perm: number[]): Float32Array {
  const outDims = perm.map((p) => dims[p]!);
  const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(x.length);
  const index = new Array<number>(dims.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let rest = o;
    for (let i = outDims.length - 1; i >= 0; i--) {
      index[i] = rest % outDims[i]!;
      rest = Math.floor(rest / outDims[i]!);
    }
    out[o] = x[perm.reduce((s, p, i) => s + index[i]! * strides[p]!, 0)]!;
  }
  return out;
}

interface ChainOptions {
  dynamic?: boolean;  // x [-1, H, -1, D]: both targets computed from Shape layers at run time
  headsFirst?: boolean;  // x written by Transpose(input [B, S, H, D], [0, 2, 1, 3]), as PyTorch's head split
  secondTarget?: number[];  // the second Reshape's static target instead of [B, H, D, S]
  // Dynamic targets in other orders of x's dims (-1 for the inferred one): default [-1, 2, 3] and [0, 1, 3, 2].
  firstOrder?: number[];
  secondOrder?: number[];
}

function defineChain(o: ChainOptions) {
  return (n: NetworkDefinition): void => {
    const source = n.addInput('x', 'float32', o.headsFirst ? [B, S, H, D] : o.dynamic ? [-1, H, -1, D] : [B, H, S, D]);
    const x = o.headsFirst ? n.addTranspose(source, [0, 2, 1, 3]).output() : source;
    let first: NetworkTensor | number[] = [-1, S, D], second: NetworkTensor | number[] = o.secondTarget ?? [B, H, D, S];
    if (o.dynamic) {
      const shape = n.addShape(x).output();
      const slice = (a: number, b: number): NetworkTensor => n.addSlice(shape, [a], [b]).output();
      const dim = (a: number): NetworkTensor => (a < 0 ? n.addConstant([1], new BigInt64Array([-1n]), { dtype: 'int64' }) : slice(a, a + 1));
      first = n.addConcat((o.firstOrder ?? [-1, 2, 3]).map(dim), 0).output();
      second = n.addConcat((o.secondOrder ?? [0, 1, 3, 2]).map(dim), 0).output();
    }
    const merged = n.addReshape(x, first).output();
    n.markOutput(n.addReshape(n.addTranspose(merged, [0, 2, 1]).output(), second).output(), 'y');
  };
}

async function run(o: ChainOptions): Promise<{ kinds: string[]; log: readonly string[]; y: Float32Array; shape: readonly number[] }> {
  const dims = o.headsFirst ? [B, S, H, D] : [B, H, S, D];
  const { plan, engine, out } = await runNetwork(defineChain(o), { x: [input, dims] }, { fixedProfile: o.dynamic });
  const kinds = engine.layers.map((l) => l.kind);
  engine.dispose();
  return { kinds, log: plan.buildLog, y: out.y!.data as Float32Array, shape: out.y!.shape };
}

const FOLDED = 'transposes: 1 reshape-transpose-reshape chain folded into one Transpose';

describe('reshape-transpose folding', () => {
  it('folds static targets [-1, S, D] and [B, H, D, S] into one Transpose', async () => {
    const r = await run({});
    expect(r.log).toContain(FOLDED);
    expect(r.kinds).toEqual(['Transpose']);
    expect(r.shape).toEqual([B, H, D, S]);
    expectClose(r.y, transpose(input, [B, H, S, D], [0, 1, 3, 2]), 0);
  });

  it('folds targets computed from Shape layers over dynamic batch and sequence dims', async () => {
    const r = await run({ dynamic: true });
    expect(r.log).toContain(FOLDED);
    expect(r.kinds).toEqual(['Transpose']);  // the Shape, Slice and Concat layers are left unread and removed
    expect(r.shape).toEqual([B, H, D, S]);
    expectClose(r.y, transpose(input, [B, H, S, D], [0, 1, 3, 2]), 0);
  });

  it('reads through the Transpose that splits heads: one Transpose [0, 2, 3, 1] of its input', async () => {
    const r = await run({ headsFirst: true });
    expect(r.log).toContain(FOLDED);
    expect(r.kinds).toEqual(['Transpose']);
    expect(r.shape).toEqual([B, H, D, S]);
    expectClose(r.y, transpose(input, [B, S, H, D], [0, 2, 3, 1]), 0);
  });

  it('leaves a chain whose second target is not the swap ([H, B, D, S]): numpy semantics of the chain', async () => {
    const r = await run({ secondTarget: [H, B, D, S] });
    expect(r.log.some((l) => l.startsWith('transposes:'))).toBe(false);
    expect(r.kinds).toContain('Reshape');
    // The chain reinterprets the [B*H, D, S] transpose as [H, B, D, S]: the same bytes as the swap, other dims.
    expect(r.shape).toEqual([H, B, D, S]);
    expectClose(r.y, transpose(input, [B, H, S, D], [0, 1, 3, 2]), 0);
  });

  it('leaves dynamic targets in another order: second [x1, x0, x3, x2], first [-1, x3, x2]', async () => {
    const heads = await run({ dynamic: true, secondOrder: [1, 0, 3, 2] });
    expect(heads.log.some((l) => l.startsWith('transposes:'))).toBe(false);
    expect(heads.shape).toEqual([H, B, D, S]);
    expectClose(heads.y, transpose(input, [B, H, S, D], [0, 1, 3, 2]), 0);
    // [B*H, D, S] is a reinterpretation of x's bytes, not a transpose; the Transpose [0, 2, 1] then swaps those.
    const reread = await run({ dynamic: true, firstOrder: [-1, 3, 2], secondOrder: [0, 1, 2, 3] });
    expect(reread.log.some((l) => l.startsWith('transposes:'))).toBe(false);
    expect(reread.shape).toEqual([B, H, S, D]);
    expectClose(reread.y, transpose(input, [B * H, D, S], [0, 2, 1]), 0);
  });
});
