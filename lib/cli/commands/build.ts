/** `inferrt build MODEL.onnx -o MODEL.plan`: ONNX → plan file, with live progress and the build log summary. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InferrtError } from '../../errors.js';
import { UsageError } from '../args.js';
import { defineCommand } from '../command.js';
import { formatBytes, formatMs } from '../format.js';
import { writeLines } from '../io.js';
import { buildFromOnnx, buildOptions, isOnnxFile } from '../model.js';

/** Build-log lines printed without --verbose. */
const LOG_SUMMARY_LINES = 20;

export const buildCommand = defineCommand({
  name: 'build',
  summary: 'Build an engine plan from an ONNX model.',
  usage: 'MODEL.onnx -o MODEL.plan [options]',
  description: [
    "Input shapes: every dynamic input needs a range. --shapes takes 'name:min=DIMS,opt=DIMS,max=DIMS' or",
    "'name:DIMS' (fixed), entries separated by ';'; trtexec's --minShapes/--optShapes/--maxShapes say the same.",
    'A range missing opt uses max (else min); one missing min or max uses opt.',
  ],
  positionals: [{ name: 'MODEL.onnx', description: 'the ONNX model to build' }],
  options: {
    output: { type: 'string', short: 'o', valueName: 'FILE', description: 'where to write the plan (required; conventionally *.plan)' },
    ...buildOptions,
    verbose: { type: 'boolean', short: 'v', description: `print the whole build log (default: its first ${LOG_SUMMARY_LINES} lines)` },
    quiet: { type: 'boolean', short: 'q', description: 'no progress, no build log; just the result line' },
  },
  examples: [
    'inferrt build model.onnx -o model.plan',
    "inferrt build bert.onnx -o bert.plan --fp16 --shapes 'input_ids:min=1x1,opt=8x128,max=32x512;attention_mask:min=1x1,opt=8x128,max=32x512'",
    'inferrt build bert.onnx -o bert.plan --minShapes=input_ids:1x1 --optShapes=input_ids:8x128 --maxShapes=input_ids:32x512',
  ],
  async run({ options, positionals }, io) {
    const model = positionals[0]!;
    if (!isOnnxFile(model)) throw new UsageError(`'${model}' is not an .onnx file; build takes an ONNX model`);
    if (options.output === undefined) throw new UsageError(`missing -o/--output: where to write the plan, e.g. -o ${path.basename(model, path.extname(model))}.plan`);
    const out = options.output;
    const built = await buildFromOnnx(model, options, io, { progress: !options.quiet });
    try {
      await writeFile(out, built.plan.bytes);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new InferrtError('INVALID_ARGUMENT', `cannot write the plan to '${out}': ${err.code ?? err.message}`);
    }
    const total = built.parseMs + built.buildMs;
    const lines = [
      `built ${model} -> ${out} (${formatBytes(built.plan.byteLength)}) in ${formatMs(total)}: parse ${formatMs(built.parseMs)}, build ${formatMs(built.buildMs)}`,
    ];
    if (!options.quiet) {
      const p = built.parse;
      lines.push(
        `  model: ${p.numNodes} nodes, opset ${p.opset}${p.producer.trim() ? `, from ${p.producer.trim()}` : ''}`,
        `  backend ${built.backend}, precision ${['fp32', ...built.precision].join(' + ')}`,
      );
      for (const w of p.warnings) lines.push(`  warning: ${w}`);
      const log = built.plan.buildLog;
      if (log.length > 0) {
        const shown = options.verbose ? log : log.slice(0, LOG_SUMMARY_LINES);
        lines.push('build log:', ...shown.map((l) => `  ${l}`));
        if (shown.length < log.length) lines.push(`  ... ${log.length - shown.length} more lines (--verbose shows all)`);
      }
    }
    writeLines(io.stdout, lines);
  },
});
