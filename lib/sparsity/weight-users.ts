/**
 * Which initializers of a graph are 2:4-prunable weights, the same rule as the builder's sparse eligibility
 * (native/builder/sparse_eligibility.h): MatMul's B of rank 2 reduces along axis 0 ([K, N]); Gemm's B along
 * axis 1 when transB = 1, else axis 0; Conv's W [M, C/group, k...] along axis 1 (each output channel and kernel
 * position is one vector over the input channels).
 */
import type { onnx as pb } from 'onnx-proto';
import { hasField, toNumber } from '../onnx/proto.js';
import type { PruneWeightUser } from './types.js';

/** One initializer read as the weight of at least one MatMul, Gemm or Conv. */
export interface WeightCandidate {
  tensor: pb.ITensorProto;
  users: PruneWeightUser[];
  /** Every other reader: `<opType> '<name>'` (non-weight inputs, subgraphs, graph outputs). */
  otherReaders: string[];
  /** Index of the first node that reads it as a weight (candidates come in this order). */
  firstUser: number;
}

/** How a node names itself in reports. */
export function nodeLabel(node: pb.INodeProto, index: number): string {
  return node.name ? node.name : `${node.opType ?? '?'} #${index}`;
}

function intAttribute(node: pb.INodeProto, name: string, fallback: number): number {
  const a = (node.attribute ?? []).find((x) => x.name === name);
  return a && hasField(a, 'i') ? toNumber(a.i) : fallback;
}

/** The reduction axis when input `slot` of `node` is a weight of `rank` it reduces over, else undefined. */
function weightAxis(node: pb.INodeProto, slot: number, rank: number): { opType: PruneWeightUser['opType']; axis: number } | undefined {
  const domain = node.domain ?? '';
  if ((domain !== '' && domain !== 'ai.onnx') || slot !== 1) return undefined;
  switch (node.opType) {
    case 'MatMul': return rank === 2 ? { opType: 'MatMul', axis: 0 } : undefined;
    case 'Gemm': return rank === 2 ? { opType: 'Gemm', axis: intAttribute(node, 'transB', 0) !== 0 ? 1 : 0 } : undefined;
    case 'Conv': return rank >= 3 ? { opType: 'Conv', axis: 1 } : undefined;
    default: return undefined;
  }
}

/** Names read anywhere inside a node's subgraph attributes (If/Loop/Scan bodies may read outer initializers). */
function subgraphReads(node: pb.INodeProto, into: Set<string>): void {
  for (const a of node.attribute ?? []) {
    for (const g of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) {
      for (const n of g.node ?? []) {
        for (const x of n.input ?? []) into.add(x);
        subgraphReads(n, into);
      }
    }
  }
}

/** Every initializer read as a MatMul/Gemm/Conv weight, in the order of their first such reader, with all its readers. */
export function findWeightCandidates(graph: pb.IGraphProto): WeightCandidate[] {
  const byName = new Map<string, WeightCandidate>();
  for (const tensor of graph.initializer ?? []) {
    const name = tensor.name ?? '';
    if (!byName.has(name)) byName.set(name, { tensor, users: [], otherReaders: [], firstUser: -1 });
  }
  (graph.node ?? []).forEach((node, i) => {
    const label = nodeLabel(node, i);
    (node.input ?? []).forEach((name, slot) => {
      const entry = byName.get(name);
      if (!entry) return;
      const use = weightAxis(node, slot, (entry.tensor.dims ?? []).length);
      if (use) {
        if (entry.users.length === 0) entry.firstUser = i;
        entry.users.push({ node: label, ...use });
      }
      else entry.otherReaders.push(`${node.opType} '${label}'`);
    });
    const inner = new Set<string>();
    subgraphReads(node, inner);
    for (const name of inner) byName.get(name)?.otherReaders.push(`${node.opType} '${label}' (subgraph)`);
  });
  for (const o of graph.output ?? []) byName.get(o.name ?? '')?.otherReaders.push(`graph output '${o.name}'`);
  return [...byName.values()].filter((c) => c.users.length > 0).sort((a, b) => a.firstUser - b.firstUser);
}
