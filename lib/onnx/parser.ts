/**
 * ModelProto → network: opset check, graph validation, an up-front scan that reports every unsupported
 * node at once, then graph inputs, nodes in order (through the importer registry) and outputs. ONNX tensor
 * names are kept, so engines address their I/O by the ONNX names.
 */
import type { onnx as pb } from 'onnx-proto';
import { InferrtError } from '../errors.js';
import type { NetworkDefinition, NetworkTensor } from '../network.js';
import { ImportContext } from './context.js';
import { inlineFunctions } from './functions.js';
import type { ImportResult } from './importer.js';
import { normalizeDomain, OnnxNode } from './node.js';
import { hasField, toNumber } from './proto.js';
import { findImporter, supportAt } from './registry.js';
import { dtypeFromOnnx } from './tensor-proto.js';

/**
 * Default-domain opsets the parser accepts. Below 7 only ops whose meaning has not changed since are imported
 * (each importer's minOpset says from when); the rest are reported as unsupported at that opset.
 */
export const MIN_OPSET = 1;
export const MAX_OPSET = 18;

/** Options of `OnnxParser.parse`. */
export interface OnnxParseOptions {
  /** Directory that external tensor data locations are relative to. `parseFile` sets it to the model's directory. */
  modelDir?: string;
  /** How error messages name the model. Default: 'model' (`parseFile`: the file name). */
  name?: string;
  /**
   * Values of graph inputs for the few places a value must be known while building (Squeeze/Unsqueeze axes
   * from opset 13, Reduce axes): where such an input feeds one, the engine is specialized to this value. Inputs
   * stay inputs. Meant for test graphs that pass axes as inputs.
   */
  inputValues?: Readonly<Record<string, ArrayLike<number | bigint>>>;
  /** Called after each node is imported. */
  onProgress?: (progress: OnnxParseProgress) => void;
}

/** Progress of an import. */
export interface OnnxParseProgress {
  /** Nodes imported so far. */
  done: number;
  total: number;
  /** Name of the node just imported. */
  node: string;
}

/** What `OnnxParser.parse` reports besides the layers it added. */
export interface OnnxParseResult {
  /** Things imported with a caveat (ignored attributes, unused opset imports, ...). */
  warnings: string[];
  irVersion: number;
  /** The model's default-domain opset. */
  opset: number;
  /** `producer_name producer_version`, e.g. 'pytorch 2.11.0'. */
  producer: string;
  /** Network input names added (graph inputs that are not initializers). */
  inputs: string[];
  /** Network output names marked. */
  outputs: string[];
  /** Nodes imported (after inlining local functions). */
  numNodes: number;
}

/** One node the parser cannot import; `OnnxParser.parse` throws UNSUPPORTED_OP with a list of these as `details`. */
export interface UnsupportedNode {
  opType: string;
  name: string;
  /** '' for the default ONNX domain. */
  domain: string;
  opset: number;
  reason: string;
}

/** Nodes after function inlining, with the opsets read from the model. Throws on an opset outside MIN_OPSET–MAX_OPSET. */
export function prepareNodes(model: pb.IModelProto, reserved: Set<string>): { nodes: OnnxNode[]; opset: number; warnings: string[] } {
  const warnings: string[] = [];
  const opsets = new Map<string, number>();
  for (const o of model.opsetImport ?? []) opsets.set(normalizeDomain(o.domain ?? ''), toNumber(o.version));
  const graphNodes = model.graph?.node ?? [];
  const opset = opsets.get('') ?? (toNumber(model.irVersion) < 3 ? 1 : 0);
  if (opset === 0 && graphNodes.some((n) => normalizeDomain(n.domain ?? '') === '')) {
    throw new InferrtError('INVALID_MODEL', 'the model has default-domain nodes but imports no default-domain opset');
  }
  if (opset !== 0 && (opset < MIN_OPSET || opset > MAX_OPSET)) {
    throw new InferrtError('UNSUPPORTED_OP', `the model uses opset ${opset} of the default ONNX domain; inferrt supports opsets ${MIN_OPSET}–${MAX_OPSET}`, []);
  }
  const flat = inlineFunctions(graphNodes, model.functions ?? [], opset, reserved);
  const nodes = flat.map((f, i) => new OnnxNode(f.proto, i, f.opset));
  const used = new Set(nodes.map((n) => n.domain));
  for (const domain of opsets.keys()) {
    if (domain !== '' && !used.has(domain)) warnings.push(`opset import of domain '${domain}' is unused; ignored`);
  }
  return { nodes, opset, warnings };
}

/** Every node no importer handles at its opset (non-default domains included). */
export function findUnsupported(nodes: readonly OnnxNode[]): UnsupportedNode[] {
  const out: UnsupportedNode[] = [];
  for (const n of nodes) {
    const base = { opType: n.opType, name: n.name, domain: n.domain, opset: n.opset };
    if (n.domain !== '') {
      out.push({ ...base, reason: `domain '${n.domain}' is not supported` });
      continue;
    }
    const s = supportAt(n.opType, n.opset);
    if (!s.supported) out.push({ ...base, reason: s.reason });
  }
  return out;
}

