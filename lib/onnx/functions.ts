/**
 * Model-local functions (ModelProto.functions, IR ≥ 8): calls are inlined into the flat node list the
 * importers see, with internal names made unique and attribute references resolved from the call site.
 */
import type { onnx as pb } from 'onnx-proto';
import { InferrtError } from '../errors.js';
import { normalizeDomain } from './node.js';
import { toNumber } from './proto.js';

/** A node to import and the default-domain opset it is interpreted at. */
export interface FlatNode {
  proto: pb.INodeProto;
  opset: number;
}

const maxDepth = 32;

function key(domain: string, name: string): string {
  return `${normalizeDomain(domain)}\u0000${name}`;
}

/**
 * Expands calls of local functions (recursively) in `nodes`. Nodes that call no local function come out as
 * they are, at `opset`. `reserved` receives every name created, and is used to keep them unique.
 */
export function inlineFunctions(nodes: readonly pb.INodeProto[], functions: readonly pb.IFunctionProto[], opset: number, reserved: Set<string>): FlatNode[] {
  const byKey = new Map<string, pb.IFunctionProto>();
  for (const f of functions) byKey.set(key(f.domain ?? '', f.name ?? ''), f);
  const out: FlatNode[] = [];
  if (byKey.size === 0) {
    for (const proto of nodes) out.push({ proto, opset });
    return out;
  }
  let counter = 0;
  const unique = (base: string): string => {
    let name = base;
    while (reserved.has(name)) name = `${base}_${++counter}`;
    reserved.add(name);
    return name;
  };

  const visit = (node: pb.INodeProto, nodeOpset: number, depth: number): void => {
    const fn = byKey.get(key(node.domain ?? '', node.opType ?? ''));
    if (!fn) {
      out.push({ proto: node, opset: nodeOpset });
      return;
    }
    if (depth >= maxDepth) {
      throw new InferrtError('INVALID_MODEL', `function '${fn.name}' is nested more than ${maxDepth} deep (recursive?)`);
    }
    const callName = node.name || `${fn.name}_call`;
    const fnOpset = fn.opsetImport?.find((o) => normalizeDomain(o.domain ?? '') === '');
    const innerOpset = fnOpset ? toNumber(fnOpset.version) : nodeOpset;
    const rename = new Map<string, string>();
    (fn.input ?? []).forEach((formal, i) => rename.set(formal, node.input?.[i] ?? ''));
    (fn.output ?? []).forEach((formal, i) => {
      const actual = node.output?.[i];
      rename.set(formal, actual ? actual : unique(`${callName}/${formal}`));
    });
    const mapName = (name: string): string => {
      if (name === '') return '';
      let mapped = rename.get(name);
      if (mapped === undefined) {
        mapped = unique(`${callName}/${name}`);
        rename.set(name, mapped);
      }
      return mapped;
    };
    const callerAttrs = new Map((node.attribute ?? []).map((a) => [a.name ?? '', a]));
    (fn.node ?? []).forEach((inner, j) => {
      const attribute: pb.IAttributeProto[] = [];
      for (const a of inner.attribute ?? []) {
        if (!a.refAttrName) {
          attribute.push(a);
          continue;
        }
        const given = callerAttrs.get(a.refAttrName);
        if (given) attribute.push({ ...given, name: a.name });
      }
      const expanded: pb.INodeProto = {
        ...inner,
        name: `${callName}/${inner.name || `${inner.opType}_${j}`}`,
        input: (inner.input ?? []).map(mapName),
        output: (inner.output ?? []).map(mapName),
        attribute,
      };
      visit(expanded, innerOpset, depth + 1);
    });
  };
  for (const node of nodes) visit(node, opset, 0);
  return out;
}
