/**
 * The builder's attention fusion: MatMul(q, kᵀ) [· scale] [+ mask] -> Softmax -> MatMul(·, v) becomes one Attention
 * layer (after the scale and masked-softmax fusions put alpha and the mask on the MatMul and the Softmax). Checked
 * on the forms exporters write: heads split by Transpose [0, 2, 1, 3] (read around as layout 1), K by transB, by a
 * Transpose [0, 2, 3, 1] or as a given Kᵀ (a Transpose inserted), the merge transpose after it; each against the
 * float64 formula (attention-reference.ts). Near misses must not fuse, and neither may dims that could broadcast:
 * with dynamic batch dims it fuses only where they provably agree. (The PyTorch fixtures: attention-fusion.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import type { NetworkDefinition, NetworkTensor } from '../../lib/index.js';
import { randomFloats } from '../api/helpers.js';
import { attentionReference, buildAndRun, expectCloseOrNaN, f32, permute, roundHalf, volume, type AttentionData } from './attention-reference.js';

const B = 2, H = 2, Sq = 3, Sk = 4, D = 5, Dv = 3, SCALE = 0.25;
const dims = { B, H, Sq, Sk, D, Dv };
const maskDims = [B, 1, 1, Sk];
const base: AttentionData = {
  q: randomFloats(B * H * Sq * D, 81), k: randomFloats(B * H * Sk * D, 82), v: randomFloats(B * H * Sk * Dv, 83), dims,
  mask: { dims: maskDims, data: Float32Array.from({ length: volume(maskDims) }, (_, i) => (i % Sk === Sk - 1 ? -10000 : 0.1 * i)) },
  alpha: SCALE,
};
const reference = attentionReference(base);

/** How the block is written. */
interface Form {
  split?: boolean;          // q, k, v given as [B, S, H, D] and transposed by [0, 2, 1, 3] (K by [0, 2, 3, 1] without transB)
  key?: 'transB' | 'transposed' | 'kt' | 'odd';  // transB; Kᵀ = Transpose(k); Kᵀ given; Kᵀ = Transpose(k [B, D, H, Sk], [0, 2, 1, 3])
  merge?: boolean;          // the result transposed back to [B, Sq, H, Dv]
  noMask?: boolean;
  passThrough?: boolean;    // an Identity and a Cast to float32 between Softmax and the second MatMul (GPT-2's export)
  zeroNanRows?: boolean;    // Where(IsNaN(p), 0, p) between Softmax and the second MatMul (PyTorch SDPA exports)
  // near misses
  scoresReadTwice?: boolean;
  probsOutput?: boolean;
  softmaxAxis?: number;
  logSoftmax?: boolean;
  secondAlpha?: number;
  exposeQHeads?: boolean;   // the q transpose's output is also a network output (the transpose must stay)
}

const perms = { heads: [0, 2, 1, 3], keyT: [0, 2, 3, 1], swap: [0, 1, 3, 2], odd: [0, 3, 1, 2] };

/** The inputs each form reads, rearranged from the logical q, k, v. */
function feeds(form: Form, a: AttentionData = base) {
  const logical = { q: [B, H, Sq, D], k: [B, H, Sk, D], v: [B, H, Sk, Dv] };
  const input = (data: Float32Array, d: number[], perm?: number[]) => (perm ? f32(permute(data, d, perm), perm.map((p) => d[p]!)) : f32(data, d));
  const key = form.key ?? 'transB';
  const kPerm = key === 'kt' ? perms.swap : key === 'odd' ? perms.odd : form.split ? perms.heads : undefined;
  const result: Record<string, ReturnType<typeof f32>> = {
    q: input(a.q, logical.q, form.split ? perms.heads : undefined),
    k: input(a.k, logical.k, kPerm),
    v: input(a.v, logical.v, form.split ? perms.heads : undefined),
  };
  if (!form.noMask) result.mask = f32(a.mask!.data, a.mask!.dims);
  return result;
}

