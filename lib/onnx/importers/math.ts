/**
 * Unary math (Abs ... Erf, IsNaN, IsInf), MatMul, Gemm (MatMul + scale + bias), CumSum.
 */
import type { NetworkTensor, UnaryOp } from '../../network.js';
import { isFloat, type ImportContext } from '../context.js';
import type { ImporterTable, OpImporter } from '../importer.js';
import type { OnnxNode } from '../node.js';

function unary(op: UnaryOp, minOpset?: number): OpImporter {
  return { minOpset, import: (ctx, node) => ctx.network.addUnary(ctx.required(node, 0, 'X'), op, ctx.opts(node)).output(0) };
}

/**
 * Gemm: Y = alpha * op(A) @ op(B) + beta * C, as MatMul (with transposes) + Mul + Add. On integer tensors a
 * fractional alpha or beta is applied in float32 and the sum cast back (the ONNX reference's astype).
 */
function importGemm(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const a = ctx.required(node, 0, 'A');
  const b = ctx.required(node, 1, 'B');
  const c = ctx.input(node, 2);
  const alpha = node.float('alpha', 1);
  const beta = node.float('beta', 1);
  for (const [t, what] of [[a, 'A'], [b, 'B']] as const) {
    if (t.dims.length !== 2) throw node.invalid(`${what} must be 2-D, got dims [${t.dims.join(', ')}]`);
  }
  const n = ctx.network;
  const useC = c !== null && beta !== 0;
  const scaled = alpha !== 1;
  const viaFloat = !isFloat(a.dtype) && (!Number.isInteger(alpha) || (useC && !Number.isInteger(beta)));
  // The node's name goes to its last layer: the cast back when computing in float32.
  const named = (last: boolean, tag: string) => (last && !viaFloat ? ctx.opts(node) : ctx.opts(node, tag));
  let y = n.addMatrixMultiply(a, b, {
    transposeA: node.int('transA', 0) !== 0,
    transposeB: node.int('transB', 0) !== 0,
    ...named(!useC && !scaled, 'matmul'),
  }).output(0);
  if (viaFloat) y = n.addCast(y, 'float32', ctx.opts(node, 'float')).output(0);
  if (scaled) y = n.addElementWise(y, ctx.scalar(alpha, y.dtype, node, 'alpha'), 'mul', named(!useC, 'alpha')).output(0);
  if (useC) {
    let bias = viaFloat ? n.addCast(c, 'float32', ctx.opts(node, 'c_float')).output(0) : c;
    if (beta !== 1) bias = n.addElementWise(bias, ctx.scalar(beta, bias.dtype, node, 'beta'), 'mul', ctx.opts(node, 'beta')).output(0);
    y = n.addElementWise(y, bias, 'add', named(true, 'add')).output(0);
  }
  return viaFloat ? n.addCast(y, a.dtype, ctx.opts(node)).output(0) : y;
}

export const mathImporters: ImporterTable = {
  Abs: unary('abs'),
  Neg: unary('neg'),
  Exp: unary('exp'),
  Log: unary('log'),
  Sqrt: unary('sqrt'),
  Reciprocal: unary('reciprocal'),
  Floor: unary('floor'),
  Ceil: unary('ceil'),
  Round: unary('round', 11),
  Sin: unary('sin', 7),
  Cos: unary('cos', 7),
  Tan: unary('tan', 7),
  Asin: unary('asin', 7),
  Acos: unary('acos', 7),
  Atan: unary('atan', 7),
  Sinh: unary('sinh', 9),
  Cosh: unary('cosh', 9),
  Asinh: unary('asinh', 9),
  Acosh: unary('acosh', 9),
  Atanh: unary('atanh', 9),
  Erf: unary('erf', 9),
  Sign: unary('sign', 9),
  IsNaN: unary('isnan', 9),
  IsInf: {
    minOpset: 10,
    import: (ctx, node) =>
      ctx.network.addLayer('Unary', [ctx.required(node, 0, 'X')], {
        op: 'isinf',
        detect_positive: node.int('detect_positive', 1),
        detect_negative: node.int('detect_negative', 1),
      }, ctx.opts(node)).output(0),
  },
  MatMul: {
    import: (ctx, node) => ctx.network.addMatrixMultiply(ctx.required(node, 0, 'A'), ctx.required(node, 1, 'B'), ctx.opts(node)).output(0),
  },
  Gemm: { import: importGemm },
  CumSum: {
    minOpset: 11,
    import: (ctx, node) =>
      ctx.network.addCumSum(ctx.required(node, 0, 'x'), ctx.required(node, 1, 'axis'), {
        exclusive: node.int('exclusive', 0) !== 0,
        reverse: node.int('reverse', 0) !== 0,
        ...ctx.opts(node),
      }).output(0),
  },
};
