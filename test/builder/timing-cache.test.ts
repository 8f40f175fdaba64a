// The timing cache file (native/builder/timing_cache.h) on the CPU: its text format through the addon's testing
// hooks (what a CUDA build reads and writes), the builder reading and writing it (any backend), and the JS
// options that name it.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addon, type NativeTimingCacheEntry } from '../../lib/binding.js';
import { Builder } from '../../lib/index.js';
import { defineMlp } from '../api/helpers.js';
import { rejection, thrown } from '../inferrt-errors.js';

const HEADER = 'inferrt-timing-cache 1';

/** 128 hex digits: the 8 words of an algorithm, word w = base + w. */
function algoHex(base: number): string {
  return Array.from({ length: 8 }, (_, w) => (BigInt(base + w) * 0x0101010101n).toString(16).padStart(16, '0')).join('');
}

function entry(overrides: Partial<NativeTimingCacheEntry> = {}): NativeTimingCacheEntry {
  return { device: 'NVIDIA H100 80GB HBM3', arch: 'sm_90', cublasLtVersion: 120805, gemmKey: 'a=f16,d=f16,m=128', algo: algoHex(1), timeMs: 0.0123, ...overrides };
}

function line(e: NativeTimingCacheEntry): string {
  return [e.device, e.arch, String(e.cublasLtVersion), e.gemmKey, e.algo, String(e.timeMs)].join('\t');
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'inferrt-timing-cache-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('timing cache text', () => {
  it('round-trips entries exactly, sorted by key, times with the fewest digits that read back', () => {
    const entries = [
      entry({ gemmKey: 'k2', timeMs: 0.1 + 0.2 }),
      entry({ gemmKey: 'k1', algo: algoHex(0x7f), timeMs: 1 / 3 }),
      entry({ device: 'NVIDIA A100-SXM4-40GB', arch: 'sm_80', cublasLtVersion: 110902, gemmKey: 'k1', timeMs: 2.5e-5 }),
    ];
    const text = addon.testing.serializeTimingCache(entries);
    const lines = text.split('\n');
    expect(lines[0]).toBe(HEADER);
    expect(lines).toHaveLength(5); // header, 3 entries, '' after the last newline
    // 'NVIDIA A100...' sorts first; times are written as C's %g writes them, with as many digits as needed.
    expect(lines[1]).toBe(['NVIDIA A100-SXM4-40GB', 'sm_80', '110902', 'k1', algoHex(1), '2.5e-05'].join('\t'));
    expect(lines[2]).toBe(['NVIDIA H100 80GB HBM3', 'sm_90', '120805', 'k1', algoHex(0x7f), '0.3333333333333333'].join('\t'));
    expect(lines[3]!.split('\t')[5]).toBe('0.30000000000000004');
    expect(lines[4]).toBe('');
    const parsed = addon.testing.parseTimingCache(text, 'cache.txt');
    expect(parsed).toEqual([entries[2], entries[1], entries[0]]);
    expect(addon.testing.serializeTimingCache(parsed)).toBe(text);
    expect(parsed.map((e) => e.timeMs)).toEqual([2.5e-5, 1 / 3, 0.1 + 0.2]); // exact doubles after the trip
  });

  it('reads what people write: upper-case hex, CRLF line ends, blank lines; a later line replaces an earlier one', () => {
    const first = entry({ timeMs: 5 });
    const second = entry({ algo: algoHex(9), timeMs: 4 });
    const text = `${HEADER}\r\n\r\n${line({ ...first, algo: first.algo.toUpperCase() })}\r\n   \n${line(second)}`;
    expect(addon.testing.parseTimingCache(text, 'c')).toEqual([second]);
    expect(addon.testing.parseTimingCache('', 'c')).toEqual([]); // an empty file is an empty cache
    expect(addon.testing.parseTimingCache(`${HEADER}\n`, 'c')).toEqual([]);
  });

  it('rejects malformed files with INVALID_ARGUMENT naming the file and the line', () => {
    const good = line(entry());
    const cases: Array<[string, RegExp]> = [
      ['inferrt-timing-cache\n', /'bad\.txt' line 1: not a timing cache/],
      ['{"not": "a cache"}\n', /'bad\.txt' line 1: not a timing cache/],
      ['inferrt-timing-cache 2\n', /'bad\.txt' line 1: timing cache version 2 is not the one this inferrt reads \(1\)/],
      [`${HEADER}\n${good}\nonly\ttwo\n`, /'bad\.txt' line 3: expected 6 tab-separated fields .* got 2/],
      [`${HEADER}\n\n${good}\t7\n`, /line 3: expected 6 tab-separated fields .* got 7/],
      [`${HEADER}\n${line(entry({ device: '' }))}\n`, /line 2: the device name is empty/],
      [`${HEADER}\n${line(entry({ arch: 'hopper' }))}\n`, /line 2: the architecture must look like 'sm_90', got 'hopper'/],
      [`${HEADER}\n${good.replace('\t120805\t', '\t12.0\t')}\n`, /line 2: the cuBLASLt version must be an unsigned integer, got '12\.0'/],
      [`${HEADER}\n${good.replace('\t120805\t', '\t99999999999999999999999\t')}\n`, /line 2: the cuBLASLt version must be an unsigned integer/],
      [`${HEADER}\n${line(entry({ gemmKey: 'has space' }))}\n`, /line 2: the GEMM key is empty or has spaces: 'has space'/],
      [`${HEADER}\n${line(entry({ algo: algoHex(1).slice(2) }))}\n`, /line 2: the algorithm must be 128 hex digits, got 126 characters/],
      [`${HEADER}\n${line(entry({ algo: `${algoHex(1).slice(1)}g` }))}\n`, /line 2: the algorithm must be 128 hex digits/],
      [`${HEADER}\n${good.replace(/\t[^\t]*$/, '\tfast')}\n`, /line 2: the time must be a finite number of ms >= 0, got 'fast'/],
      [`${HEADER}\n${good.replace(/\t[^\t]*$/, '\t-1')}\n`, /line 2: the time must be a finite number/],
      [`${HEADER}\n${good.replace(/\t[^\t]*$/, '\tinf')}\n`, /line 2: the time must be a finite number/],
    ];
    for (const [text, pattern] of cases) {
      const e = thrown(() => addon.testing.parseTimingCache(text, 'bad.txt'));
      expect(e.code, text).toBe('INVALID_ARGUMENT');
      expect(e.message, text).toMatch(/^timing cache 'bad\.txt' line \d+: /);
      expect(e.message, text).toMatch(pattern);
    }
  });
});

