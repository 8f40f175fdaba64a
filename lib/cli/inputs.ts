/**
 * `run`'s inputs: `--input NAME=FILE.npy` read with lib/npy.ts and matched against the engine's inputs by name,
 * dtype and static dims, with messages that name the flag, the file and expected vs actual.
 */
import type { OptimizationProfile } from '../config.js';
import { InferrtError } from '../errors.js';
import { NpyFormatError, readNpyFile, type NpyArray } from '../npy.js';
import { UsageError } from './args.js';
import { formatDims } from './format.js';
import { describeInputs } from './model.js';
import { didYouMean } from '../suggest.js';

/** One `--input` flag, read. */
export interface InputArg {
  /** Undefined for a bare `--input FILE.npy` (allowed when the model has one input). */
  name: string | undefined;
  file: string;
  array: NpyArray;
  /** The flag as given, for messages. */
  flag: string;
}

/** An engine or network input as the matcher needs it. */
export interface InputSlot {
  name: string;
  dtype: string;
  dims: number[];
}

/** Reads every `--input` value (`NAME=FILE.npy` or `FILE.npy`); fails on the first unreadable file. */
export async function readInputArgs(values: readonly string[]): Promise<InputArg[]> {
  const out: InputArg[] = [];
  for (const value of values) {
    const eq = value.indexOf('=');
    const name = eq >= 0 ? value.slice(0, eq) : undefined;
    const file = eq >= 0 ? value.slice(eq + 1) : value;
    const flag = `--input ${value}`;
    if (name === '') throw new UsageError(`${flag}: empty input name; write --input NAME=FILE.npy`);
    if (file === '') throw new UsageError(`${flag}: no file; write --input NAME=FILE.npy`);
    if (name !== undefined && out.some((a) => a.name === name)) throw new UsageError(`input '${name}' is given more than once`);
    out.push({ name, file, array: await readInput(file, flag), flag });
  }
  return out;
}

async function readInput(file: string, flag: string): Promise<NpyArray> {
  try {
    return await readNpyFile(file);
  } catch (e) {
    if (e instanceof NpyFormatError) throw new InferrtError('INVALID_ARGUMENT', `${flag}: ${e.message}`);
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.message;
    throw new InferrtError('INVALID_ARGUMENT', `${flag}: cannot read '${file}': ${why}${err.code ? ` (${err.code})` : ''}`);
  }
}

/**
 * Pairs every model input with its `--input`: INVALID_ARGUMENT for unknown, missing or unnamed-but-ambiguous
 * inputs, DTYPE_MISMATCH when the .npy's dtype is not the input's, SHAPE_MISMATCH when its rank or a static dim
 * differs. Profile ranges are checked later, by `infer`.
 */
export function matchInputs(slots: readonly InputSlot[], args: readonly InputArg[]): Map<string, InputArg> {
  const names = slots.map((s) => s.name);
  const matched = new Map<string, InputArg>();
  for (const arg of args) {
    let name = arg.name;
    if (name === undefined) {
      if (slots.length !== 1) {
        throw new UsageError(`${arg.flag}: name the input (--input NAME=FILE.npy); the model has ${slots.length} inputs: ${describeInputs(slots)}`);
      }
      name = slots[0]!.name;
    }
    if (!names.includes(name)) {
      throw new UsageError(`${arg.flag}: the model has no input '${name}'${didYouMean(name, names)}; inputs: ${describeInputs(slots)}`);
    }
    if (matched.has(name)) throw new UsageError(`input '${name}' is given more than once`);
    matched.set(name, arg);
  }
  const missing = slots.filter((s) => !matched.has(s.name));
  if (missing.length > 0) {
    const hint = missing.map((s) => `--input ${s.name}=FILE.npy`).join(' ');
    throw new UsageError(`missing input${missing.length > 1 ? 's' : ''} ${describeInputs(missing)}; give ${hint}`);
  }
  for (const slot of slots) {
    const arg = matched.get(slot.name)!;
    const { dtype, shape } = arg.array;
    if (dtype !== slot.dtype) {
      throw new InferrtError(
        'DTYPE_MISMATCH',
        `${arg.flag}: input '${slot.name}' expects ${slot.dtype} but '${arg.file}' holds ${dtype}; convert it (numpy: np.save(path, arr.astype(np.${numpyName(slot.dtype)})))`,
      );
    }
    const rankOk = shape.length === slot.dims.length;
    if (!rankOk || slot.dims.some((d, i) => d >= 0 && d !== shape[i])) {
      throw new InferrtError('SHAPE_MISMATCH', `${arg.flag}: input '${slot.name}' has dims ${formatDims(slot.dims)} (-1 = any) but '${arg.file}' holds shape ${formatDims(shape)}`);
    }
  }
  return matched;
}

/** For an in-memory build without shape flags: each dynamic input fixed to its .npy's shape. */
export function profileFromInputs(slots: readonly InputSlot[], matched: Map<string, InputArg>): OptimizationProfile | undefined {
  const profile: OptimizationProfile = {};
  for (const slot of slots) {
    if (!slot.dims.some((d) => d < 0)) continue;
    const shape = matched.get(slot.name)!.array.shape;
    profile[slot.name] = { min: [...shape], opt: [...shape], max: [...shape] };
  }
  return Object.keys(profile).length > 0 ? profile : undefined;
}

function numpyName(dtype: string): string {
  return dtype === 'bool' ? 'bool_' : dtype;
}
