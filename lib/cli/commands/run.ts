/**
 * `inferrt run MODEL --input NAME=FILE.npy ...`: runs a plan (or an ONNX model built in memory) on .npy inputs,
 * prints each output and the timing, and optionally saves the outputs as .npy files.
 */
import { defineCommand } from '../command.js';
import { formatMs } from '../format.js';
import { writeLines } from '../io.js';
import { loadLibrary } from '../library.js';
import { matchInputs, profileFromInputs, readInputArgs } from '../inputs.js';
import { buildOptions, openModel } from '../model.js';
import { previewTensor, saveOutputs } from '../outputs.js';
import type { Tensor, TensorLike } from '../../tensor.js';

export const runCommand = defineCommand({
  name: 'run',
  summary: 'Run a plan or an ONNX model on .npy inputs.',
  usage: 'MODEL.(onnx|plan) --input NAME=FILE.npy ... [options]',
  description: [
    'An .onnx model is built in memory first (build flags apply; without --shapes, dynamic inputs are fixed to',
    "the .npy shapes). Each .npy's dtype must be the input's; outputs come back in the engine's dtypes.",
  ],
  positionals: [{ name: 'MODEL', description: 'a plan file, or an .onnx model to build in memory' }],
  options: {
    input: { type: 'string', short: 'i', multiple: true, valueName: 'NAME=FILE.npy', description: 'an input tensor (NAME= may be left out when the model has one input)' },
    'save-outputs': { type: 'string', valueName: 'DIR', description: 'write each output to DIR/<output name>.npy' },
    iterations: { type: 'integer', min: 1, valueName: 'N', description: 'timed runs (default 1)' },
    warmup: { type: 'integer', min: 0, valueName: 'N', description: 'untimed runs first (default 0)' },
    ...buildOptions,
    quiet: { type: 'boolean', short: 'q', description: 'no progress while building' },
  },
  examples: [
    'inferrt run model.plan --input input=x.npy --save-outputs out/',
    'inferrt run model.onnx --input input_ids=ids.npy --input attention_mask=mask.npy --iterations 20',
  ],
  async run({ options, positionals }, io) {
    const model = positionals[0]!;
    const args = await readInputArgs(options.input);
    const lib = await loadLibrary();
    const opened = await openModel(model, options, io, {
      progress: !options.quiet,
      beforeBuild: (slots) => profileFromInputs(slots, matchInputs(slots, args)),
    });
    const { engine } = opened;
    try {
      const matched = matchInputs(engine.inputs, args);
      const feeds: Record<string, TensorLike> = {};
      for (const [name, arg] of matched) {
        const info = engine.getTensorInfo(name);
        feeds[name] = { data: arg.array.data as TensorLike['data'], shape: arg.array.shape, dtype: info.dtype };
      }
      const ctx = engine.createContext();
      try {
        for (let i = 0; i < (options.warmup ?? 0); i++) await ctx.infer(feeds);
        const times: number[] = [];
        let outputs: Record<string, Tensor> | undefined;
        for (let i = 0; i < (options.iterations ?? 1); i++) {
          const start = performance.now();
          const result = await ctx.infer(feeds);
          times.push(performance.now() - start);
          outputs ??= result;
        }
        const lines: string[] = [];
        if (opened.built) {
          const b = opened.built;
          lines.push(`built ${model} in memory in ${formatMs(b.parseMs + b.buildMs)} (backend ${b.backend}, precision ${['fp32', ...b.precision].join(' + ')})`);
        } else {
          lines.push(`loaded ${model} in ${formatMs(opened.loadMs)} (backend ${engine.info.backend})`);
        }
        for (const [name, t] of Object.entries(outputs!)) lines.push(...previewTensor(name, t, lib.halfBitsToFloat));
        lines.push(timingLine(times));
        if (options['save-outputs'] !== undefined) {
          const saved = await saveOutputs(options['save-outputs'], outputs!);
          lines.push(`saved ${saved.length} output${saved.length === 1 ? '' : 's'} to ${options['save-outputs']}:`);
          for (const s of saved) {
            lines.push(`  ${s.file}${s.renamed ? `  (output '${s.name}'; name made safe for the file system)` : ''}`);
          }
        }
        writeLines(io.stdout, lines);
      } finally {
        ctx.dispose();
      }
    } finally {
      engine.dispose();
    }
  },
});

/** `timing: 10 iterations, mean 1.20 ms, min 1.05 ms, median 1.18 ms, max 1.90 ms`. */
function timingLine(times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  if (times.length === 1) return `timing: 1 iteration, ${formatMs(mean)}`;
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `timing: ${times.length} iterations, mean ${formatMs(mean)}, min ${formatMs(sorted[0]!)}, median ${formatMs(median)}, max ${formatMs(sorted.at(-1)!)}`;
}
