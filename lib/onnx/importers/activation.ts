/**
 * Activations (Relu ... Mish, Clip, PRelu), Shrink, and Softmax/LogSoftmax including the opset < 13
 * "flatten to 2-D at axis" meaning.
 */
import type { ActivationOp, NetworkTensor } from '../../network.js';
import { isFloat, type ImportContext } from '../context.js';
import type { ImporterTable, OpImporter } from '../importer.js';
import type { OnnxNode } from '../node.js';
import { oneHotMask } from './indexing.js';

/** An activation whose ONNX attributes map onto alpha/beta (with the ONNX defaults). */
function activation(op: ActivationOp, params: { alpha?: [string, number]; beta?: [string, number]; minOpset?: number } = {}): OpImporter {
  return {
    minOpset: params.minOpset,
    import: (ctx, node) => {
      const x = ctx.required(node, 0, 'X');
      const alpha = params.alpha ? node.float(params.alpha[0], params.alpha[1]) : undefined;
      const beta = params.beta ? node.float(params.beta[0], params.beta[1]) : undefined;
      return ctx.network.addActivation(x, op, { alpha, beta, ...ctx.opts(node) }).output(0);
    },
  };
}

/** Clip: attributes min/max before opset 11, optional inputs after; unknown bounds become Max/Min layers. */
function importClip(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const x = ctx.required(node, 0, 'input');
  if (node.opset < 11) {
    return ctx.network.addActivation(x, 'clip', { alpha: node.float('min'), beta: node.float('max'), ...ctx.opts(node) }).output(0);
  }
  node.rejectMovedAttribute('min', 11, 1);
  node.rejectMovedAttribute('max', 11, 2);
  const lo = ctx.input(node, 1);
  const hi = ctx.input(node, 2);
  const loValue = lo ? clipBound(ctx, node, lo, 1, 'min') : undefined;
  const hiValue = hi ? clipBound(ctx, node, hi, 2, 'max') : undefined;
  if (loValue !== null && hiValue !== null) {
    return ctx.network.addActivation(x, 'clip', { alpha: loValue, beta: hiValue, ...ctx.opts(node) }).output(0);
  }
  // Bounds computed at run time: max(x, min) then min(·, max), which also gives "min > max → max" as ONNX says.
  let y = x;
  if (lo) y = ctx.network.addElementWise(y, lo, 'max', hi ? ctx.opts(node, 'min') : ctx.opts(node)).output(0);
  if (hi) y = ctx.network.addElementWise(y, hi, 'min', ctx.opts(node)).output(0);
  return y;
}

/** A present Clip bound's value when known and exact as a number; null sends it through a Max/Min layer. */
function clipBound(ctx: ImportContext, node: OnnxNode, t: NetworkTensor, i: number, what: string): number | null {
  const v = t.value();
  // int64 bounds beyond ±2^53 would round as numbers (INT64_MAX would clip 2^53 + 1).
  const limit = BigInt(Number.MAX_SAFE_INTEGER);
  if (v instanceof BigInt64Array && v.some((b) => b > limit || b < -limit)) return null;
  return ctx.constantScalar(node, i, what);
}

/** Softmax/LogSoftmax. Before opset 13 the op flattens to 2-D at `axis` (default 1) and normalizes each row. */
function softmax(log: boolean): OpImporter {
  return {
    import: (ctx, node) => {
      const x = ctx.required(node, 0, 'input');
      if (node.opset >= 13) return ctx.network.addSoftmax(x, { axis: node.int('axis', -1), log, ...ctx.opts(node) }).output(0);
      const rank = x.dims.length;
      const raw = node.int('axis', 1);
      const axis = raw < 0 ? raw + rank : raw;
      if (axis < 0 || axis > rank || (rank > 0 && axis === rank)) throw node.invalid(`axis ${raw} is out of range for rank ${rank}`);
      if (axis >= rank - 1) return ctx.network.addSoftmax(x, { axis: -1, log, ...ctx.opts(node) }).output(0);
      const shape = ctx.network.addShape(x, ctx.opts(node, 'shape')).output(0);
      const flat = ctx.network.addFlatten(x, axis, ctx.opts(node, 'flatten')).output(0);
      const y = ctx.network.addSoftmax(flat, { axis: 1, log, ...ctx.opts(node, 'softmax') }).output(0);
      return ctx.network.addReshape(y, shape, ctx.opts(node)).output(0);
    },
  };
}

/**
 * Shrink: x < -lambd → x + bias; x > lambd → x - bias; else 0. On integer x the thresholds round outward
 * (x < -1.5 is x < -1 only after ceil) and a fractional bias is added in float32, then cast back.
 */