/** The UNSUPPORTED_OP error listing every unsupported node: "3 unsupported nodes: NonZero 'nz_1', ...". */
export function unsupportedError(list: readonly UnsupportedNode[]): InferrtError {
  const items = list.map((u) => {
    if (u.domain !== '') return `${u.opType} '${u.name}' (domain ${u.domain})`;
    return u.reason === 'no importer' ? `${u.opType} '${u.name}'` : `${u.opType} '${u.name}' (opset ${u.opset}; ${u.reason})`;
  });
  const what = list.length === 1 ? 'unsupported node' : 'unsupported nodes';
  return new InferrtError('UNSUPPORTED_OP', `${list.length} ${what}: ${items.join(', ')}`, list);
}

/**
 * Checks that every name a node reads is produced somewhere, that nothing is produced twice, and returns the
 * nodes in an order where producers come first (models must be sorted; a stable sort fixes those that are not).
 */
function validateAndSort(graph: pb.IGraphProto, nodes: OnnxNode[]): OnnxNode[] {
  const producer = new Map<string, number>();  // -1: graph input or initializer
  for (const t of graph.initializer ?? []) {
    if (producer.has(t.name ?? '')) throw new InferrtError('INVALID_MODEL', `initializer '${t.name}' is defined twice`);
    producer.set(t.name ?? '', -1);
  }
  for (const v of graph.input ?? []) producer.set(v.name ?? '', -1);
  nodes.forEach((n, i) => {
    for (const o of n.outputs) {
      if (o === '') continue;
      if (producer.has(o)) throw new InferrtError('INVALID_MODEL', `tensor '${o}' is produced by node ${n.label} but is already defined`);
      producer.set(o, i);
    }
  });
  let sorted = true;
  nodes.forEach((n, i) => {
    for (const name of n.inputs) {
      if (name === '') continue;
      const p = producer.get(name);
      if (p === undefined) throw new InferrtError('INVALID_MODEL', `node ${n.label} input '${name}' is not produced by any node, input or initializer`);
      if (p >= i) sorted = false;
    }
  });
  for (const v of graph.output ?? []) {
    if (!producer.has(v.name ?? '')) throw new InferrtError('INVALID_MODEL', `graph output '${v.name}' is not produced by any node, input or initializer`);
  }
  if (sorted) return nodes;
  // Kahn's algorithm, always taking the earliest ready node so sorted regions keep their order.
  const waiting = nodes.map((n) => new Set(n.inputs.filter((x) => x !== '' && (producer.get(x) ?? -1) >= 0)));
  const readers = new Map<string, number[]>();
  nodes.forEach((n, i) => waiting[i]!.forEach((x) => readers.set(x, [...(readers.get(x) ?? []), i])));
  const ready = nodes.map((_, i) => i).filter((i) => waiting[i]!.size === 0);
  const order: OnnxNode[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => a - b);
    const i = ready.shift()!;
    order.push(nodes[i]!);
    for (const o of nodes[i]!.outputs) {
      for (const r of readers.get(o) ?? []) {
        waiting[r]!.delete(o);
        if (waiting[r]!.size === 0) ready.push(r);
      }
    }
  }
  if (order.length !== nodes.length) {
    const stuck = nodes.find((_, i) => waiting[i]!.size > 0)!;
    throw new InferrtError('INVALID_MODEL', `the graph has a cycle through node ${stuck.label}`);
  }
  return order;
}

function addGraphInput(ctx: ImportContext, v: pb.IValueInfoProto): NetworkTensor {
  const name = v.name ?? '';
  const tensorType = v.type?.tensorType;
  if (!tensorType) {
    const t = v.type;
    const kind = t?.sequenceType ? 'sequence' : t?.mapType ? 'map' : t?.optionalType ? 'optional' : t?.sparseTensorType ? 'sparse tensor' : 'untyped value';
    throw new InferrtError('UNSUPPORTED_OP', `graph input '${name}' is a ${kind}, which inferrt does not support (only tensors)`, []);
  }
  const dtype = dtypeFromOnnx(tensorType.elemType ?? 0, `graph input '${name}'`);
  if (!hasField(tensorType, 'shape') || !tensorType.shape) {
    throw new InferrtError('INVALID_MODEL', `graph input '${name}' has no shape; inferrt needs at least its rank`);
  }
  const dims = (tensorType.shape.dim ?? []).map((d) => (hasField(d, 'dimValue') ? toNumber(d.dimValue) : -1));
  const t = ctx.network.addInput(name, dtype, dims);
  ctx.bind(name, t);
  return t;
}

