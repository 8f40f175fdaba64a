/**
 * The CLI's argument parser: a small, strict one. Every command declares its options; anything else is an
 * error with a suggestion ("unknown option '--fp61' (did you mean '--fp16'?)"), so a typo never silently
 * changes what gets built.
 */
import { didYouMean } from '../suggest.js';
import { InferrtError } from '../errors.js';

/** How one option takes its value. */
export type OptionType = 'boolean' | 'string' | 'integer';

/** The declaration of one `--option`. */
export interface OptionSpec {
  type: OptionType;
  /** One-letter alias, e.g. 'o' for `-o`. */
  short?: string;
  /** May be given more than once; the values are collected in order. */
  multiple?: boolean;
  /** The value's name in help, e.g. 'FILE'. */
  valueName?: string;
  /** Smallest integer accepted (integer options). */
  min?: number;
  /** One help line. */
  description: string;
}

/** A positional argument. */
export interface PositionalSpec {
  name: string;
  description: string;
}

/** Option declarations by flag name (without the leading dashes). */
export type OptionSpecs = Record<string, OptionSpec>;

type ValueOf<S> = S extends { type: 'boolean' } ? boolean : S extends { type: 'integer' } ? number : string;

/** Parsed options: booleans default to false, multiple options to [], the rest to undefined. */
export type ParsedOptions<O extends OptionSpecs> = {
  [K in keyof O]: O[K] extends { multiple: true } ? Array<ValueOf<O[K]>> : O[K] extends { type: 'boolean' } ? boolean : ValueOf<O[K]> | undefined;
};

/** What {@link parseArgs} returns. */
export interface ParsedArgs<O extends OptionSpecs> {
  options: ParsedOptions<O>;
  positionals: string[];
}

/** A usage error (bad flag, missing argument): INVALID_ARGUMENT, printed with a pointer to `--help`. */
export class UsageError extends InferrtError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
    this.name = 'UsageError';
  }
}

/** Whether `argv` asks for help (`-h`/`--help` before any `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

/**
 * Parses `argv` against `specs`. Accepts `--name value`, `--name=value`, `-x value`, `-x=value`, and `--` to end
 * options. Throws {@link UsageError} for unknown options (with the closest known one), missing or malformed
 * values, a value given to a boolean flag, a single-valued option given twice, or the wrong positional count.
 */
export function parseArgs<O extends OptionSpecs>(argv: readonly string[], specs: O, positionals: readonly PositionalSpec[]): ParsedArgs<O> {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) values[name] = spec.multiple ? [] : spec.type === 'boolean' ? false : undefined;
  const seen = new Set<string>();
  const rest: string[] = [];
  const byShort = new Map(Object.entries(specs).filter(([, s]) => s.short).map(([n, s]) => [s.short!, n]));
  const flags = Object.keys(specs).map((n) => `--${n}`);

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      rest.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    let inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const name = flag.startsWith('--') ? flag.slice(2) : byShort.get(flag.slice(1));
    const spec = name !== undefined && Object.hasOwn(specs, name) ? specs[name]! : undefined;
    if (name === undefined || !spec || (!flag.startsWith('--') && flag.length !== 2)) {
      throw new UsageError(`unknown option '${flag}'${didYouMean(flag, flags)}`);
    }
    const shown = `--${name}`;
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`option '${shown}' takes no value, got '${arg}'`);
      if (seen.has(name)) throw new UsageError(`option '${shown}' is given more than once`);
      seen.add(name);
      values[name] = true;
      continue;
    }
    if (inline === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`option '${shown}' needs a value (${shown} ${spec.valueName ?? 'VALUE'})`);
      }
      inline = next;
      i++;
    }
    const value = spec.type === 'integer' ? parseInteger(inline, shown, spec) : inline;
    if (spec.multiple) (values[name] as unknown[]).push(value);
    else {
      if (seen.has(name)) throw new UsageError(`option '${shown}' is given more than once`);
      values[name] = value;
    }
    seen.add(name);
  }

  if (rest.length < positionals.length) {
    const missing = positionals.slice(rest.length).map((p) => p.name).join(' ');
    throw new UsageError(`missing ${missing}`);
  }
  if (rest.length > positionals.length) {
    throw new UsageError(`unexpected argument '${rest[positionals.length]}'`);
  }
  return { options: values as ParsedOptions<O>, positionals: rest };
}

function parseInteger(text: string, flag: string, spec: OptionSpec): number {
  const min = spec.min ?? 0;
  const n = /^[+-]?\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`option '${flag}' must be an integer >= ${min}, got '${text}'`);
  }
  return n;
}

/** The options block of a command's help: one aligned line per option. */
export function formatOptions(specs: OptionSpecs): string[] {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : '    ';
    const value = spec.type === 'boolean' ? '' : ` ${spec.valueName ?? 'VALUE'}`;
    return [`${short}--${name}${value}`, spec.description + (spec.multiple ? ' (repeatable)' : '')] as const;
  });
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}
