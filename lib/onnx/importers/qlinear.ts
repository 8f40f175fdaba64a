/**
 * QLinearMatMul and QLinearConv, lowered to exact integer math and one requantization:
 * MatMulInteger / ConvInteger with the zero points (int32) → QLinearConv's int32 bias B added per output channel →
 * Cast to float32 → Mul by a_scale · b_scale (a float32 constant computed here when both scales are constant, else
 * a Mul layer of the two; per-row / per-column / per-channel scales laid out to broadcast over the result) →
 * QuantizeLinear with y_scale and y_zero_point. The node's name goes to that last layer. The scale arithmetic is
 * pinned to fp32 here; the Cast of the int32 sums (past fp16's 65504) and the Mul reading it stay fp32 by the
 * builder's precision pass, as for any integer-to-float layer.
 */
import type { Layer, NetworkTensor } from '../../network.js';
import type { ImportContext } from '../context.js';
import type { OnnxNode } from '../node.js';
import { windowParams } from './nn.js';

/**
 * Zero point input `i` of `node`, or null when absent: it must have its operand's dtype (INVALID_MODEL) and hold
 * one value or be 1-D (UNSUPPORTED_OP for N-D zero points).
 */
export function zeroPointOf(ctx: ImportContext, node: OnnxNode, i: number, what: string, operand: NetworkTensor, operandName: string): NetworkTensor | null {
  const zp = ctx.input(node, i);
  if (!zp) return null;
  if (zp.dtype !== operand.dtype) throw node.invalid(`${what} has dtype ${zp.dtype} but ${operandName} has dtype ${operand.dtype}; they must match`);
  if (zp.dims.length > 1) throw node.unsupported(`${what} of dims [${zp.dims.join(', ')}] is not supported; a scalar or 1-D zero point is`);
  return zp;
}

/** How a scale with more than one value lines up with the integer result: its dims given its length (-1: unknown). */
type VectorLayout = (length: number) => number[];

/** Values a scale holds: 1 for rank 0, else the product of its dims (-1 while unknown). */
function valueCount(t: NetworkTensor): number {
  return t.dims.some((d) => d < 0) ? -1 : t.dims.reduce((a, d) => a * d, 1);
}

/** Element-wise float32 products of two constant arrays of dims `da` and `db` (numpy broadcast). */
function broadcastProduct(node: OnnxNode, a: readonly number[], da: number[], b: readonly number[], db: number[]): { values: Float32Array; dims: number[] } {
  const rank = Math.max(da.length, db.length);
  const pa = [...Array<number>(rank - da.length).fill(1), ...da];
  const pb = [...Array<number>(rank - db.length).fill(1), ...db];
  const dims = pa.map((d, i) => (d === 1 ? pb[i]! : d));
  pb.forEach((d, i) => {
    if (d !== 1 && d !== dims[i]) throw node.invalid(`scales of dims [${da.join(', ')}] and [${db.join(', ')}] do not broadcast`);
  });
  const values = new Float32Array(dims.reduce((s, d) => s * d, 1));
  for (let i = 0; i < values.length; i++) {
    let rest = i, ia = 0, ib = 0, sa = 1, sb = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const c = rest % dims[d]!;
      rest = Math.floor(rest / dims[d]!);
      if (pa[d] !== 1) ia += c * sa;
      if (pb[d] !== 1) ib += c * sb;
      sa *= pa[d]!;
      sb *= pb[d]!;
    }
    values[i] = a[ia]! * b[ib]!;  // the exact double product, rounded once to float32: an fp32 multiply
  }
  return { values, dims };
}

/** The output of a requantization layer, the layer pinned to fp32 (whatever the engine's precision). */
function fp32(layer: Layer): NetworkTensor {
  layer.setPrecision('fp32');
  return layer.output(0);
}

/** A non-constant scale as float32, reshaped to [] (one value) or its vector layout. */
function laidOut(ctx: ImportContext, node: OnnxNode, scale: NetworkTensor, layout: VectorLayout, tag: string): NetworkTensor {
  const n = ctx.network;
  const f = scale.dtype === 'float32' ? scale : fp32(n.addCast(scale, 'float32', ctx.opts(node, `${tag}_float`)));
  const dims = valueCount(scale) === 1 ? [] : layout(-1);
  return fp32(n.addReshape(f, dims, ctx.opts(node, `${tag}_layout`)));
}

