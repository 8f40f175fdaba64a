/** Calibration cache files: read (parse, with the path in every error) and write atomically. */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { InferrtError } from '../errors.js';
import { formatCalibrationCache, parseCalibrationCache, type CalibrationCache, type CalibrationCacheContents } from './calibration-cache.js';

const errorCode = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Reads and parses a cache file (TensorRT's or inferrt's format). A missing or unreadable file is an error. */
export async function readCalibrationCacheFile(file: string): Promise<CalibrationCache> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new InferrtError('INVALID_ARGUMENT', `calibration cache file ${JSON.stringify(file)} cannot be read: ${messageOf(e)}`,
      { source: file, code: errorCode(e) });
  }
  return parseCalibrationCache(text, file);
}

/**
 * Like {@link readCalibrationCacheFile}, but resolves to undefined when the file does not exist (calibrate then);
 * a file that exists but is malformed or unreadable is still an error, so a bad cache is never silently replaced.
 */
export async function tryReadCalibrationCacheFile(file: string): Promise<CalibrationCache | undefined> {
  try {
    return await readCalibrationCacheFile(file);
  } catch (e) {
    if (e instanceof InferrtError && (e.details as { code?: string } | undefined)?.code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Writes `cache` in inferrt's format. The text goes to a temporary file in the same directory, is flushed, and is
 * renamed over `file`, so readers see either the old cache or the whole new one, never a partial file.
 */
export async function writeCalibrationCacheFile(file: string, cache: CalibrationCacheContents): Promise<void> {
  const text = formatCalibrationCache(cache); // validate before touching the disk
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw new InferrtError('INVALID_ARGUMENT', `calibration cache file ${JSON.stringify(file)} cannot be written: ${messageOf(e)}`,
      { source: file, code: errorCode(e) });
  }
}
