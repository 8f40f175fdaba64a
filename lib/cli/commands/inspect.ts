/**
 * `inferrt inspect MODEL.plan`: what a plan holds — header (format and library version, backend, GPU arch),
 * precision, I/O tensors with their profile ranges, the layers as built, and memory. `--json` for tools.
 */
import type { CudnnPlansInfo, Engine, LayerSparsityInfo } from '../../engine.js';
import { defineCommand } from '../command.js';
import { formatBytes, formatDims, formatMs, formatRange, table } from '../format.js';
import { writeLines } from '../io.js';
import { buildOptions, openModel } from '../model.js';

/** The `--json` document. */
export interface InspectReport {
  file: string;
  header: { formatVersion: number; libraryVersion: string; backend: string; gpuArch: string };
  precision: string[];
  memory: { planBytes: number; weightBytes: number; deviceMemoryBytes: number };
  numProfiles: number;
  /** CUDA INT8 plans: the cuDNN plans the build chose for the INT8 layers' cuDNN graphs, and whether they are used. */
  cudnnPlans?: CudnnPlansInfo;
  inputs: Array<{ name: string; dtype: string; dims: number[]; profiles: Array<{ min: number[]; opt: number[]; max: number[] }> }>;
  outputs: Array<{ name: string; dtype: string; dims: number[] }>;
  layers: Array<{ name: string; kind: string; precision: string; runsOn: 'cuda' | 'cpu'; fallbackReason?: string; tactic?: string; channelsLast?: true; sparsity?: LayerSparsityInfo; inputs: string[]; outputs: string[] }>;
}

/** Everything `inspect` reports about an engine. */
export function inspectEngine(file: string, engine: Engine): InspectReport {
  const info = engine.info;
  return {
    file,
    header: { formatVersion: info.formatVersion, libraryVersion: info.libraryVersion, backend: info.backend, gpuArch: info.gpuArch },
    precision: info.precision,
    memory: { planBytes: info.planBytes, weightBytes: info.weightBytes, deviceMemoryBytes: engine.deviceMemorySize },
    numProfiles: engine.numProfiles,
    ...(info.cudnnPlans && { cudnnPlans: info.cudnnPlans }),
    inputs: engine.inputs.map((t) => ({ name: t.name, dtype: t.dtype, dims: t.dims, profiles: t.profiles })),
    outputs: engine.outputs.map((t) => ({ name: t.name, dtype: t.dtype, dims: t.dims })),
    layers: engine.layers.map((l) => ({
      name: l.name,
      kind: l.kind,
      precision: l.precision,
      runsOn: l.runsOn,
      fallbackReason: l.fallbackReason,
      tactic: l.tactic,
      channelsLast: l.channelsLast,
      sparsity: l.sparsity,
      inputs: l.inputs,
      outputs: l.outputs,
    })),
  };
}

/** A layer's sparsity record in a few words: "2:4 sparse 0.410 ms vs dense 0.620 ms", "dense: not 2:4: ...". */
export function formatSparsity(s: LayerSparsityInfo): string {
  const times = s.sparseMs !== undefined && s.denseMs !== undefined ? ` ${formatMs(s.sparseMs)} vs dense ${formatMs(s.denseMs)}` : '';
  if (s.sparse) return `2:4 sparse${times}`;
  if (s.eligible) return `2:4 eligible, dense${s.note ? `: ${s.note}` : ''}${times ? ` (sparse${times})` : ''}`;
  return `dense: ${s.note ?? 'not 2:4'}`;
}

