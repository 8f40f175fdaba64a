/**
 * Reduce* (axes as an attribute before opset 13 for ReduceSum / 18 for the rest, as an input from then on)
 * and ArgMax/ArgMin.
 */
import type { ReduceOp } from '../../network.js';
import type { ImporterTable, OpImporter } from '../importer.js';

/** @param axesInputFrom the opset from which axes is the optional second input */
function reduce(op: ReduceOp, axesInputFrom: number): OpImporter {
  return {
    import: (ctx, node) => {
      const x = ctx.required(node, 0, 'data');
      const keepDims = node.int('keepdims', 1) !== 0;
      if (node.opset < axesInputFrom) {
        const axes = node.ints('axes');
        return ctx.network.addReduce(x, op, { axes: axes && axes.length > 0 ? axes : undefined, keepDims, ...ctx.opts(node) }).output(0);
      }
      node.rejectMovedAttribute('axes', axesInputFrom, 1);
      const noopWithEmptyAxes = node.int('noop_with_empty_axes', 0) !== 0;
      const axesTensor = ctx.input(node, 1);
      // Known axes go in as an attribute (folded), others as the run-time input.
      const known = axesTensor ? ctx.buildTimeNumbers(axesTensor, node) : null;
      let axes: number[] | typeof axesTensor | undefined = axesTensor ?? undefined;
      if (known) axes = known.length > 0 ? known : undefined;
      return ctx.network.addReduce(x, op, { axes: axes ?? undefined, keepDims, noopWithEmptyAxes, ...ctx.opts(node) }).output(0);
    },
  };
}

function argMinMax(op: 'argmax' | 'argmin'): OpImporter {
  return {
    import: (ctx, node) =>
      ctx.network.addArgMinMax(ctx.required(node, 0, 'data'), op, {
        axis: node.int('axis', 0),
        keepDims: node.int('keepdims', 1) !== 0,
        selectLastIndex: node.int('select_last_index', 0) !== 0,
        ...ctx.opts(node),
      }).output(0),
  };
}

export const reduceImporters: ImporterTable = {
  ReduceSum: reduce('sum', 13),
  ReduceMean: reduce('mean', 18),
  ReduceMax: reduce('max', 18),
  ReduceMin: reduce('min', 18),
  ReduceProd: reduce('prod', 18),
  ReduceL1: reduce('l1', 18),
  ReduceL2: reduce('l2', 18),
  ReduceLogSum: reduce('log_sum', 18),
  ReduceLogSumExp: reduce('log_sum_exp', 18),
  ReduceSumSquare: reduce('sum_square', 18),
  ArgMax: argMinMax('argmax'),
  ArgMin: argMinMax('argmin'),
};