function importShrink(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const x = ctx.required(node, 0, 'input');
  const lambd = node.float('lambd', 0.5);
  const bias = node.float('bias', 0);
  const n = ctx.network;
  const float = isFloat(x.dtype);
  const viaFloat = !float && !Number.isInteger(bias);
  const xv = viaFloat ? n.addCast(x, 'float32', ctx.opts(node, 'float')).output(0) : x;
  const c = (v: number, t: NetworkTensor, tag: string) => ctx.scalar(v, t.dtype, node, tag);
  const below = n.addElementWise(x, c(float ? -lambd : intThreshold(Math.ceil(-lambd), x), x, 'neg_lambd'), 'less', ctx.opts(node, 'below')).output(0);
  const above = n.addElementWise(x, c(float ? lambd : intThreshold(Math.floor(lambd), x), x, 'lambd'), 'greater', ctx.opts(node, 'above')).output(0);
  const plus = n.addElementWise(xv, c(bias, xv, 'bias'), 'add', ctx.opts(node, 'plus')).output(0);
  const minus = n.addElementWise(xv, c(bias, xv, 'bias_2'), 'sub', ctx.opts(node, 'minus')).output(0);
  const upper = n.addWhere(above, minus, c(0, xv, 'zero'), ctx.opts(node, 'upper')).output(0);
  const y = n.addWhere(below, plus, upper, viaFloat ? ctx.opts(node, 'select') : ctx.opts(node)).output(0);
  return viaFloat ? n.addCast(y, x.dtype, ctx.opts(node)).output(0) : y;
}

/** A comparison threshold clamped into an 8-bit x's range, so uint8 0 > -1 does not wrap to 0 > 255. */
function intThreshold(v: number, x: NetworkTensor): number {
  if (x.dtype === 'uint8') return Math.min(Math.max(v, 0), 255);
  if (x.dtype === 'int8') return Math.min(Math.max(v, -128), 127);
  return v;
}

/**
 * Hardmax: 1 at the first maximum along the axis, else 0 (ArgMax → one-hot); before opset 13 over the input
 * flattened to 2-D at `axis`, like Softmax. The axis dim must be static.
 */
function importHardmax(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const x = ctx.required(node, 0, 'input');
  const n = ctx.network;
  const rank = x.dims.length;
  const raw = node.int('axis', node.opset >= 13 ? -1 : 1);
  const axis = raw < 0 ? raw + rank : raw;
  if (axis < 0 || axis >= rank) throw node.invalid(`axis ${raw} is out of range for rank ${rank}`);
  const flatten = node.opset < 13 && axis < rank - 1;
  const src = flatten ? n.addFlatten(x, axis, ctx.opts(node, 'flatten')).output(0) : x;
  const a = flatten ? 1 : axis;
  const depth = src.dims[a]!;
  if (depth < 0) throw node.unsupported(`the size of axis ${raw} must be static`);
  const arg = n.addArgMinMax(src, 'argmax', { axis: a, keepDims: false, ...ctx.opts(node, 'argmax') }).output(0);
  const mask = oneHotMask(ctx, node, arg, depth, a);
  const y = n.addCast(mask, x.dtype, flatten ? ctx.opts(node, 'cast') : ctx.opts(node)).output(0);
  if (!flatten) return y;
  const shape = n.addShape(x, ctx.opts(node, 'shape')).output(0);
  return n.addReshape(y, shape, ctx.opts(node)).output(0);
}

export const activationImporters: ImporterTable = {
  Relu: activation('relu'),
  Sigmoid: activation('sigmoid'),
  Tanh: activation('tanh'),
  LeakyRelu: activation('leaky_relu', { alpha: ['alpha', 0.01] }),
  Elu: activation('elu', { alpha: ['alpha', 1] }),
  Selu: activation('selu', { alpha: ['alpha', 1.67326319217681884765625], beta: ['gamma', 1.05070102214813232421875] }),
  Celu: activation('celu', { alpha: ['alpha', 1], minOpset: 12 }),
  HardSigmoid: activation('hard_sigmoid', { alpha: ['alpha', 0.2], beta: ['beta', 0.5] }),
  HardSwish: activation('hard_swish', { minOpset: 14 }),
  Softplus: activation('softplus'),
  Softsign: activation('softsign'),
  ThresholdedRelu: activation('thresholded_relu', { alpha: ['alpha', 1], minOpset: 10 }),
  Mish: activation('mish', { minOpset: 18 }),
  Clip: { import: importClip },
  PRelu: {
    minOpset: 7,
    import: (ctx, node) =>
      ctx.network.addElementWise(ctx.required(node, 0, 'X'), ctx.required(node, 1, 'slope'), 'prelu', ctx.opts(node)).output(0),
  },
  Softmax: softmax(false),
  LogSoftmax: softmax(true),
  Shrink: { minOpset: 9, import: importShrink },
  Hardmax: { import: importHardmax },
};