describe('timing cache file', () => {
  it('a missing file is an empty cache; updating merges new entries and keeps those of other devices', async () => {
    const file = path.join(dir, 'merge.cache');
    const h100 = entry({ gemmKey: 'k1' });
    expect(addon.testing.updateTimingCacheFile(file, [h100])).toEqual([h100]);
    expect(await readFile(file, 'utf8')).toBe(`${HEADER}\n${line(h100)}\n`);

    // Another device's and another library version's entries, as a build elsewhere would have left them.
    const a100 = entry({ device: 'NVIDIA A100-SXM4-80GB', arch: 'sm_80', gemmKey: 'k1', algo: algoHex(40), timeMs: 0.5 });
    const olderLt = entry({ cublasLtVersion: 110000, gemmKey: 'k1', algo: algoHex(50), timeMs: 0.25 });
    await writeFile(file, `${await readFile(file, 'utf8')}${line(a100)}\n${line(olderLt)}\n`);
    const retimed = entry({ gemmKey: 'k1', algo: algoHex(60), timeMs: 0.01 });
    const added = entry({ gemmKey: 'k2', timeMs: 1.5 });
    const written = addon.testing.updateTimingCacheFile(file, [retimed, added]);
    expect(written).toEqual([a100, olderLt, retimed, added]);
    expect(addon.testing.parseTimingCache(await readFile(file, 'utf8'), file)).toEqual(written);
  });

  it('reports unreadable and malformed files with the path', async () => {
    const bad = path.join(dir, 'bad.cache');
    await writeFile(bad, `${HEADER}\n${line(entry())}\nnot an entry\n`);
    const e = thrown(() => addon.testing.updateTimingCacheFile(bad, []));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(`timing cache '${bad}' line 3: expected 6 tab-separated fields (device, arch, cuBLASLt version, GEMM key, algorithm, ms), got 1`);
    expect(thrown(() => addon.testing.updateTimingCacheFile(dir, [])).message).toBe(`cannot read timing cache '${dir}': it is a directory`);
    const nowhere = path.join(dir, 'no-such-dir', 'x.cache');
    expect(thrown(() => addon.testing.updateTimingCacheFile(nowhere, [])).message).toMatch(new RegExp(`^cannot write timing cache '${nowhere.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': `));
  });
});

