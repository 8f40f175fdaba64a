/**
 * OnnxParser: imports ONNX models into a {@link NetworkDefinition} through its public API (as TensorRT's
 * ONNX parser builds through INetworkDefinition). Graph input and output names are kept, so an engine built
 * from the network is addressed by the ONNX names.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { InferrtError } from '../errors.js';
import type { NetworkDefinition } from '../network.js';
import { OnnxNode } from './node.js';
import { parseModel, prepareNodes, findUnsupported, MAX_OPSET, MIN_OPSET } from './parser.js';
import type { OnnxParseOptions, OnnxParseResult, UnsupportedNode } from './parser.js';
import { decodeModel } from './proto.js';
import { importers } from './registry.js';

export type { OnnxParseOptions, OnnxParseProgress, OnnxParseResult, UnsupportedNode } from './parser.js';
export { decodeTensorProto, tensorDataOf, onnxDTypeName, dtypeFromOnnx, onnxDataTypeOf } from './tensor-proto.js';
export type { DecodedTensor, DecodeTensorOptions } from './tensor-proto.js';
export { decodeModel, decodeTensorBytes } from './proto.js';

/** Imports ONNX models into a network (static methods; the parser holds no state). */
export class OnnxParser {
  /** Default-domain opsets accepted: [min, max]. */
  static readonly opsetRange: readonly [number, number] = [MIN_OPSET, MAX_OPSET];

  /**
   * Imports an ONNX model (the bytes of a .onnx file) into `network`.
   *
   * Throws {@link InferrtError}:
   * - `INVALID_MODEL`: malformed protobuf ("model is not a valid ONNX model: <reason>"), a name no node,
   *   input or initializer produces, a malformed attribute or tensor;
   * - `UNSUPPORTED_OP`: every unsupported node at once (`details`: {@link UnsupportedNode}[]; below opset 7,
   *   ops whose meaning has changed since are among them), a default-domain opset above 18, a dtype inferrt
   *   lacks (double, int16, uint16/32/64, ...) naming the tensor, or a node whose inputs must be known at build
   *   time but are not;
   * - errors from the network (shape and dtype mismatches) with the ONNX node's name and op type first.
   *
   * On failure `network` may hold the layers added before the failing node; discard it.
   */
  static parse(network: NetworkDefinition, bytes: Uint8Array, options: OnnxParseOptions = {}): OnnxParseResult {
    const model = decodeModel(bytes, options.name ?? 'model');
    return parseModel(network, model, options);
  }

  /** Reads `file` and imports it like {@link OnnxParser.parse}; external data is looked up next to the file. */
  static async parseFile(network: NetworkDefinition, file: string, options: OnnxParseOptions = {}): Promise<OnnxParseResult> {
    const bytes = await readModel(file);
    return OnnxParser.parse(network, bytes, { modelDir: path.dirname(path.resolve(file)), name: path.basename(file), ...options });
  }

  /**
   * The nodes of a model that the parser cannot import, without building anything (empty: every op is
   * supported; values that must be known at build time are only checked by `parse`).
   */
  static unsupportedNodes(bytes: Uint8Array, options: { name?: string } = {}): UnsupportedNode[] {
    const model = decodeModel(bytes, options.name ?? 'model');
    return findUnsupported(prepareNodes(model, new Set()).nodes);
  }

  /** Default-domain op types with an importer, sorted, with the lowest opset each needs. */
  static supportedOps(): Array<{ opType: string; minOpset: number }> {
    return Object.entries(importers)
      .map(([opType, imp]) => ({ opType, minOpset: Math.max(imp.minOpset ?? 1, MIN_OPSET) }))
      .sort((a, b) => a.opType.localeCompare(b.opType));
  }
}

async function readModel(file: string): Promise<Uint8Array> {
  try {
    return await fs.readFile(file);
  } catch (e) {
    throw new InferrtError('INVALID_ARGUMENT', `cannot read ONNX model '${file}': ${(e as Error).message}`);
  }
}

/** @internal For tests and tools: the node wrapper importers see. */
export { OnnxNode };
