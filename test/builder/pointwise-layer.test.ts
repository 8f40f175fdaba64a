/**
 * Pointwise layers added by hand (network.addLayer('Pointwise', ...)): the program grammar of native/ir/LAYERS.md,
 * every step computing exactly what the same op as a plain layer computes (float32 bits; float16 inputs widened
 * and the output rounded once), broadcasting, and the typed errors that name the layer and the step.
 */
import { describe, expect, it } from 'vitest';
import {
  Builder, floatToHalfBits, halfBitsToFloat, tensor, type NetworkDefinition, type NetworkTensor, type Tensor,
} from '../../lib/index.js';
import { randomFloats } from '../api/helpers.js';
import { thrown } from '../inferrt-errors.js';
import { expectSameBits } from './pointwise-helpers.js';
import { runNetwork } from './network-engine.js';

describe('Pointwise layers added by hand', () => {
  const P = [3, 5];
  const xData = randomFloats(15, 41), yData = randomFloats(5, 42).map((v) => v + 1.5);  // y > 0: pow stays real

  async function run(define: (n: NetworkDefinition) => void, feeds: Record<string, Tensor>): Promise<{ out: Record<string, Tensor>; kinds: string[] }> {
    const { engine, out } = await runNetwork(define, feeds);
    const kinds = engine.layers.map((l) => l.kind);
    engine.dispose();
    return { out, kinds };
  }

  const program = 't0=mul(x0,x1); t1=leaky_relu[alpha=0.2](t0); t2=gelu[approximate=tanh](t1); ' +
    't3=clip[alpha=-0.5,beta=0.75](t2); t4=pow(x1,t3); t5=hard_swish(t4); t6=max(t5,x0); t7=prelu(t6,x1); ' +
    't8=selu(t7); t9=sub(t8, t0); t10=erf(t9); t11=atan(t10)';

  /** The same steps as plain layers, every intermediate a network output so that nothing fuses. */
  function plainLayers(n: NetworkDefinition, x: NetworkTensor, y: NetworkTensor): void {
    const t0 = n.addElementWise(x, y, 'mul').output();
    const t1 = n.addActivation(t0, 'leaky_relu', { alpha: 0.2 }).output();
    const t2 = n.addActivation(t1, 'gelu', { approximate: 'tanh' }).output();
    const t3 = n.addActivation(t2, 'clip', { alpha: -0.5, beta: 0.75 }).output();
    const t4 = n.addElementWise(y, t3, 'pow').output();
    const t5 = n.addActivation(t4, 'hard_swish').output();
    const t6 = n.addElementWise(t5, x, 'max').output();
    const t7 = n.addElementWise(t6, y, 'prelu').output();
    const t8 = n.addActivation(t7, 'selu').output();
    const t9 = n.addElementWise(t8, t0, 'sub').output();
    const t10 = n.addUnary(t9, 'erf').output();
    const t11 = n.addUnary(t10, 'atan').output();
    [t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10].forEach((t, i) => n.markOutput(t, `t${i}`));
    n.markOutput(t11, 'z');
  }

  it('computes a program exactly as the plain layers do (float32, broadcast [3, 5] with [5])', async () => {
    const feeds = { x: tensor(xData, P), y: tensor(yData, [5]) };
    const fused = await run((n) => {
      const x = n.addInput('x', 'float32', P);
      const y = n.addInput('y', 'float32', [5]);
      n.markOutput(n.addLayer('Pointwise', [x, y], { program }).output(), 'z');
    }, feeds);
    expect(fused.kinds).toEqual(['Pointwise']);
    const plain = await run((n) => plainLayers(n, n.addInput('x', 'float32', P), n.addInput('y', 'float32', [5])), feeds);
    expect(plain.kinds).not.toContain('Pointwise');
    expect(fused.out.z!.shape).toEqual(P);
    expectSameBits(fused.out.z!.data as Float32Array, plain.out.z!.data as Float32Array, 'z');
  });

  it('takes float16 inputs, computes in fp32 and rounds the output once', async () => {
    const xh = Uint16Array.from(xData, floatToHalfBits), yh = Uint16Array.from(yData, floatToHalfBits);
    const fused = await run((n) => {
      const x = n.addInput('x', 'float16', P);
      const y = n.addInput('y', 'float16', [5]);
      n.markOutput(n.addLayer('Pointwise', [x, y], { program }).output(), 'z');
    }, { x: tensor(xh, P, 'float16'), y: tensor(yh, [5], 'float16') });
    expect(fused.out.z!.dtype).toBe('float16');
    // The float32 plain layers on the same (widened) values, rounded to fp16 at the end only.
    const plain = await run((n) => plainLayers(n, n.addInput('x', 'float32', P), n.addInput('y', 'float32', [5])),
      { x: tensor(Float32Array.from(xh, halfBitsToFloat), P), y: tensor(Float32Array.from(yh, halfBitsToFloat), [5]) });
    expect(Array.from(fused.out.z!.data as Uint16Array)).toEqual(Array.from(plain.out.z!.data as Float32Array, floatToHalfBits));
  });

  it('fuses layers whose parameters need every digit or are infinite, reading them back exactly', async () => {
    const define = (expose: boolean) => (n: NetworkDefinition): void => {
      const x = n.addInput('x', 'float32', P);
      const m = n.addUnary(x, 'neg').output();
      const c = n.addActivation(m, 'clip', { alpha: -Infinity, beta: 1 / 3 }).output();
      const e = n.addActivation(c, 'elu', { alpha: Math.PI }).output();
      n.markOutput(n.addActivation(e, 'leaky_relu', { alpha: 0.1 }).output(), 'z');
      if (expose) [m, c, e].forEach((t, i) => n.markOutput(t, `t${i}`));
    };
    const feeds = { x: tensor(xData.map((v) => v * 3), P) };
    const fused = await run(define(false), feeds);
    expect(fused.kinds).toEqual(['Pointwise']);
    const plain = await run(define(true), feeds);
    expect(plain.kinds).toEqual(['Unary', 'Activation', 'Activation', 'Activation']);
    expectSameBits(fused.out.z!.data as Float32Array, plain.out.z!.data as Float32Array, 'z');
  });

  it('broadcasts a scalar and a rank-0 input into the output shape', async () => {
    const feeds = { x: tensor(xData, P), s: tensor(new Float32Array([0.75]), []) };
    const r = await run((n) => {
      const x = n.addInput('x', 'float32', P);
      const s = n.addInput('s', 'float32', []);
      n.markOutput(n.addLayer('Pointwise', [s, x], { program: ' t0 = mul ( x0 , x1 ) ;t1=exp(t0)' }).output(), 'z');
    }, feeds);
    expect(r.out.z!.shape).toEqual(P);
    const z = r.out.z!.data as Float32Array;
    for (let i = 0; i < 15; i++) expect(z[i]).toBe(Math.fround(Math.exp(Math.fround(0.75 * xData[i]!))));
  });

  const bad: Array<[string, string, number, RegExp]> = [
    ['an unknown op', 't0=add(x0,x1); t1=swish(t0)', 2, /step 1 't1=swish\(t0\)': unknown op 'swish'; expected one of add sub/],
    ['a bool op', 't0=less(x0,x1)', 2, /step 0 't0=less\(x0,x1\)': unknown op 'less'/],
    ['an input beyond the layer\'s', 't0=add(x0,x2)', 2, /step 0 't0=add\(x0,x2\)': operand x2 names input 2 of 2/],
    ['a later step', 't0=exp(t1); t1=neg(x0)', 1, /step 0 't0=exp\(t1\)': operand t1 is not an earlier step's result/],
    ['steps out of order', 't0=exp(x0); t2=neg(t0)', 1, /step 1 't2=neg\(t0\)': must define t1/],
    ['too few operands', 't0=add(x0)', 1, /step 0 't0=add\(x0\)': add takes 2 operands, got 1/],
    ['too many operands', 't0=relu(x0,x0)', 1, /step 0 't0=relu\(x0,x0\)': relu takes 1 operand, got 2/],
    ['parameters on a Unary op', 't0=exp[alpha=1](x0)', 1, /step 0 .*: exp takes no parameters/],
    ['an unknown parameter', 't0=elu[gamma=1](x0)', 1, /step 0 .*: unknown parameter 'gamma' of elu/],
    ['a parameter the op does not read', 't0=relu[alpha=3](x0)', 1, /step 0 .*: relu takes no parameter 'alpha'/],
    ['approximate on another op than gelu', 't0=sigmoid[approximate=tanh](x0)', 1, /step 0 .*: sigmoid takes no parameter 'approximate'/],
    ['a parameter that is no number', 't0=elu[alpha=big](x0)', 1, /step 0 .*: parameter 'alpha' needs a number, got 'big'/],
    ['a NaN clip bound', 't0=clip[alpha=nan](x0)', 1, /step 0 .*: clip bounds alpha \(min\) and beta \(max\) must not be NaN/],
    ['a bad gelu approximation', 't0=gelu[approximate=fast](x0)', 1, /step 0 .*: gelu attribute 'approximate' must be 'none' or 'tanh'/],
    ['an empty step', 't0=exp(x0);', 1, /program step 1 is empty/],
    ['trailing text', 't0=exp(x0) x', 1, /step 0 .*: unexpected text after '\)'/],
    ['an operand that is no name', 't0=exp(3)', 1, /step 0 .*: operand '' is neither an input x<i> nor a step result t<k>/],
  ];
  for (const [what, prog, inputs, message] of bad) {
    it(`rejects a program with ${what} (INVALID_ARGUMENT naming the layer and the step)`, () => {
      const network = new Builder({ backend: 'cpu' }).createNetwork();
      const x = network.addInput('x', 'float32', [4]);
      const e = thrown(() => network.addLayer('Pointwise', Array.from({ length: inputs }, () => x), { program: prog }, { name: 'fused' }));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toMatch(/layer 'fused' \(Pointwise\)/);
      expect(e.message).toMatch(message);
      network.dispose();
    });
  }

  it('rejects inputs of mixed or non-float dtypes, a missing program and more than 8 inputs', () => {
    const network = new Builder({ backend: 'cpu' }).createNetwork();
    const x = network.addInput('x', 'float32', [4]);
    const h = network.addInput('h', 'float16', [4]);
    const i = network.addInput('i', 'int32', [4]);
    expect(thrown(() => network.addLayer('Pointwise', [x, h], { program: 't0=add(x0,x1)' })).message).toMatch(/input 1 has dtype float16 but input 0 has dtype float32/);
    expect(thrown(() => network.addLayer('Pointwise', [i], { program: 't0=abs(x0)' })).code).toBe('DTYPE_MISMATCH');
    expect(thrown(() => network.addLayer('Pointwise', [x], {})).message).toMatch(/program/);
    const nine = thrown(() => network.addLayer('Pointwise', Array.from({ length: 9 }, () => x), { program: 't0=abs(x0)' }));
    expect(nine.message).toMatch(/expects 1 to 8 inputs, got 9/);
    expect(thrown(() => network.addLayer('Pointwise', [x, network.addInput('w', 'float32', [3])], { program: 't0=add(x0,x1)' })).code).toBe('SHAPE_MISMATCH');
    network.dispose();
  });
});
