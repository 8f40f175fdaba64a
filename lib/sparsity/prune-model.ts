/**
 * `pruneModel`: magnitude-based 2:4 pruning of every eligible weight of an ONNX model (what trtexec's
 * `--sparsity=force` does for performance testing). It changes the model's outputs: accuracy needs fine-tuning
 * after pruning.
 */
import type { onnx as pb } from 'onnx-proto';
import { InferrtError } from '../errors.js';
import { decodeModel, onnx, toNumber } from '../onnx/proto.js';
import { onnxDTypeName } from '../onnx/tensor-proto.js';
import { pruneTwoFour, reductionView } from './two-four.js';
import type { PruneOptions, PruneResult, PruneSummary, PrunedLayerReport } from './types.js';
import { findWeightCandidates, type WeightCandidate } from './weight-users.js';
import { isPrunableDataType, weightValues } from './weight-values.js';

/** `options.layers` as a RegExp without global state (INVALID_ARGUMENT for a bad pattern). */
function layerFilter(layers: RegExp | string | undefined): RegExp | undefined {
  if (layers === undefined) return undefined;
  if (layers instanceof RegExp) return new RegExp(layers.source, layers.flags.replace(/[gy]/g, ''));
  if (typeof layers !== 'string') throw new InferrtError('INVALID_ARGUMENT', `pruneModel: options.layers must be a RegExp or a string, got ${typeof layers}`);
  try {
    return new RegExp(layers);
  } catch (e) {
    throw new InferrtError('INVALID_ARGUMENT', `pruneModel: options.layers '${layers}' is not a valid regular expression: ${(e as Error).message}`);
  }
}

function selected(c: WeightCandidate, filter: RegExp | undefined): boolean {
  return !filter || filter.test(c.tensor.name ?? '') || c.users.some((u) => filter.test(u.node));
}

/** Why a weight cannot be pruned, or undefined when it can. */
function skipReason(c: WeightCandidate, dims: number[]): string | undefined {
  const t = c.tensor;
  if (!isPrunableDataType(t.dataType ?? 0)) return `dtype ${onnxDTypeName(t.dataType ?? 0)} (only float and float16 weights are pruned)`;
  const axes = new Set(c.users.map((u) => u.axis));
  if (axes.size > 1) return `its layers reduce along different axes (${c.users.map((u) => `${u.opType} '${u.node}' axis ${u.axis}`).join(', ')})`;
  const length = dims[c.users[0]!.axis]!;
  if (length % 4 !== 0) return `reduction length ${length} (axis ${c.users[0]!.axis}) is not a multiple of 4`;
  return undefined;
}

/** Prunes one candidate in place and reports it. */
function pruneCandidate(c: WeightCandidate, modelName: string): { report: PrunedLayerReport; storage?: 'raw' | 'fields' } {
  const t = c.tensor;
  const dims = (t.dims ?? []).map((d) => toNumber(d));
  const code = t.dataType ?? 0;
  const reason = skipReason(c, dims);
  const axes = new Set(c.users.map((u) => u.axis));
  const report: PrunedLayerReport = {
    initializer: t.name ?? '',
    users: c.users,
    dtype: code === 1 ? 'float32' : code === 10 ? 'float16' : onnxDTypeName(code),
    dims,
    axis: axes.size === 1 ? c.users[0]!.axis : -1,
    pruned: false,
    ...(c.otherReaders.length > 0 ? { sharedWith: c.otherReaders } : {}),
    groups: 0,
    zeroed: 0,
    removedMagnitude: 0,
    totalMagnitude: 0,
    removedPercent: 0,
  };
  if (reason !== undefined) return { report: { ...report, skipReason: reason } };
  const values = weightValues(t, `${modelName}: weight '${t.name}' of ${c.users[0]!.opType} '${c.users[0]!.node}'`);
  const stats = pruneTwoFour(values.magnitudes(), reductionView(dims, report.axis), values.zero);
  const removedPercent = stats.totalMagnitude > 0 ? (100 * stats.removedMagnitude) / stats.totalMagnitude : 0;
  return { report: { ...report, pruned: true, ...stats, removedPercent }, storage: values.storage };
}

function summarize(layers: readonly PrunedLayerReport[]): PruneSummary {
  const done = layers.filter((l) => l.pruned);
  const removedMagnitude = done.reduce((a, l) => a + l.removedMagnitude, 0);
  const totalMagnitude = done.reduce((a, l) => a + l.totalMagnitude, 0);
  return {
    pruned: done.length,
    skipped: layers.length - done.length,
    zeroed: done.reduce((a, l) => a + l.zeroed, 0),
    removedMagnitude,
    totalMagnitude,
    removedPercent: totalMagnitude > 0 ? (100 * removedMagnitude) / totalMagnitude : 0,
  };
}

/**
 * Makes every eligible weight of an ONNX model 2:4 along its reduction dimension (MatMul B [K, N] along K; Gemm B
 * along K, i.e. axis 1 when transB = 1; Conv W [M, C/group, k...] along C/group): in each group of four
 * consecutive elements the two largest magnitudes stay (ties keep the lower index) and the other two become 0.
 * Weights whose reduction length is not a multiple of 4, that are not float/float16, or whose layers disagree on
 * the axis are skipped with a reason. Everything else in the model is kept: raw_data weights are edited in place
 * in a copy of `bytes`; only weights stored as float_data/int32_data make the model re-encoded, and only when
 * re-encoding changes nothing else (else INVALID_ARGUMENT).
 *
 * Pruning changes the model's outputs; it is meant for performance testing (like trtexec --sparsity=force), and
 * accuracy needs fine-tuning after it. Throws INVALID_MODEL for bytes that are not an ONNX model,
 * INVALID_ARGUMENT for a bad `layers` pattern or a weight stored in external data.
 */
export function pruneModel(bytes: Uint8Array, options: PruneOptions = {}): PruneResult {
  const name = options.name ?? 'model';
  const filter = layerFilter(options.layers);
  const out = new Uint8Array(bytes); // decoded from this copy: raw_data fields are views into it
  const model = decodeModel(out, name);
  const layers: PrunedLayerReport[] = [];
  let reencode = false;
  for (const c of findWeightCandidates(model.graph as pb.IGraphProto)) {
    if (!selected(c, filter)) continue;
    const { report, storage } = pruneCandidate(c, name);
    layers.push(report);
    if (storage === 'fields') reencode = true;
    // A raw_data view outside `out` (a protobufjs that copies bytes) is only reflected by re-encoding.
    if (storage === 'raw' && c.tensor.rawData!.buffer !== out.buffer) reencode = true;
  }
  if (reencode) checkReencodable(bytes, name);
  return { model: reencode ? onnx.ModelProto.encode(model).finish() : out, layers, summary: summarize(layers) };
}

/**
 * Re-encoding goes through this library's ONNX schema, which drops fields it does not know (newer ONNX fields,
 * metadata on nodes and functions): refuse rather than change more than the weights. A model whose bytes survive
 * a decode and encode unchanged loses nothing.
 */
function checkReencodable(bytes: Uint8Array, name: string): void {
  const again = onnx.ModelProto.encode(onnx.ModelProto.decode(bytes)).finish();
  if (again.length === bytes.length && again.every((b, i) => b === bytes[i])) return;
  throw new InferrtError(
    'INVALID_ARGUMENT',
    `${name}: its pruned weights are stored as float_data/int32_data, so the model would be re-encoded, and re-encoding would change more than the weights (fields unknown to this ONNX schema, or a non-canonical encoding); save the model with raw_data weights (the exporters' default) and prune that`,
  );
}
