/**
 * Explicit quantization: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, MatMulInteger and ConvInteger
 * map one to one onto the IR layers of those names (native/ir/LAYERS.md); QLinearMatMul and QLinearConv are
 * lowered to them (qlinear.ts). Per-tensor and per-axis scales only: blocked quantization (opset 21's block_size)
 * and the float8 / int4 / int16 types are UNSUPPORTED_OP.
 */
import type { DType } from '../../dtypes.js';
import type { NetworkTensor } from '../../network.js';
import type { ImportContext } from '../context.js';
import type { ImporterTable } from '../importer.js';
import type { OnnxNode } from '../node.js';
import { OnnxDataType, onnxDTypeName } from '../tensor-proto.js';
import { windowParams } from './nn.js';
import { importQLinearConv, importQLinearMatMul, zeroPointOf } from './qlinear.js';

/** UNSUPPORTED_OP for blocked quantization (opset 21's block_size > 0), INVALID_MODEL for a negative block. */
function rejectBlockSize(node: OnnxNode): void {
  const block = node.int('block_size', 0);
  if (block < 0) throw node.invalid(`block_size must be >= 0, got ${block}`);
  if (block > 0) throw node.unsupported(`blocked quantization (block_size ${block}) is not supported; only per-tensor and per-axis scales are`);
}

/** The axis of a per-axis scale: the attribute from opset 13; before, scales are per tensor only. */
function axisOf(node: OnnxNode, scale: NetworkTensor): number {
  if (node.opset >= 13) return node.int('axis', 1);
  if ((scale.dims[0] ?? 1) > 1) throw node.invalid(`a per-axis scale (dims [${scale.dims.join(', ')}]) needs opset 13; at opset ${node.opset} scales are per tensor`);
  return 1;
}

/**
 * QuantizeLinear's output dtype: y_zero_point's when given, else opset 21's output_dtype (int8 or uint8), else
 * uint8 (ONNX's default).
 */
function quantizedDType(node: OnnxNode, zeroPoint: NetworkTensor | null): 'int8' | 'uint8' {
  const code = node.int('output_dtype', 0);
  let requested: 'int8' | 'uint8' | undefined;
  if (code === OnnxDataType.INT8) requested = 'int8';
  else if (code === OnnxDataType.UINT8) requested = 'uint8';
  else if (code !== 0) throw node.unsupported(`output_dtype ${onnxDTypeName(code)} is not supported; int8 and uint8 are`);
  if (!zeroPoint) return requested ?? 'uint8';
  const zp: DType = zeroPoint.dtype;
  if (zp !== 'int8' && zp !== 'uint8') throw node.invalid(`y_zero_point must be int8 or uint8, got ${zp}`);
  if (requested && requested !== zp) throw node.invalid(`output_dtype ${requested} differs from y_zero_point's dtype ${zp}`);
  return zp;
}

function importQuantizeLinear(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  rejectBlockSize(node);  // `saturate` (opset 19) only concerns float8 outputs, which are refused anyway
  const x = ctx.required(node, 0, 'x');
  const scale = ctx.required(node, 1, 'y_scale');
  const zeroPoint = ctx.input(node, 2);
  const outputDType = quantizedDType(node, zeroPoint);
  return ctx.network.addQuantize(x, scale, zeroPoint, { axis: axisOf(node, scale), outputDType, ...ctx.opts(node) }).output(0);
}

function importDequantizeLinear(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  rejectBlockSize(node);
  const x = ctx.required(node, 0, 'x');
  const scale = ctx.required(node, 1, 'x_scale');
  const zeroPoint = zeroPointOf(ctx, node, 2, 'x_zero_point', x, 'x');
  return ctx.network.addDequantize(x, scale, zeroPoint, { axis: axisOf(node, scale), ...ctx.opts(node) }).output(0);
}

function importDynamicQuantizeLinear(ctx: ImportContext, node: OnnxNode): NetworkTensor[] {
  return ctx.network.addDynamicQuantize(ctx.required(node, 0, 'x'), ctx.opts(node, undefined, 3)).outputs;
}

function importMatMulInteger(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const a = ctx.required(node, 0, 'A');
  const b = ctx.required(node, 1, 'B');
  const aZero = zeroPointOf(ctx, node, 2, 'a_zero_point', a, 'A');
  const bZero = zeroPointOf(ctx, node, 3, 'b_zero_point', b, 'B');
  return ctx.network.addMatrixMultiplyInteger(a, b, aZero, bZero, ctx.opts(node)).output(0);
}

function importConvInteger(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const x = ctx.required(node, 0, 'x');
  const w = ctx.required(node, 1, 'w');
  const xZero = zeroPointOf(ctx, node, 2, 'x_zero_point', x, 'x');
  const wZero = zeroPointOf(ctx, node, 3, 'w_zero_point', w, 'w');
  return ctx.network.addConvolutionInteger(x, w, xZero, wZero, { ...windowParams(node), group: node.int('group', 1), ...ctx.opts(node) }).output(0);
}

export const quantizationImporters: ImporterTable = {
  QuantizeLinear: { minOpset: 10, import: importQuantizeLinear },
  DequantizeLinear: { minOpset: 10, import: importDequantizeLinear },
  DynamicQuantizeLinear: { minOpset: 11, import: importDynamicQuantizeLinear },
  MatMulInteger: { minOpset: 10, import: importMatMulInteger },
  ConvInteger: { minOpset: 10, import: importConvInteger },
  QLinearMatMul: { minOpset: 10, import: importQLinearMatMul },
  QLinearConv: { minOpset: 10, import: importQLinearConv },
};
