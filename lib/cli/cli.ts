/**
 * The `inferrt` command line: dispatches to one command module per command and turns every failure into one
 * line on stderr (`inferrt build: error BAD_PLAN: ...`) and exit code 1 — never a stack trace for user errors.
 */
import { readFileSync } from 'node:fs';
import { InferrtError } from '../errors.js';
import { UsageError } from './args.js';
import type { Command } from './command.js';
import { benchCommand } from './commands/bench.js';
import { buildCommand } from './commands/build.js';
import { inspectCommand } from './commands/inspect.js';
import { pruneCommand } from './commands/prune.js';
import { runCommand } from './commands/run.js';
import { oneLine } from './format.js';
import { processIO, type CliIO } from './io.js';
import { didYouMean } from '../suggest.js';

/** Every command, in help order. */
export const commands: readonly Command[] = [buildCommand, runCommand, inspectCommand, benchCommand, pruneCommand];

/** The package version, read from package.json (no addon needed). */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function topHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: inferrt <command> [options]',
    '',
    'TensorRT-style inference engines for Node.js: ONNX in, optimized plan out.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'inferrt <command> --help' for a command's options.",
    '  -h, --help     show this help',
    '  -V, --version  print the version',
    '',
  ].join('\n');
}

/**
 * Runs the CLI on `argv` (the arguments after `inferrt`) and resolves to the exit code: 0 on success, 1 on any
 * failure (reported on `io.stderr`).
 */
export async function runCli(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(topHelp());
    return 1;
  }
  if (first === '--help' || first === '-h') {
    io.stdout.write(topHelp());
    return 0;
  }
  if (first === '--version' || first === '-V') {
    io.stdout.write(`inferrt ${packageVersion()}\n`);
    return 0;
  }
  let prefix = 'inferrt';
  try {
    if (first === 'help') {
      const topic = rest[0];
      if (topic === undefined) io.stdout.write(topHelp());
      else io.stdout.write(findCommand(topic).help());
      return 0;
    }
    const command = findCommand(first);
    prefix = `inferrt ${command.name}`;
    await command.execute(rest, io);
    return 0;
  } catch (e) {
    io.stderr.write(`${formatError(e, prefix)}\n`);
    if (process.env.INFERRT_DEBUG && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
    return 1;
  }
}

function findCommand(name: string): Command {
  const command = commands.find((c) => c.name === name);
  if (command) return command;
  const names = commands.map((c) => c.name);
  const what = name.startsWith('-') ? `unknown option '${name}'` : `unknown command '${name}'`;
  throw new UsageError(`${what}${didYouMean(name, names)}; commands: ${names.join(', ')}`);
}

/** The one line printed for a failure: `<prefix>: error <CODE>: <message>`. */
export function formatError(e: unknown, prefix: string): string {
  if (e instanceof UsageError) return `${prefix}: error ${e.code}: ${oneLine(e.message)} (see '${prefix} --help')`;
  if (e instanceof InferrtError) {
    const hint = e.code === 'INTERNAL' && !process.env.INFERRT_DEBUG ? ' (set INFERRT_DEBUG=1 for a stack trace)' : '';
    return `${prefix}: error ${e.code}: ${oneLine(e.message)}${hint}`;
  }
  const message = e instanceof Error ? e.message : String(e);
  return `${prefix}: error INTERNAL: ${oneLine(message)}${process.env.INFERRT_DEBUG ? '' : ' (set INFERRT_DEBUG=1 for a stack trace)'}`;
}