function define(form: Form) {
  return (n: NetworkDefinition): void => {
    const f = feeds(form);
    const [q0, k0, v0] = (['q', 'k', 'v'] as const).map((name) => n.addInput(name, 'float32', f[name]!.shape));
    const heads = (t: NetworkTensor) => (form.split ? n.addTranspose(t, perms.heads).output() : t);
    const q = heads(q0!), v = heads(v0!);
    if (form.exposeQHeads) n.markOutput(q, 'q_heads');
    const key = form.key ?? 'transB';
    let scores: NetworkTensor;
    if (key === 'transB') scores = n.addMatrixMultiply(q, heads(k0!), { transposeB: true }).output();
    else if (key === 'transposed') scores = n.addMatrixMultiply(q, n.addTranspose(k0!, form.split ? perms.keyT : perms.swap).output()).output();
    else if (key === 'kt') scores = n.addMatrixMultiply(q, k0!).output();
    else scores = n.addMatrixMultiply(q, n.addTranspose(k0!, perms.heads).output()).output();  // [B, D, H, Sk] -> [B, H, D, Sk]
    const scaled = n.addElementWise(scores, n.addConstant([], new Float32Array([SCALE])), 'mul').output();
    const logits = form.noMask ? scaled : n.addElementWise(scaled, n.addInput('mask', 'float32', maskDims), 'add').output();
    const probs = n.addSoftmax(logits, { axis: form.softmaxAxis ?? -1, log: form.logSoftmax }).output();
    let p = form.passThrough ? n.addCast(n.addIdentity(probs).output(), 'float32').output() : probs;
    if (form.zeroNanRows) p = n.addWhere(n.addUnary(p, 'isnan').output(), n.addConstant([], new Float32Array([0])), p).output();
    let out = n.addMatrixMultiply(p, v, form.secondAlpha === undefined ? {} : { alpha: form.secondAlpha }).output();
    if (form.merge) out = n.addTranspose(out, perms.heads).output();
    n.markOutput(out, 'out');
    if (form.scoresReadTwice) n.markOutput(n.addUnary(scores, 'neg').output(), 'other');
    if (form.probsOutput) n.markOutput(probs, 'probs');
  };
}

const outOf = (form: Form, want: Float32Array) => (form.merge ? permute(want, [B, H, Sq, Dv], perms.heads) : want);

describe('attention fusion', () => {
  const fused: Array<[string, Form, string[], string]> = [  // what, form, layer kinds after it, log line
    ['q, k, v in [B, H, S, D], K by transB', {}, ['Attention'], 'attention: 1 fused (0 transposes absorbed)'],
    ['heads split and merged by transposes, K by transB', { split: true, merge: true }, ['Attention'], 'attention: 1 fused (4 transposes absorbed)'],
    ['heads split, K transposed by [0, 2, 3, 1] (TorchScript / dynamo exports)', { split: true, key: 'transposed', merge: true }, ['Attention'],
      'attention: 1 fused (4 transposes absorbed)'],
    ['K transposed by [0, 1, 3, 2]', { key: 'transposed' }, ['Attention'], 'attention: 1 fused (1 transposes absorbed)'],
    ['Kᵀ given: a Transpose is inserted', { key: 'kt' }, ['Transpose', 'Attention'], 'attention: 1 fused (0 transposes absorbed, 1 inserted)'],
    ['Kᵀ from another permutation: one Transpose replaces it', { key: 'odd' }, ['Transpose', 'Attention'], 'attention: 1 fused (1 transposes absorbed, 1 inserted)'],
    ['no mask', { split: true, noMask: true }, ['Attention'], 'attention: 1 fused (3 transposes absorbed)'],
    ['an Identity and a same-dtype Cast after the Softmax', { passThrough: true }, ['Attention'], 'attention: 1 fused (0 transposes absorbed)'],
    ['the q transpose also a network output: it stays', { split: true, exposeQHeads: true }, ['Transpose', 'Attention'], 'attention: 1 fused (3 transposes absorbed)'],
  ];
  for (const [what, form, kinds, log] of fused) {
    it(`fuses ${what}`, async () => {
      const r = await buildAndRun(define(form), feeds(form));
      expect(r.kinds).toEqual(kinds);
      expect(r.log).toEqual([log]);
      const want = form.noMask ? attentionReference({ ...base, mask: undefined }) : reference;
      expectCloseOrNaN(r.outputs.out!, outOf(form, want), 1e-5);
      if (form.exposeQHeads) expectCloseOrNaN(r.outputs.q_heads!, base.q, 0);
    });
  }

  it("fuses PyTorch SDPA's Where(IsNaN(p), 0, p): rows whose keys are all masked by -inf give 0, as unfused", async () => {
    const form: Form = { split: true, merge: true, zeroNanRows: true };
    const masked = { ...base, mask: { dims: maskDims, data: base.mask!.data.map((x, i) => (i >= Sk ? -Infinity : x)) } };  // batch 1: every key
    const inputs = { ...feeds(form), mask: f32(masked.mask.data, maskDims) };
    const r = await buildAndRun(define(form), inputs);
    expect(r.kinds).toEqual(['Attention']);
    expect(r.log).toEqual(['attention: 1 fused (4 transposes absorbed)']);
    const want = outOf(form, attentionReference(masked).map((x) => (Number.isNaN(x) ? 0 : x)));
    expect(want.slice(want.length / 2).every((x) => x === 0)).toBe(true);
    expectCloseOrNaN(r.outputs.out!, want, 1e-5);
  });

  it('fuses in an fp16 engine (fp16 storage, fp32 math)', async () => {
    const form: Form = { split: true, key: 'transposed', merge: true };
    const r = await buildAndRun(define(form), feeds(form), { precision: ['fp16'] });
    expect(r.kinds).toEqual(['Attention']);
    expect(r.precisions).toEqual(['fp16']);
    const half = { ...base, q: roundHalf(base.q), k: roundHalf(base.k), v: roundHalf(base.v), mask: { ...base.mask!, data: roundHalf(base.mask!.data) } };
    expectCloseOrNaN(r.outputs.out!, outOf(form, attentionReference(half)), 1e-3);
  });

  const misses: Array<[string, Form]> = [
    ['the scores have another reader', { scoresReadTwice: true }],
    ['the probabilities are a network output', { probsOutput: true }],
    ['the softmax is not over the last axis', { softmaxAxis: 2 }],
    ['the softmax is a log softmax', { logSoftmax: true }],
    ['the second MatMul scales its product', { secondAlpha: 2 }],
  ];
  for (const [what, form] of misses) {
    it(`does not fuse when ${what}`, async () => {
      const r = await buildAndRun(define(form), feeds(form));
      expect(r.kinds).not.toContain('Attention');
      expect(r.kinds).toContain('Softmax');
      expect(r.log).toEqual([]);
      if (form.scoresReadTwice || form.probsOutput) expectCloseOrNaN(r.outputs.out!, reference, 1e-5);
    });
  }
});

