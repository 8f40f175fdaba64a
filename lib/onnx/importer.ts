/**
 * The shape of an op importer: one entry per ONNX op type in a family's table (lib/onnx/importers/*.ts),
 * merged into one registry (registry.ts). An importer builds layers through the public network API and
 * returns the tensors of the node's outputs, in order.
 */
import type { NetworkTensor } from '../network.js';
import type { ImportContext } from './context.js';
import type { OnnxNode } from './node.js';

/**
 * What an importer returns: the tensor for each node output in order (one tensor for single-output ops).
 * `null`/missing entries are outputs it does not produce; the parser fails only if such an output is used.
 */
export type ImportResult = NetworkTensor | ReadonlyArray<NetworkTensor | null | undefined>;

export interface OpImporter {
  /** Lowest default-domain opset this importer handles (default 1). */
  minOpset?: number;
  /** Highest opset (default: every opset the parser accepts). */
  maxOpset?: number;
  import(ctx: ImportContext, node: OnnxNode): ImportResult;
}

/** A family's importers by ONNX op type. */
export type ImporterTable = Readonly<Record<string, OpImporter>>;