/** Rethrows an error raised while importing `node` with the node named first. */
function withNode(e: unknown, node: OnnxNode): InferrtError {
  const prefix = `node ${node.label}`;
  if (e instanceof InferrtError) {
    if (e.message.startsWith(prefix)) return e;
    const wrapped = new InferrtError(e.code, `${prefix}: ${e.message}`, e.details);
    wrapped.stack = `${wrapped.name}: ${wrapped.message}\n${(e.stack ?? '').split('\n').slice(1).join('\n')}`;
    return wrapped;
  }
  const code = typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : 'INTERNAL';
  const message = e instanceof Error ? e.message : String(e);
  const wrapped = new InferrtError(code, `${prefix}: ${message}`);
  if (e instanceof Error) wrapped.stack = `${wrapped.name}: ${wrapped.message}\n${(e.stack ?? '').split('\n').slice(1).join('\n')}`;
  return wrapped;
}

function bindOutputs(ctx: ImportContext, node: OnnxNode, result: ImportResult): void {
  const outs = Array.isArray(result) ? (result as ReadonlyArray<NetworkTensor | null | undefined>) : [result as NetworkTensor];
  node.outputs.forEach((name, i) => {
    if (name === '') return;
    let t = outs[i];
    if (!t) {
      if (ctx.isConsumed(name)) throw node.unsupported(`output ${i} ('${name}') is not supported`);
      return;
    }
    // A tensor that already has an ONNX name (an input passed through) gets its own copy.
    if (ctx.isNamed(t) || t.isInput) t = ctx.network.addIdentity(t, ctx.opts(node, `output_${i}`)).output(0);
    ctx.bind(name, t);
  });
}

/** Imports a decoded model into `network`. On failure the network may hold the layers added so far. */
export function parseModel(network: NetworkDefinition, model: pb.IModelProto, options: OnnxParseOptions = {}): OnnxParseResult {
  const graph = model.graph;
  if (!graph) throw new InferrtError('INVALID_MODEL', `${options.name ?? 'model'} is not a valid ONNX model: it has no graph`);
  const reserved = new Set<string>();
  for (const t of graph.initializer ?? []) reserved.add(t.name ?? '');
  for (const v of graph.input ?? []) reserved.add(v.name ?? '');
  for (const n of graph.node ?? []) for (const o of n.output ?? []) reserved.add(o);

  const { nodes: unsorted, opset, warnings } = prepareNodes(model, reserved);
  const nodes = validateAndSort(graph, unsorted);
  const unsupported = findUnsupported(nodes);
  if (unsupported.length > 0) throw unsupportedError(unsupported);
  if ((graph.sparseInitializer?.length ?? 0) > 0) throw new InferrtError('UNSUPPORTED_OP', 'sparse initializers are not supported', []);

  const consumed = new Set<string>();
  for (const n of nodes) for (const x of n.inputs) consumed.add(x);
  for (const v of graph.output ?? []) consumed.add(v.name ?? '');

  const ctx = new ImportContext(network, reserved, consumed, options.modelDir, options.inputValues);
  for (const t of graph.initializer ?? []) ctx.addInitializer(t);
  const inputs: string[] = [];
  for (const v of graph.input ?? []) {
    if (ctx.isInitializer(v.name ?? '')) continue;  // IR < 4 lists initializers among the inputs
    addGraphInput(ctx, v);
    inputs.push(v.name ?? '');
  }

  nodes.forEach((node, i) => {
    try {
      const result = findImporter(node.opType)!.import(ctx, node);
      bindOutputs(ctx, node, result);
    } catch (e) {
      throw withNode(e, node);
    }
    options.onProgress?.({ done: i + 1, total: nodes.length, node: node.name });
  });

  const outputs: string[] = [];
  for (const v of graph.output ?? []) {
    const name = v.name ?? '';
    if (outputs.includes(name)) continue;
    let t = ctx.lookup(name)!;
    if (t.isConstant) {
      // Outputs are computed tensors: a constant output is copied by an Identity that takes over the name.
      t.name = ctx.freshTensorName(`${name}/constant`);
      const copy = network.addIdentity(t, { name: ctx.uniqueLayerName(`${name}/identity`) }).output(0);
      ctx.bind(name, copy);
      t = copy;
    }
    network.markOutput(t);
    outputs.push(name);
    const declared = v.type?.tensorType?.elemType;
    if (declared) {
      try {
        const expected = dtypeFromOnnx(declared, `graph output '${name}'`);
        if (expected !== t.dtype) ctx.warn(null, `graph output '${name}' is declared ${expected} but computes ${t.dtype}`);
      } catch {
        ctx.warn(null, `graph output '${name}' is declared with a dtype inferrt does not support; it computes ${t.dtype}`);
      }
    }
  }

  return {
    warnings: [...warnings, ...ctx.warnings],
    irVersion: toNumber(model.irVersion),
    opset,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    inputs,
    outputs,
    numNodes: nodes.length,
  };
}
