/**
 * The shape of a CLI command (one module per command, as in node-llama-cpp's CLI): its flags, its help text,
 * and a `run` that receives the parsed, typed options.
 */
import { formatOptions, parseArgs, wantsHelp, type OptionSpecs, type ParsedOptions, type PositionalSpec } from './args.js';
import type { CliIO } from './io.js';

/** A command as the dispatcher sees it. */
export interface Command {
  name: string;
  /** One line for the top-level help. */
  summary: string;
  /** The full `--help` text. */
  help(): string;
  /** Parses `argv` (the arguments after the command name) and runs; throws InferrtError on failure. */
  execute(argv: readonly string[], io: CliIO): Promise<void>;
}

/** What a command module declares. */
export interface CommandSpec<O extends OptionSpecs> {
  name: string;
  summary: string;
  /** e.g. 'MODEL.onnx -o MODEL.plan [options]'. */
  usage: string;
  /** Paragraphs after the usage line. */
  description?: string[];
  positionals: PositionalSpec[];
  options: O;
  examples: string[];
  run(args: { options: ParsedOptions<O>; positionals: string[] }, io: CliIO): Promise<void>;
}

/** Turns a declaration into a {@link Command}: `--help` handling, strict parsing, help text. */
export function defineCommand<O extends OptionSpecs>(spec: CommandSpec<O>): Command {
  const help = (): string => {
    const lines = [`Usage: inferrt ${spec.name} ${spec.usage}`, '', spec.summary];
    if (spec.description) lines.push('', ...spec.description);
    if (spec.positionals.length > 0) {
      const width = Math.max(...spec.positionals.map((p) => p.name.length));
      lines.push('', 'Arguments:', ...spec.positionals.map((p) => `  ${p.name.padEnd(width)}  ${p.description}`));
    }
    lines.push('', 'Options:', ...formatOptions(spec.options));
    if (spec.examples.length > 0) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
    return `${lines.join('\n')}\n`;
  };
  return {
    name: spec.name,
    summary: spec.summary,
    help,
    async execute(argv, io) {
      if (wantsHelp(argv)) {
        io.stdout.write(help());
        return;
      }
      const parsed = parseArgs(argv, spec.options, spec.positionals);
      await spec.run(parsed, io);
    },
  };
}