describe('attention fusion with dynamic dims', () => {
  /** q, k, v from one input x [B, S, H·D] by three projections and a head split, as in BERT. */
  const fromOneInput = (n: NetworkDefinition): void => {
    const x = n.addInput('x', 'float32', [-1, -1, H * D]);
    const project = (seed: number) => {
      const y = n.addMatrixMultiply(x, n.addConstant([H * D, H * D], randomFloats(H * D * H * D, seed))).output();
      return n.addTranspose(n.addReshape(y, [0, 0, H, D]).output(), perms.heads).output();
    };
    const q = project(91), k = project(92), v = project(93);
    const probs = n.addSoftmax(n.addMatrixMultiply(q, k, { transposeB: true, alpha: SCALE }).output()).output();
    n.markOutput(n.addMatrixMultiply(probs, v).output(), 'out');
  };

  it('fuses where the batch and head dims provably agree (one source tensor)', async () => {
    const x = randomFloats(B * Sk * H * D, 94);
    const r = await buildAndRun(fromOneInput, { x: f32(x, [B, Sk, H * D]) }, {}, true);
    expect(r.kinds).toEqual(['MatMul', 'Reshape', 'MatMul', 'Reshape', 'MatMul', 'Reshape', 'Attention']);
    expect(r.log).toEqual(['attention: 1 fused (3 transposes absorbed)']);
    // The same projections in JS, then the formula.
    const proj = (seed: number) => {
      const w = randomFloats(H * D * H * D, seed), y = new Float32Array(B * Sk * H * D);
      for (let r0 = 0; r0 < B * Sk; r0++)
        for (let j = 0; j < H * D; j++) {
          let s = 0;
          for (let c = 0; c < H * D; c++) s += x[r0 * H * D + c]! * w[c * H * D + j]!;
          y[r0 * H * D + j] = s;
        }
      return permute(y, [B, Sk, H, D], perms.heads);
    };
    const a: AttentionData = { q: proj(91), k: proj(92), v: proj(93), dims: { B, H, Sq: Sk, Sk, D, Dv: D }, alpha: SCALE };
    expectCloseOrNaN(r.outputs.out!, attentionReference(a), 1e-5);
  });

  it('does not fuse batch dims of separate inputs, which MatMul broadcasts and Attention would not', async () => {
    const define = (n: NetworkDefinition): void => {
      const [q, k, v] = ([['q', D, Sq], ['k', D, Sk], ['v', Dv, Sk]] as const).map(([name, d, s]) => n.addInput(name, 'float32', [-1, H, s, d]));
      const probs = n.addSoftmax(n.addMatrixMultiply(q!, k!, { transposeB: true, alpha: SCALE }).output()).output();
      n.markOutput(n.addMatrixMultiply(probs, v!).output(), 'out');
    };
    const one = (t: Float32Array, d: number[]) => f32(t.slice(0, volume(d)), d);  // batch 1: broadcast over q's batch
    const feedsB1 = { q: f32(base.q, [B, H, Sq, D]), k: one(base.k, [1, H, Sk, D]), v: one(base.v, [1, H, Sk, Dv]) };
    const r = await buildAndRun(define, feedsB1, {}, true);
    expect(r.kinds).toEqual(['MatMul', 'Softmax', 'MatMul']);
    expect(r.log).toEqual([]);
    expectCloseOrNaN(r.outputs.out!, attentionReference({ ...base, mask: undefined }, 1, 1), 1e-5);
  });
});