/** a_scale · b_scale in float32, laid out to broadcast over the integer result. */
function scaleProduct(ctx: ImportContext, node: OnnxNode, a: NetworkTensor, aLayout: VectorLayout, b: NetworkTensor, bLayout: VectorLayout): NetworkTensor {
  const va = ctx.knownNumbers(a);
  const vb = ctx.knownNumbers(b);
  if (va && vb) {
    const dimsOf = (v: readonly number[], layout: VectorLayout) => (v.length === 1 ? [] : layout(v.length));
    const { values, dims } = broadcastProduct(node, va, dimsOf(va, aLayout), vb, dimsOf(vb, bLayout));
    return ctx.network.addConstant(dims, values, { name: ctx.freshTensorName(`${node.name}/scale`), dtype: 'float32' });
  }
  const la = laidOut(ctx, node, a, aLayout, 'a_scale');
  const lb = laidOut(ctx, node, b, bLayout, 'b_scale');
  return fp32(ctx.network.addElementWise(la, lb, 'mul', ctx.opts(node, 'scale')));
}

/** int32 accumulators → float32 → · multiplier → QuantizeLinear(y_scale, y_zero_point), named after the node. */
function requantize(ctx: ImportContext, node: OnnxNode, acc: NetworkTensor, multiplier: NetworkTensor, yScaleInput: number): NetworkTensor {
  const n = ctx.network;
  const yScale = ctx.required(node, yScaleInput, 'y_scale');
  if (valueCount(yScale) > 1) throw node.unsupported(`y_scale of dims [${yScale.dims.join(', ')}] is not supported; it must hold one value (per-tensor output quantization)`);
  const yZero = ctx.input(node, yScaleInput + 1);
  if (yZero && yZero.dtype !== 'int8' && yZero.dtype !== 'uint8') throw node.invalid(`y_zero_point must be int8 or uint8, got ${yZero.dtype}`);
  // The builder keeps this Cast of int32 sums and the Mul reading it in fp32 (precision pass): fp16 would overflow.
  const f = n.addCast(acc, 'float32', ctx.opts(node, 'float')).output(0);
  const scaled = n.addElementWise(f, multiplier, 'mul', ctx.opts(node, 'rescaled')).output(0);
  const outputDType = yZero?.dtype === 'int8' ? 'int8' : 'uint8';
  return n.addQuantize(scaled, yScale, yZero, { outputDType, ...ctx.opts(node) }).output(0);
}

/** QLinearMatMul: a_scale per tensor or per row of a ([M] → [M, 1]), b_scale per tensor or per column of b ([N]). */
export function importQLinearMatMul(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const a = ctx.required(node, 0, 'a');
  const b = ctx.required(node, 3, 'b');
  const aZero = zeroPointOf(ctx, node, 2, 'a_zero_point', a, 'a');
  const bZero = zeroPointOf(ctx, node, 5, 'b_zero_point', b, 'b');
  const acc = ctx.network.addMatrixMultiplyInteger(a, b, aZero, bZero, ctx.opts(node, 'integer')).output(0);
  const multiplier = scaleProduct(ctx, node, ctx.required(node, 1, 'a_scale'), (m) => [m, 1], ctx.required(node, 4, 'b_scale'), (n) => [n]);
  return requantize(ctx, node, acc, multiplier, 6);
}

/** QLinearConv: x_scale per tensor, w_scale per tensor or per output channel ([M] → [M, 1, ...]); bias B int32 [M]. */
export function importQLinearConv(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const n = ctx.network;
  const x = ctx.required(node, 0, 'x');
  const w = ctx.required(node, 3, 'w');
  const xZero = zeroPointOf(ctx, node, 2, 'x_zero_point', x, 'x');
  const wZero = zeroPointOf(ctx, node, 5, 'w_zero_point', w, 'w');
  let acc = n.addConvolutionInteger(x, w, xZero, wZero, { ...windowParams(node), group: node.int('group', 1), ...ctx.opts(node, 'integer') }).output(0);
  const perChannel: VectorLayout = (m) => [m, ...Array<number>(Math.max(x.dims.length - 2, 0)).fill(1)];
  const bias = ctx.input(node, 8);
  if (bias) {
    if (bias.dtype !== 'int32') throw node.invalid(`B must be int32, got ${bias.dtype}`);
    if (bias.dims.length !== 1) throw node.invalid(`B must be 1-D [M], got dims [${bias.dims.join(', ')}]`);
    const channels = n.addReshape(bias, perChannel(-1), ctx.opts(node, 'bias_layout')).output(0);
    acc = n.addElementWise(acc, channels, 'add', ctx.opts(node, 'bias')).output(0);
  }
  const perTensorOnly: VectorLayout = () => {
    throw node.invalid('x_scale must hold one value (per-tensor input quantization)');
  };
  const multiplier = scaleProduct(ctx, node, ctx.required(node, 1, 'x_scale'), perTensorOnly, ctx.required(node, 4, 'w_scale'), perChannel);
  return requantize(ctx, node, acc, multiplier, 6);
}
