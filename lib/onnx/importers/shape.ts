/**
 * Shape manipulation: Reshape, Transpose, Squeeze/Unsqueeze (axes attribute ≤ 12, input ≥ 13), Flatten,
 * Shape, Size, Expand, Tile, DepthToSpace/SpaceToDepth (Reshape + Transpose + Reshape).
 */
import type { NetworkTensor } from '../../network.js';
import type { ImportContext } from '../context.js';
import type { ImporterTable } from '../importer.js';
import type { OnnxNode } from '../node.js';

/** Axes from the attribute (opset ≤ 12) or the input (opset ≥ 13), which must be known at build time. */
function squeezeAxes(ctx: ImportContext, node: OnnxNode): number[] | undefined {
  if (node.opset < 13) return node.ints('axes');
  node.rejectMovedAttribute('axes', 13, 1);
  return ctx.constantInts(node, 1, 'axes') ?? undefined;
}

function importSqueeze(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const axes = squeezeAxes(ctx, node);
  return ctx.network.addSqueeze(ctx.required(node, 0, 'data'), axes && axes.length > 0 ? axes : undefined, ctx.opts(node)).output(0);
}

function importUnsqueeze(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const axes = squeezeAxes(ctx, node);
  if (!axes) throw node.invalid(node.opset < 13 ? "attribute 'axes' is required" : 'input 1 (axes) is required');
  return ctx.network.addUnsqueeze(ctx.required(node, 0, 'data'), axes, ctx.opts(node)).output(0);
}

function importSize(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const shape = ctx.network.addShape(ctx.required(node, 0, 'data'), ctx.opts(node, 'shape')).output(0);
  return ctx.network.addReduce(shape, 'prod', { axes: [0], keepDims: false, ...ctx.opts(node) }).output(0);
}

/**
 * DepthToSpace (DCR/CRD) and SpaceToDepth on NCHW with static C, H, W (the batch may be dynamic: Reshape's 0
 * copies it).
 */
function spaceDepth(toSpace: boolean) {
  return (ctx: ImportContext, node: OnnxNode): NetworkTensor => {
    const x = ctx.required(node, 0, 'input');
    const b = node.int('blocksize');
    if (b === undefined || b <= 0) throw node.invalid("attribute 'blocksize' must be a positive integer");
    if (x.dims.length !== 4) throw node.invalid(`input must be 4-D (NCHW), got dims [${x.dims.join(', ')}]`);
    const [, c, h, w] = x.dims as [number, number, number, number];
    if (c < 0 || h < 0 || w < 0) throw node.unsupported('C, H and W must be static');
    const n = ctx.network;
    let dims6: number[];
    let perm: number[];
    let dims4: number[];
    if (toSpace) {
      if (c % (b * b) !== 0) throw node.invalid(`C=${c} is not divisible by blocksize² = ${b * b}`);
      const crd = node.string('mode', 'DCR') === 'CRD';
      dims6 = crd ? [0, c / (b * b), b, b, h, w] : [0, b, b, c / (b * b), h, w];
      perm = crd ? [0, 1, 4, 2, 5, 3] : [0, 3, 4, 1, 5, 2];
      dims4 = [0, c / (b * b), h * b, w * b];
    } else {
      if (h % b !== 0 || w % b !== 0) throw node.invalid(`H=${h} and W=${w} must be divisible by blocksize ${b}`);
      dims6 = [0, c, h / b, b, w / b, b];
      perm = [0, 3, 5, 1, 2, 4];
      dims4 = [0, c * b * b, h / b, w / b];
    }
    const r = n.addReshape(x, dims6, ctx.opts(node, 'split')).output(0);
    const t = n.addTranspose(r, perm, ctx.opts(node, 'transpose')).output(0);
    return n.addReshape(t, dims4, ctx.opts(node)).output(0);
  };
}

export const shapeImporters: ImporterTable = {
  Reshape: {
    import: (ctx, node) => {
      // Reshape-1 took the shape as an attribute; from opset 5 it is an input.
      const shape = node.opset < 5 ? node.ints('shape') : ctx.required(node, 1, 'shape');
      if (!shape) throw node.invalid("attribute 'shape' is required");
      return ctx.network.addReshape(ctx.required(node, 0, 'data'), shape, { allowZero: node.int('allowzero', 0) !== 0, ...ctx.opts(node) }).output(0);
    },
  },
  Transpose: { import: (ctx, node) => ctx.network.addTranspose(ctx.required(node, 0, 'data'), node.ints('perm'), ctx.opts(node)).output(0) },
  Squeeze: { import: importSqueeze },
  Unsqueeze: { import: importUnsqueeze },
  Flatten: { import: (ctx, node) => ctx.network.addFlatten(ctx.required(node, 0, 'input'), node.int('axis', 1), ctx.opts(node)).output(0) },
  Shape: {
    import: (ctx, node) => {
      const start = node.int('start');
      const end = node.int('end');
      return ctx.network.addShape(ctx.required(node, 0, 'data'), { start, end, ...ctx.opts(node) }).output(0);
    },
  },
  Size: { import: importSize },
  Expand: { minOpset: 8, import: (ctx, node) => ctx.network.addExpand(ctx.required(node, 0, 'input'), ctx.required(node, 1, 'shape'), ctx.opts(node)).output(0) },
  Tile: { minOpset: 6, import: (ctx, node) => ctx.network.addTile(ctx.required(node, 0, 'input'), ctx.required(node, 1, 'repeats'), ctx.opts(node)).output(0) },
  DepthToSpace: { import: spaceDepth(true) },
  SpaceToDepth: { import: spaceDepth(false) },
};