/** The human-readable form of a report. */
export function formatReport(r: InspectReport): string[] {
  const h = r.header;
  const lines = [
    `${r.file}: inferrt plan format ${h.formatVersion}, built by inferrt ${h.libraryVersion}`,
    `  backend: ${h.backend}${h.gpuArch ? `, GPU arch ${h.gpuArch}` : ' (no GPU architecture)'}`,
    `  precision: ${r.precision.join(', ') || 'fp32'}`,
    `  memory: plan ${formatBytes(r.memory.planBytes)} (${r.memory.planBytes} bytes), weights ${formatBytes(r.memory.weightBytes)}` +
      (h.backend === 'cuda' ? `, device ${formatBytes(r.memory.deviceMemoryBytes)}` : ' (host memory)'),
    `  optimization profiles: ${r.numProfiles}`,
    ...(r.cudnnPlans ? [`  cuDNN plans: ${r.cudnnPlans.count} chosen at build time, ${r.cudnnPlans.used ? 'used' : `not used (${r.cudnnPlans.note})`}`] : []),
    ...sparsitySummary(r),
    '',
    `inputs (${r.inputs.length}):`,
  ];
  const inputRows: string[][] = [];
  for (const t of r.inputs) {
    const ranges = t.profiles.map((p, i) => `${r.numProfiles > 1 ? `profile ${i}: ` : ''}${formatRange(p)}`);
    inputRows.push([t.name, t.dtype, formatDims(t.dims), ranges[0] ?? '']);
    for (const extra of ranges.slice(1)) inputRows.push(['', '', '', extra]);
  }
  lines.push(...table(inputRows), '', `outputs (${r.outputs.length}):`);
  lines.push(...table(r.outputs.map((t) => [t.name, t.dtype, formatDims(t.dims)])));
  const counts = new Map<string, number>();
  for (const l of r.layers) counts.set(l.precision, (counts.get(l.precision) ?? 0) + 1);
  const byPrecision = [...counts].map(([p, n]) => `${n} ${p}`).join(', ');
  lines.push('', `layers (${r.layers.length}${byPrecision ? `: ${byPrecision}` : ''}):`);
  const width = String(r.layers.length - 1).length;
  const cuda = r.header.backend === 'cuda';
  const where = (l: InspectReport['layers'][number]): string[] => (cuda ? [l.runsOn === 'cuda' ? 'gpu' : `cpu: ${l.fallbackReason ?? ''}`] : []);
  // The tactic column appears only when the plan records tactics (CUDA builds with tactic timing), the sparsity
  // column only when it has sparsity records (sparseWeights builds).
  const tactics = r.layers.some((l) => l.tactic !== undefined);
  const tactic = (l: InspectReport['layers'][number]): string[] => (tactics ? [l.tactic ?? ''] : []);
  const sparsity = r.layers.some((l) => l.sparsity !== undefined);
  const sparse = (l: InspectReport['layers'][number]): string[] => (sparsity ? [l.sparsity ? formatSparsity(l.sparsity) : ''] : []);
  const rows = r.layers.map((l, i) => [String(i).padStart(width), l.name, l.channelsLast ? `${l.kind} (NHWC)` : l.kind, l.precision, ...where(l), ...tactic(l), ...sparse(l), `${l.inputs.join(', ')} -> ${l.outputs.join(', ')}`]);
  const head = ['#'.padStart(width), 'name', 'kind', 'precision', ...(cuda ? ['runs on'] : []), ...(tactics ? ['tactic'] : []), ...(sparsity ? ['sparsity'] : []), 'inputs -> outputs'];
  if (rows.length > 0) lines.push(...table([head, ...rows]));
  return lines;
}

/** "  sparse weights: 2 eligible, 1 sparse (of 3 MatMul/Convolution layers with constant weights)" when the plan has records. */
function sparsitySummary(r: InspectReport): string[] {
  const records = r.layers.flatMap((l) => (l.sparsity ? [l.sparsity] : []));
  if (records.length === 0) return [];
  const eligible = records.filter((s) => s.eligible).length;
  const sparse = records.filter((s) => s.sparse).length;
  const of = `${records.length} MatMul/Convolution layer${records.length === 1 ? '' : 's'} with constant weights`;
  return [`  sparse weights: ${eligible} eligible, ${sparse} sparse (of ${of})`];
}

/** JSON with 2-space indents, but arrays of numbers or strings on one line (dims stay readable). */
export function compactJson(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return `[${value.map((v) => JSON.stringify(v) ?? 'null').join(', ')}]`;
    if (value.length === 0) return '[]';
    const inner = `${indent}  `;
    return `[\n${value.map((v) => inner + compactJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const inner = `${indent}  `;
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${compactJson(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export const inspectCommand = defineCommand({
  name: 'inspect',
  summary: 'Show what a plan holds: header, precision, I/O tensors, layers, memory.',
  usage: 'MODEL.plan [--json]',
  description: ['An .onnx model is built in memory first (build flags apply), to show the engine it would become.'],
  positionals: [{ name: 'MODEL', description: 'a plan file (or an .onnx model)' }],
  options: {
    json: { type: 'boolean', description: 'print one JSON document instead of text' },
    ...buildOptions,
  },
  examples: ['inferrt inspect model.plan', 'inferrt inspect model.plan --json | jq .layers'],
  async run({ options, positionals }, io) {
    const file = positionals[0]!;
    const { engine } = await openModel(file, options, io, { progress: !options.json });
    try {
      const report = inspectEngine(file, engine);
      if (options.json) io.stdout.write(`${compactJson(report)}\n`);
      else writeLines(io.stdout, formatReport(report));
    } finally {
      engine.dispose();
    }
  },
});
