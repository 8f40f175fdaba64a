/**
 * `inferrt prune MODEL.onnx -o SPARSE.onnx`: magnitude-based 2:4 pruning of the MatMul/Gemm/Conv weights along
 * their reduction dimension (trtexec's --sparsity=force, as a file), with how much weight magnitude each lost.
 * For performance testing of sparse tactics: pruning changes the outputs, accuracy needs fine-tuning after it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InferrtError } from '../../errors.js';
import { pruneModel, type PrunedLayerReport, type PruneResult } from '../../sparsity/index.js';
import { UsageError } from '../args.js';
import { defineCommand } from '../command.js';
import { formatBytes, formatDims, formatMs, table } from '../format.js';
import { writeLines } from '../io.js';
import { isOnnxFile } from '../model.js';
import { compactJson } from './inspect.js';

/** The `--json` document. */
export interface PruneReport extends Pick<PruneResult, 'layers' | 'summary'> {
  input: string;
  output: string;
}

const percent = (v: number): string => `${v.toFixed(2)}%`;

function layerRow(l: PrunedLayerReport): string[] {
  const ops = [...new Set(l.users.map((u) => u.opType))].join('/');
  const notes = [
    ...(l.users.length > 1 ? [`${l.users.length} layers: ${l.users.map((u) => u.node).join(', ')}`] : []),
    ...(l.sharedWith ? [`also read by ${l.sharedWith.join(', ')}`] : []),
  ];
  const result = l.pruned ? percent(l.removedPercent) : `skipped: ${l.skipReason ?? ''}`;
  return [l.users[0]!.node, l.initializer, ops, `${l.dtype} ${formatDims(l.dims)}`, String(l.axis), [result, ...notes].join('; ')];
}

/** The human-readable report. */
export function formatPruneReport(r: PruneReport, ms: number, bytes: number): string[] {
  const s = r.summary;
  const lines: string[] = [];
  if (r.layers.length > 0) lines.push(...table([['layer', 'weight', 'op', 'dims', 'axis', 'magnitude removed'], ...r.layers.map(layerRow)]));
  lines.push(
    `total: ${s.pruned} of ${r.layers.length} weights made 2:4, ${s.zeroed} elements zeroed, ${percent(s.removedPercent)} of their weight magnitude removed`,
    `wrote ${r.output} (${formatBytes(bytes)}) in ${formatMs(ms)}`,
  );
  if (s.pruned > 0) lines.push("note: pruning changes the model's outputs; fine-tune the pruned model to recover accuracy (prune is for performance testing, like trtexec --sparsity=force)");
  return lines;
}

function compileLayers(pattern: string | undefined): RegExp | undefined {
  if (pattern === undefined) return undefined;
  try {
    return new RegExp(pattern);
  } catch (e) {
    throw new UsageError(`--layers '${pattern}' is not a valid regular expression: ${(e as Error).message}`);
  }
}

export const pruneCommand = defineCommand({
  name: 'prune',
  summary: 'Prune MatMul/Gemm/Conv weights to 2:4 sparsity (for performance testing).',
  usage: 'MODEL.onnx -o SPARSE.onnx [--layers PATTERN] [--json]',
  description: [
    'In every group of four consecutive weights along the reduction dimension (MatMul B rows, Gemm K, Conv input',
    'channels) the two largest magnitudes stay and the other two become zero, as trtexec --sparsity=force does.',
    "This changes the model's outputs: fine-tune after pruning to recover accuracy. Weights whose reduction length",
    'is not a multiple of 4 are left unchanged. Build the result with sparseWeights to use sparse tactics.',
  ],
  positionals: [{ name: 'MODEL.onnx', description: 'the ONNX model to prune (weights embedded, not external data)' }],
  options: {
    output: { type: 'string', short: 'o', valueName: 'FILE', description: 'where to write the pruned model (required)' },
    layers: { type: 'string', valueName: 'PATTERN', description: 'prune only weights whose initializer or node name matches this regular expression' },
    json: { type: 'boolean', description: 'print one JSON document (per-weight report and totals) instead of text' },
    quiet: { type: 'boolean', short: 'q', description: 'just the total and the file written' },
  },
  examples: [
    'inferrt prune model.onnx -o model.sparse.onnx',
    "inferrt prune bert.onnx -o bert.sparse.onnx --layers 'intermediate|output/dense'",
    'inferrt build model.sparse.onnx -o model.plan --backend cuda',
  ],
  async run({ options, positionals }, io) {
    const model = positionals[0]!;
    if (!isOnnxFile(model)) throw new UsageError(`'${model}' is not an .onnx file; prune takes an ONNX model`);
    if (options.output === undefined) throw new UsageError(`missing -o/--output: where to write the pruned model, e.g. -o ${path.basename(model, path.extname(model))}.sparse.onnx`);
    const layers = compileLayers(options.layers);
    const start = performance.now();
    let bytes: Uint8Array;
    try {
      bytes = await readFile(model);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new InferrtError('INVALID_ARGUMENT', `cannot read ONNX model '${model}': ${err.code === 'ENOENT' ? 'no such file' : err.message}${err.code ? ` (${err.code})` : ''}`);
    }
    const result = pruneModel(bytes, { name: path.basename(model), ...(layers ? { layers } : {}) });
    if (layers && result.layers.length === 0) {
      const all = pruneModel(bytes, { name: path.basename(model) }).layers;
      const known = all.slice(0, 8).map((l) => `${l.initializer} (${l.users[0]!.node})`).join(', ');
      throw new UsageError(`--layers '${options.layers}' matches no MatMul, Gemm or Conv weight of ${model}; ${all.length > 0 ? `weights: ${known}${all.length > 8 ? `, ... ${all.length - 8} more` : ''}` : 'it has none'}`);
    }
    const out = options.output;
    try {
      await writeFile(out, result.model);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new InferrtError('INVALID_ARGUMENT', `cannot write the pruned model to '${out}': ${err.code ?? err.message}`);
    }
    const report: PruneReport = { input: model, output: out, layers: result.layers, summary: result.summary };
    if (options.json) {
      io.stdout.write(`${compactJson(report)}\n`);
      return;
    }
    const lines = formatPruneReport(report, performance.now() - start, result.model.byteLength);
    writeLines(io.stdout, options.quiet ? lines.filter((l) => /^(total:|wrote) /.test(l)) : lines);
  },
});
