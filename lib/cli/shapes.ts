/**
 * Shape-range flags → one optimization profile. Two spellings of the same thing:
 *   inferrt's   --shapes 'input_ids:min=1x1,opt=8x128,max=64x512;pixels:1x3x224x224'
 *   trtexec's   --minShapes=input_ids:1x1 --optShapes=input_ids:8x128 --maxShapes=input_ids:64x512
 * A name holding ':' , ',' or ';' may be quoted: 'input:0':1x3.
 */
import type { OptimizationProfile } from '../config.js';
import { UsageError } from './args.js';

type Key = 'min' | 'opt' | 'max';
type PartialRange = Partial<Record<Key, number[]>>;

/** What the shape flags of a command hold. */
export interface ShapeFlags {
  shapes: string[];
  minShapes: string[];
  optShapes: string[];
  maxShapes: string[];
}

const KEYS: readonly Key[] = ['min', 'opt', 'max'];
const SHAPES_FORM = "NAME:min=DIMS,opt=DIMS,max=DIMS or NAME:DIMS, entries separated by ';' (DIMS like 1x3x224x224)";

/** Whether any shape flag was given. */
export function hasShapes(flags: ShapeFlags): boolean {
  return flags.shapes.length + flags.minShapes.length + flags.optShapes.length + flags.maxShapes.length > 0;
}

/**
 * Merges every shape flag into one profile. A range missing opt takes max (else min); one missing min or max
 * takes opt — so `NAME:DIMS` and a lone `--optShapes` both mean a fixed shape. Throws {@link UsageError} on
 * malformed text or when one input's min, opt or max is given twice.
 */
export function parseShapeFlags(flags: ShapeFlags): OptimizationProfile {
  const ranges = new Map<string, PartialRange>();
  const put = (name: string, key: Key, dims: number[], flag: string): void => {
    const range = ranges.get(name) ?? {};
    if (range[key]) throw new UsageError(`${flag}: the ${key} shape of input '${name}' is given more than once`);
    range[key] = dims;
    ranges.set(name, range);
  };
  for (const text of flags.shapes) {
    for (const entry of splitTopLevel(text, ';', '--shapes')) {
      const { name, rest } = splitName(entry, '--shapes', SHAPES_FORM);
      if (!rest.includes('=')) {
        const dims = parseDims(rest, '--shapes', entry);
        for (const key of KEYS) put(name, key, dims, '--shapes');
        continue;
      }
      for (const part of rest.split(',')) {
        const m = /^\s*(min|opt|max)\s*=(.*)$/.exec(part);
        if (!m) throw new UsageError(`--shapes: cannot read '${part.trim()}' in '${entry}'; expected min=DIMS, opt=DIMS or max=DIMS (form: ${SHAPES_FORM})`);
        put(name, m[1] as Key, parseDims(m[2]!, '--shapes', entry), '--shapes');
      }
    }
  }
  for (const [key, list] of [['min', flags.minShapes], ['opt', flags.optShapes], ['max', flags.maxShapes]] as const) {
    const flag = `--${key}Shapes`;
    for (const text of list) {
      for (const entry of splitTopLevel(text, ',', flag)) {
        const { name, rest } = splitName(entry, flag, 'NAME:DIMS[,NAME:DIMS...] (DIMS like 1x3x224x224)');
        put(name, key, parseDims(rest, flag, entry), flag);
      }
    }
  }
  const profile: OptimizationProfile = {};
  for (const [name, r] of ranges) {
    const opt = r.opt ?? r.max ?? r.min!;
    const min = r.min ?? opt;
    const max = r.max ?? opt;
    if (min.length !== opt.length || max.length !== opt.length) {
      throw new UsageError(`shapes of input '${name}' disagree in rank: min ${show(min)}, opt ${show(opt)}, max ${show(max)}`);
    }
    for (let i = 0; i < opt.length; i++) {
      if (!(min[i]! <= opt[i]! && opt[i]! <= max[i]!)) {
        throw new UsageError(`shapes of input '${name}': dim ${i} must satisfy min <= opt <= max, got min ${show(min)}, opt ${show(opt)}, max ${show(max)}`);
      }
    }
    profile[name] = { min, opt, max };
  }
  return profile;
}

/** `1x3x224x224` → [1, 3, 224, 224]. */
function parseDims(text: string, flag: string, entry: string): number[] {
  const t = text.trim();
  if (!/^\d+(x\d+)*$/.test(t)) {
    throw new UsageError(`${flag}: bad dims '${t}' in '${entry}'; write non-negative integers joined by 'x', e.g. 1x3x224x224`);
  }
  return t.split('x').map(Number);
}

/** Splits on `sep` outside single quotes; empty entries are dropped. */
function splitTopLevel(text: string, sep: string, flag: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === "'") quoted = !quoted;
    if (ch === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quoted) throw new UsageError(`${flag}: unterminated quote in '${text}'`);
  out.push(cur);
  const entries = out.map((s) => s.trim()).filter((s) => s !== '');
  if (entries.length === 0) throw new UsageError(`${flag}: no shapes given`);
  return entries;
}

/** `name:rest`, `'na:me':rest`; an unquoted name ends at the last ':' (dims never hold one). */
function splitName(entry: string, flag: string, form: string): { name: string; rest: string } {
  let name: string;
  let rest: string;
  if (entry.startsWith("'")) {
    const close = entry.indexOf("'", 1);
    if (entry[close + 1] !== ':') throw new UsageError(`${flag}: expected ':' after the quoted name in '${entry}' (form: ${form})`);
    name = entry.slice(1, close);
    rest = entry.slice(close + 2);
  } else {
    const colon = entry.lastIndexOf(':');
    if (colon <= 0) throw new UsageError(`${flag}: '${entry}' has no input name (form: ${form})`);
    name = entry.slice(0, colon).trim();
    rest = entry.slice(colon + 1);
  }
  if (name === '') throw new UsageError(`${flag}: empty input name in '${entry}' (form: ${form})`);
  return { name, rest };
}

function show(dims: number[]): string {
  return dims.join('x');
}
