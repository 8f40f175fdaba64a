/**
 * Binary elementwise ops (numpy broadcasting), comparisons, logic, and the variadic Sum/Min/Max/Mean
 * (chains of binary layers).
 */
import type { ElementWiseOp, NetworkTensor } from '../../network.js';
import type { ImportContext } from '../context.js';
import type { ImporterTable, OpImporter } from '../importer.js';
import type { OnnxNode } from '../node.js';

function binary(op: ElementWiseOp, minOpset = 7): OpImporter {
  return {
    minOpset,
    import: (ctx, node) =>
      ctx.network.addElementWise(ctx.required(node, 0, 'A'), ctx.required(node, 1, 'B'), op, ctx.opts(node)).output(0),
  };
}

/** Folds the inputs left to right with `op`; the last layer carries the node's name unless `last` is false. */
export function chain(ctx: ImportContext, node: OnnxNode, xs: readonly NetworkTensor[], op: ElementWiseOp, nameLast = true): NetworkTensor {
  if (xs.length === 0) throw node.invalid('needs at least one input');
  let acc = xs[0]!;
  for (let i = 1; i < xs.length; i++) {
    const last = i === xs.length - 1 && nameLast;
    acc = ctx.network.addElementWise(acc, xs[i]!, op, last ? ctx.opts(node) : ctx.opts(node, `${op}_${i}`)).output(0);
  }
  return acc;
}

function variadic(op: ElementWiseOp): OpImporter {
  return { import: (ctx, node) => chain(ctx, node, ctx.presentInputs(node), op) };
}

export const elementwiseImporters: ImporterTable = {
  Add: binary('add'),
  Sub: binary('sub'),
  Mul: binary('mul'),
  Div: binary('div'),
  Pow: binary('pow'),
  Mod: {
    minOpset: 10,
    import: (ctx, node) =>
      ctx.network.addElementWise(ctx.required(node, 0, 'A'), ctx.required(node, 1, 'B'), node.int('fmod', 0) ? 'fmod' : 'mod', ctx.opts(node)).output(0),
  },
  Equal: binary('equal'),
  Less: binary('less'),
  Greater: binary('greater'),
  LessOrEqual: binary('less_equal', 12),
  GreaterOrEqual: binary('greater_equal', 12),
  And: binary('and'),
  Or: binary('or'),
  Xor: binary('xor'),
  Not: { import: (ctx, node) => ctx.network.addUnary(ctx.required(node, 0, 'X'), 'not', ctx.opts(node)).output(0) },
  Sum: variadic('add'),
  Min: variadic('min'),
  Max: variadic('max'),
  Mean: {
    import: (ctx, node) => {
      const xs = ctx.presentInputs(node);
      const sum = chain(ctx, node, xs, 'add', false);
      if (xs.length === 1) return sum;
      const n = ctx.scalar(xs.length, sum.dtype, node, 'count');
      return ctx.network.addElementWise(sum, n, 'div', ctx.opts(node)).output(0);
    },
  },
};