describe('builds with a timing cache', () => {
  const builder = new Builder({ backend: 'cpu' });
  const profiles = [{ x: { min: [1, 4], opt: [2, 4], max: [8, 4] }, ids: { min: [1, 3], opt: [2, 3], max: [8, 3] } }];

  async function build(timingCache: string) {
    const network = builder.createNetwork();
    defineMlp(network);
    try {
      return await builder.build(network, builder.createConfig({ profiles, timingCache }));
    } finally {
      network.dispose();
    }
  }

  it('reads the file first and writes it back, keeping what the build did not use (a CPU build times nothing)', async () => {
    const file = path.join(dir, 'build.cache');
    const plan = await build(file); // missing: created empty
    expect(await readFile(file, 'utf8')).toBe(`${HEADER}\n`);
    expect(plan.buildLog).toContain(`timing cache: 0 entries written to '${file}'`);
    const others = [entry({ gemmKey: 'k1' }), entry({ device: 'NVIDIA L4', arch: 'sm_89', gemmKey: 'k2' })];
    await writeFile(file, `${HEADER}\r\n\r\n${line(others[1]!)}\r\n${line(others[0]!)}\r\n`);
    await build(file);
    expect(addon.testing.parseTimingCache(await readFile(file, 'utf8'), file)).toEqual(others);
  });

  it('fails before building when the file is malformed, naming the file and line', async () => {
    const file = path.join(dir, 'broken.cache');
    await writeFile(file, `${HEADER}\n${line(entry())}\n${line(entry()).replace('sm_90', 'sm90')}\n`);
    const e = await rejection(build(file));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(`timing cache '${file}' line 3: the architecture must look like 'sm_90', got 'sm90'`);
  });
});

describe('createConfig tactic options', () => {
  const builder = new Builder({ backend: 'cpu' });

  it('defaults: timing on, no cache; both pass to the addon', () => {
    const c = builder.createConfig();
    expect([c.tacticTiming, c.timingCache]).toEqual([true, undefined]);
    expect(c.toNative('cpu', [])).toMatchObject({ tacticTiming: true });
    expect(c.toNative('cpu', [])).not.toHaveProperty('timingCache');
    const d = builder.createConfig({ tacticTiming: false, timingCache: 'gemm.cache' });
    expect(d.toNative('cuda', [])).toMatchObject({ tacticTiming: false, timingCache: 'gemm.cache' });
  });

  it('rejects values of the wrong type with the option path', () => {
    const cases: Array<[unknown, string]> = [
      [{ tacticTiming: 'yes' }, "createConfig: tacticTiming must be a boolean, got 'yes'"],
      [{ tacticTiming: 1 }, 'createConfig: tacticTiming must be a boolean, got 1'],
      [{ timingCache: 42 }, 'createConfig: timingCache must be a non-empty file path string, got 42'],
      [{ timingCache: '' }, "createConfig: timingCache must be a non-empty file path string, got ''"],
      [{ timingCache: ['a.cache'] }, 'createConfig: timingCache must be a non-empty file path string, got Array'],
      [{ timingCach: 'a.cache' }, "createConfig: unknown option 'timingCach' (did you mean 'timingCache'?)"],
    ];
    for (const [options, message] of cases) {
      // @ts-expect-error wrong types are the point
      const e = thrown(() => builder.createConfig(options));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toBe(message);
    }
  });

  it('the addon checks them too (for callers that skip the JS layer)', async () => {
    const network = builder.createNetwork();
    defineMlp(network);
    const profiles = [{ x: { min: [1, 4], opt: [1, 4], max: [1, 4] }, ids: { min: [1, 3], opt: [1, 3], max: [1, 3] } }];
    const base = builder.createConfig({ profiles }).toNative('cpu', profiles);
    try {
      // @ts-expect-error wrong types are the point
      const e1 = await rejection(addon.buildPlan(network.native(), { ...base, tacticTiming: 'no' }, null));
      expect(e1.message).toBe("buildPlan: config.tacticTiming must be a boolean, got 'no'");
      const e2 = await rejection(addon.buildPlan(network.native(), { ...base, timingCache: '' }, null));
      expect(e2.message).toBe("buildPlan: config.timingCache must be a non-empty file path, got ''");
    } finally {
      network.dispose();
    }
  });
});
